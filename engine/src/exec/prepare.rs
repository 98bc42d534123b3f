//! Before anything runs: list clips, key every node output, look keys up.
//!
//! `maflow plan` and `maflow run` share this, so the plan's cached/to-run
//! counts are exactly what the run will do.

use std::path::Path;

use crate::data::{Clip, ItemError};
use crate::graph::Plan;
use crate::keys::{clip_key, output_key};
use crate::registry::{Runtime, SourceScan};
use crate::spec::is_safe_name;
use crate::store::{Key, Store, StoreError, hash_file};

/// One clip with the keys of every node it flows through.
#[derive(Clone, Debug)]
pub struct ClipEntry {
    /// Position in the run's deterministic order.
    pub seq: u64,
    /// The source node that listed it.
    pub source: usize,
    /// The clip.
    pub clip: Clip,
    /// Per node: its output key for this clip (`None` for nodes of other sources and for record sinks).
    pub keys: Vec<Option<Key>>,
    /// Per node that draws pictures: their key (its picture settings and its output's key).
    pub picture_keys: Vec<Option<Key>>,
    /// Per node: whether that output, and its pictures if it draws any, are already in the store.
    pub cached: Vec<bool>,
}

/// The clips of a run and the entries that could not become clips.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Usable clips in order.
    pub clips: Vec<ClipEntry>,
    /// Listing failures (missing files, bad ids, unreadable files), in order.
    pub errors: Vec<ItemError>,
    /// Per source that stated them: its notes (see [`SourceScan::notes`](crate::registry::SourceScan::notes)).
    pub notes: Vec<(String, serde_json::Value)>,
}

/// Why a run cannot start: the store failed, or a source gives nothing to run on.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A source cannot be read, or yields no clip: running would rewrite
    /// every aggregate from nothing, so nothing runs and nothing is written.
    #[error("source `{node}`: {cause}; nothing ran and the outputs are as they were")]
    Source {
        /// The source node.
        node: String,
        /// Why, naming the path.
        cause: String,
    },
}

/// Lists one source's clips; a source that cannot be read or yields none is an error.
fn scan_source(plan: &Plan, source: usize) -> Result<SourceScan, PrepareError> {
    let node = &plan.nodes[source];
    let Runtime::Source(runtime) = &node.runtime else {
        unreachable!("sources() yields sources")
    };
    let failed = |cause: String| PrepareError::Source {
        node: node.id.clone(),
        cause,
    };
    let scan = runtime.scan(&node.id).map_err(failed)?;
    if scan.clips.is_empty() {
        let cause = match scan.errors.first() {
            Some(first) => format!(
                "none of its {} entries can be used (first: {}: {})",
                scan.errors.len(),
                first.clip,
                first.cause
            ),
            None if scan.notes.is_some() => {
                "it yields no clip (its selection drew none)".to_string()
            }
            None => "it yields no clip (an empty folder or list)".to_string(),
        };
        return Err(failed(cause));
    }
    Ok(scan)
}

/// Lists every source as a run would, without keying anything: what
/// `validate` checks, so that it refuses what `run` would.
pub fn check_sources(plan: &Plan) -> Result<(), PrepareError> {
    plan.sources()
        .try_for_each(|source| scan_source(plan, source).map(|_| ()))
}

/// Scans sources and computes keys; `store` may be absent (nothing cached yet).
pub fn prepare(plan: &Plan, store: Option<&Store>) -> Result<Prepared, PrepareError> {
    let mut prepared = Prepared::default();
    for source in plan.sources() {
        let node = &plan.nodes[source];
        let scan = scan_source(plan, source)?;
        prepared.errors.extend(scan.errors);
        prepared
            .notes
            .extend(scan.notes.map(|n| (node.id.clone(), n)));
        let clips = distinct_clips(scan.clips, &node.id, &mut prepared.errors);
        let hashes = hash_files(&clips, store);
        for (clip, hash) in clips.into_iter().zip(hashes) {
            let content = match hash {
                Ok(h) => h,
                // A source that lists clips without their files (their records
                // are read from elsewhere) keys them by their record alone.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    *blake3::hash(b"maflow: no file").as_bytes()
                }
                Err(e) => {
                    prepared.errors.push(ItemError {
                        clip: clip.id.clone(),
                        operator: node.id.clone(),
                        cause: format!("cannot read {}: {e}", clip.path.display()),
                    });
                    continue;
                }
            };
            let seq = prepared.clips.len() as u64;
            prepared
                .clips
                .push(keyed_clip(plan, store, source, seq, clip, &content)?);
        }
    }
    Ok(prepared)
}

/// The clips whose ids are plain file names, each id once; the others are
/// errors of the source `source_id`.
fn distinct_clips(clips: Vec<Clip>, source_id: &str, errors: &mut Vec<ItemError>) -> Vec<Clip> {
    let mut seen = std::collections::HashSet::new();
    let mut kept = Vec::new();
    for clip in clips {
        if !is_safe_name(&clip.id) {
            errors.push(ItemError {
                clip: clip.id.clone(),
                operator: source_id.to_string(),
                cause: "clip id is not a plain file name (letters, digits, `_`, `-`, `.`); skipped"
                    .into(),
            });
        } else if !seen.insert(clip.id.clone()) {
            errors.push(ItemError {
                clip: clip.id.clone(),
                operator: source_id.to_string(),
                cause: format!(
                    "duplicate clip id; the second file {} is skipped",
                    clip.path.display()
                ),
            });
        } else {
            kept.push(clip);
        }
    }
    kept
}

/// A clip of `source` with every node's key (from the clip's `content` hash
/// down the plan), its pictures' keys, and what the store already holds.
fn keyed_clip(
    plan: &Plan,
    store: Option<&Store>,
    source: usize,
    seq: u64,
    clip: Clip,
    content: &[u8; 32],
) -> Result<ClipEntry, PrepareError> {
    let mut keys: Vec<Option<Key>> = vec![None; plan.nodes.len()];
    keys[source] = Some(clip_key(&clip, content));
    for (i, n) in plan.nodes.iter().enumerate() {
        if i == source || plan.source_of(i) != source || matches!(n.runtime, Runtime::RecordSink(_))
        {
            continue;
        }
        let inputs: Option<Vec<Key>> = n.inputs.iter().map(|&j| keys[j]).collect();
        keys[i] = inputs.map(|inputs| output_key(&n.fingerprint, &inputs));
    }
    let picture_keys: Vec<Option<Key>> = plan
        .nodes
        .iter()
        .zip(&keys)
        .map(|(n, key)| Some(output_key(&n.picture_fingerprint?, &[(*key)?])))
        .collect();
    let cached = match store {
        Some(store) => keys
            .iter()
            .zip(&picture_keys)
            .map(|(k, p)| {
                Ok(k.map_or(Ok(false), |k| store.contains(&k))?
                    && p.map_or(Ok(true), |p| store.contains(&p))?)
            })
            .collect::<Result<Vec<_>, StoreError>>()?,
        None => vec![false; keys.len()],
    };
    Ok(ClipEntry {
        seq,
        source,
        clip,
        keys,
        picture_keys,
        cached,
    })
}

/// Content hashes of the clips' files, in parallel (reading files is most of a cold plan).
fn hash_files(clips: &[Clip], store: Option<&Store>) -> Vec<std::io::Result<[u8; 32]>> {
    let hash_one = |path: &Path| match store {
        Some(store) => store.file_hash(path),
        None => hash_file(path),
    };
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let chunk = clips.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = clips
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|c| hash_one(&c.path)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("hashing threads do not panic"))
            .collect()
    })
}
