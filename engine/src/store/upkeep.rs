//! Keeping a store over months: what it holds, per operator kind and version
//! ([`usage`]); removing what no given spec reaches ([`collect`]); and
//! checking every blob against its hash ([`verify`]).
//!
//! Removal is crash-safe by order: entries leave the index first, in durable
//! transactions, and only then are blob files that no remaining entry
//! references deleted. A kill at any moment leaves an index whose every entry
//! has its blobs; at worst unreferenced blob files stay, for the next
//! collection. The caller holds the store open for writing throughout, so
//! no run can add entries meanwhile.
//!
//! Two settings exist for the crash tests: `MAFLOW_GC_BATCH` (entries per
//! transaction, default 1000) and `MAFLOW_GC_CRASH_AFTER=N`, which ends the
//! process as `kill -9` would (no cleanup, nothing flushed) right after its
//! N-th durable step: an entry transaction committed or a blob file deleted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{BlobRef, Key, Store, StoreError};

/// Entries and bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Holding {
    /// How many.
    pub entries: u64,
    /// Bytes: an entry's record in the index plus the blobs it references.
    pub bytes: u64,
}

impl Holding {
    fn add(&mut self, bytes: u64) {
        self.entries += 1;
        self.bytes += bytes;
    }
}

/// What an entry says of itself, without its record.
#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    blobs: Vec<BlobRef>,
    #[serde(default)]
    origin: Option<String>,
}

/// The group of an entry: the kind and version that made it.
fn group(origin: Option<String>) -> String {
    origin.unwrap_or_else(|| "(made before entries noted their operator)".into())
}

fn meta(bytes: &[u8]) -> Result<Meta, serde_json::Error> {
    serde_json::from_slice(bytes)
}

fn entry_bytes(raw: &[u8], meta: &Meta) -> u64 {
    raw.len() as u64 + meta.blobs.iter().map(|b| b.len).sum::<u64>()
}

fn blob_name(blob: &BlobRef) -> String {
    format!("{}.{}", blob.hash, blob.ext)
}

/// Progress of a long step: its name, items done, items in all.
pub type Progress<'a> = &'a mut dyn FnMut(&str, u64, u64);

/// What a store holds.
#[derive(Debug, Default)]
pub struct Usage {
    /// Per origin (`<kind>@<version>`): all its entries, and per reach set those in it.
    pub groups: BTreeMap<String, (Holding, Vec<Holding>)>,
    /// All entries, and per reach set those in it.
    pub total: (Holding, Vec<Holding>),
    /// Blob files on disk (each once, however many entries share it).
    pub blob_files: Holding,
    /// Blob files no entry references (left by a killed run or collection).
    pub unreferenced_blob_files: Holding,
    /// The index file's size.
    pub index_bytes: u64,
    /// The request cache (`requests/`: raw model replies and served-model notes).
    pub requests: Holding,
}

/// Counts what `store` holds; `reach` are the key sets of the specs to set beside it.
pub fn usage(store: &Store, reach: &[HashSet<Key>]) -> Result<Usage, StoreError> {
    let mut usage = Usage {
        total: (Holding::default(), vec![Holding::default(); reach.len()]),
        ..Usage::default()
    };
    let mut referenced = HashSet::new();
    store.for_each_entry(|key, raw| {
        let meta = meta(raw).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let bytes = entry_bytes(raw, &meta);
        referenced.extend(meta.blobs.iter().map(blob_name));
        let (all, reached) = usage
            .groups
            .entry(group(meta.origin))
            .or_insert_with(|| (Holding::default(), vec![Holding::default(); reach.len()]));
        all.add(bytes);
        usage.total.0.add(bytes);
        for (k, keys) in reach.iter().enumerate() {
            if keys.contains(&key) {
                reached[k].add(bytes);
                usage.total.1[k].add(bytes);
            }
        }
        Ok(())
    })?;
    for (path, len) in blob_files(store.root())? {
        usage.blob_files.add(len);
        if !referenced.contains(&file_name(&path)) {
            usage.unreferenced_blob_files.add(len);
        }
    }
    usage.index_bytes = fs::metadata(store.root().join("index.redb")).map_or(0, |m| m.len());
    for (_, len) in files_under(&store.root().join("requests"))? {
        usage.requests.add(len);
    }
    Ok(usage)
}

/// What a collection removed (or, dry, would remove).
#[derive(Debug, Default)]
pub struct Collected {
    /// Entries removed, per origin.
    pub removed: BTreeMap<String, Holding>,
    /// Entries kept.
    pub kept: Holding,
    /// Blob files deleted (no kept entry references them).
    pub blob_files: Holding,
}

/// Entries removed per transaction; each is durable on its own.
const BATCH: usize = 1000;

/// Removes every entry whose key is not in `keep`, then every blob file no
/// kept entry references. `dry_run` changes nothing and says what would go.
pub fn collect(
    store: &Store,
    keep: &HashSet<Key>,
    dry_run: bool,
    progress: Progress<'_>,
) -> Result<Collected, StoreError> {
    let mut collected = Collected::default();
    let mut doomed = Vec::new();
    let mut referenced = HashSet::new();
    store.for_each_entry(|key, raw| {
        // An entry that cannot be read is not kept: a run could not use it either.
        let (origin, bytes, blobs) = match meta(raw) {
            Ok(meta) => (
                group(meta.origin.clone()),
                entry_bytes(raw, &meta),
                meta.blobs,
            ),
            Err(_) => ("(unreadable entry)".into(), raw.len() as u64, Vec::new()),
        };
        if keep.contains(&key) && !origin.starts_with("(unreadable") {
            collected.kept.add(bytes);
            referenced.extend(blobs.iter().map(blob_name));
        } else {
            collected.removed.entry(origin).or_default().add(bytes);
            doomed.push(key);
        }
        Ok(())
    })?;
    let setting = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|b| b.parse::<usize>().ok())
    };
    let batch = setting("MAFLOW_GC_BATCH")
        .filter(|&b| b > 0)
        .unwrap_or(BATCH);
    let crash_after = setting("MAFLOW_GC_CRASH_AFTER");
    let mut steps = 0;
    let mut durable_step = || {
        steps += 1;
        if crash_after == Some(steps) {
            std::process::abort();
        }
    };
    let total = doomed.len() as u64;
    let mut done = 0;
    let step = if dry_run {
        "entries to remove"
    } else {
        "removing entries"
    };
    for chunk in doomed.chunks(batch) {
        if !dry_run {
            store.remove_many(chunk)?;
            durable_step();
        }
        done += chunk.len() as u64;
        progress(step, done, total);
    }
    let files: Vec<(PathBuf, u64)> = blob_files(store.root())?
        .into_iter()
        .filter(|(path, _)| !referenced.contains(&file_name(path)))
        .collect();
    let total = files.len() as u64;
    let step = if dry_run {
        "blob files to delete"
    } else {
        "deleting blob files"
    };
    for (n, (path, len)) in files.into_iter().enumerate() {
        if !dry_run {
            remove_file(&path)?;
            durable_step();
        }
        collected.blob_files.add(len);
        progress(step, n as u64 + 1, total);
    }
    Ok(collected)
}

/// An entry that cannot be used as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Its key.
    pub key: Key,
    /// What made it.
    pub origin: String,
    /// What is wrong.
    pub cause: String,
}

/// What is wrong with one blob file, if anything, and whether the file is there (and so wrong).
fn check_blob(store: &Store, blob: &BlobRef) -> Option<(String, bool)> {
    let path = store.blob_path(blob);
    let Ok(bytes) = fs::read(&path) else {
        return Some((format!("blob {} is missing", path.display()), false));
    };
    if bytes.len() as u64 != blob.len {
        let cause = format!(
            "blob {} has {} bytes, not {}",
            path.display(),
            bytes.len(),
            blob.len
        );
        return Some((cause, true));
    }
    (blake3::hash(&bytes).to_hex().as_str() != blob.hash).then(|| {
        (
            format!("blob {} does not match its hash", path.display()),
            true,
        )
    })
}

/// Checks every entry's blobs against their hashes. Entries with a corrupt or
/// missing blob (or that cannot be read) are reported and dropped from the
/// index, and corrupt blob files deleted, so the next run computes them again.
pub fn verify(store: &Store, progress: Progress<'_>) -> Result<Vec<Finding>, StoreError> {
    let total = store.len()?;
    let mut findings = Vec::new();
    let mut corrupt_files = Vec::new();
    // A blob shared by entries is read once.
    let mut checked: HashMap<String, Option<String>> = HashMap::new();
    let mut seen = 0;
    store.for_each_entry(|key, raw| {
        seen += 1;
        let meta = match meta(raw) {
            Ok(meta) => meta,
            Err(e) => {
                findings.push(Finding {
                    key,
                    origin: "(unreadable entry)".into(),
                    cause: format!("the entry cannot be read: {e}"),
                });
                return Ok(());
            }
        };
        for blob in &meta.blobs {
            let verdict = checked
                .entry(blob_name(blob))
                .or_insert_with(|| {
                    let verdict = check_blob(store, blob);
                    if verdict.as_ref().is_some_and(|(_, present)| *present) {
                        corrupt_files.push(store.blob_path(blob));
                    }
                    verdict.map(|(cause, _)| cause)
                })
                .clone();
            if let Some(cause) = verdict {
                findings.push(Finding {
                    key,
                    origin: group(meta.origin.clone()),
                    cause,
                });
                break;
            }
        }
        if seen % 256 == 0 || seen == total {
            progress("checking entries", seen, total);
        }
        Ok(())
    })?;
    let keys: Vec<Key> = findings.iter().map(|f| f.key).collect();
    store.remove_many(&keys)?;
    // The entries go first: a kill here leaves corrupt files no entry names.
    for path in corrupt_files {
        remove_file(&path)?;
    }
    Ok(findings)
}

fn remove_file(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Every file under `blobs/`, with its size.
fn blob_files(root: &Path) -> Result<Vec<(PathBuf, u64)>, StoreError> {
    files_under(&root.join("blobs"))
}

/// Every file under `dir` (none when it does not exist), with its size.
fn files_under(dir: &Path) -> Result<Vec<(PathBuf, u64)>, StoreError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    };
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io(&dir))?;
            let kind = entry.file_type().map_err(io(&entry.path()))?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                let len = entry.metadata().map_err(io(&entry.path()))?.len();
                files.push((entry.path(), len));
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Blob, Output};

    fn output(n: u8, blob: &[u8]) -> Output {
        Output {
            record: serde_json::json!({ "n": n }),
            blobs: vec![Blob {
                ext: "bin".into(),
                bytes: blob.to_vec(),
            }],
            pictures: None,
        }
    }

    #[test]
    fn collect_keeps_what_is_reached_and_the_blobs_it_shares() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (a, b, c) = (
            output(1, b"shared"),
            output(2, b"shared"),
            output(3, b"own"),
        );
        store
            .put_many(&[
                ([1; 32], "flow@3".into(), &a),
                ([2; 32], "pose@1".into(), &b),
                ([3; 32], "pose@1".into(), &c),
            ])
            .unwrap();
        let keep: HashSet<Key> = [[1; 32]].into();
        let used = usage(&store, std::slice::from_ref(&keep)).unwrap();
        assert_eq!(used.total.0.entries, 3);
        assert_eq!(used.total.1[0].entries, 1);
        assert_eq!(used.groups["pose@1"].0.entries, 2);
        assert_eq!(used.blob_files.entries, 2);

        let dry = collect(&store, &keep, true, &mut |_, _, _| {}).unwrap();
        assert_eq!(dry.removed["pose@1"].entries, 2);
        assert_eq!(dry.blob_files.entries, 1);
        assert_eq!(store.len().unwrap(), 3, "a dry run changes nothing");

        let done = collect(&store, &keep, false, &mut |_, _, _| {}).unwrap();
        assert_eq!((done.kept.entries, done.blob_files.entries), (1, 1));
        assert_eq!(store.len().unwrap(), 1);
        let kept = store
            .get(&[1; 32])
            .unwrap()
            .expect("the kept entry is whole");
        assert_eq!(store.read_blob(&kept.blobs[0]).unwrap(), b"shared");
        assert_eq!(store.get(&[3; 32]).unwrap(), None);
        assert_eq!(
            usage(&store, &[]).unwrap().unreferenced_blob_files.entries,
            0
        );
    }

    #[test]
    fn verify_drops_entries_whose_blob_is_corrupt_or_missing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (a, b, c) = (
            output(1, b"fine"),
            output(2, b"flipped"),
            output(3, b"gone"),
        );
        let stored = store
            .put_many(&[
                ([1; 32], "a@1".into(), &a),
                ([2; 32], "b@1".into(), &b),
                ([3; 32], "c@1".into(), &c),
            ])
            .unwrap();
        // Same length, other bytes: a run's length check cannot see it.
        fs::write(store.blob_path(&stored[1].blobs[0]), b"flopped").unwrap();
        fs::remove_file(store.blob_path(&stored[2].blobs[0])).unwrap();
        let findings = verify(&store, &mut |_, _, _| {}).unwrap();
        let causes: Vec<(&str, bool)> = findings
            .iter()
            .map(|f| (f.origin.as_str(), f.cause.contains("hash")))
            .collect();
        assert_eq!(causes, [("b@1", true), ("c@1", false)]);
        assert_eq!(store.len().unwrap(), 1);
        assert!(!store.blob_path(&stored[1].blobs[0]).exists());
        assert!(verify(&store, &mut |_, _, _| {}).unwrap().is_empty());
    }
}
