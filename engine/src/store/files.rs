//! Files written whole or not at all: a temporary file, synced, then
//! renamed over the name. A run's sinks hold their renames back until all
//! have written ([`hold_renames`]), so an output folder is the last run's
//! or the one before, never a mix.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::StoreError;

/// Writes a file so that readers see the old contents or the new, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_file_atomic(path, bytes).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// [`write_atomic`] with a plain I/O error, for sinks. A failed write leaves no temporary file.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = write_temp(path, bytes)?;
    place(&tmp, path)
}

/// Writes a file of the store's own (a blob, a cached request): whole, and
/// at once even while a run's outputs are held back, since the run reads it.
pub fn write_store_file(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = write_temp(path, bytes).map_err(io)?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io(e)
    })
}

/// Writes `bytes` to a fresh temporary file beside `path` and syncs it; a failed write leaves none.
fn write_temp(path: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let dir = path.parent().expect("files are written inside a folder");
    fs::create_dir_all(dir)?;
    let tmp = temp_path(path);
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// A change held back: a written file to put under its name, or a file to remove.
enum Held {
    Rename { tmp: PathBuf, path: PathBuf },
    Remove(PathBuf),
}

/// What a thread holds back: the changes in order, and per path what it will hold once they land
/// (the temporary file that goes under it, or nothing when it is removed).
#[derive(Default)]
struct HeldChanges {
    changes: Vec<Held>,
    landing: HashMap<PathBuf, Option<PathBuf>>,
}

thread_local! {
    /// The changes this thread holds back, while a [`HeldRenames`] lives.
    static HELD: RefCell<Option<HeldChanges>> = const { RefCell::new(None) };
}

/// Holds `change` back if this thread holds changes; gives it back otherwise.
fn hold(change: Held) -> Option<Held> {
    HELD.with(|held| match held.borrow_mut().as_mut() {
        Some(held) => {
            let (path, there) = match &change {
                Held::Rename { tmp, path } => (path.clone(), Some(tmp.clone())),
                Held::Remove(path) => (path.clone(), None),
            };
            held.landing.insert(path, there);
            held.changes.push(change);
            None
        }
        None => Some(change),
    })
}

/// What `path` will hold when this thread's held writes land: `None` when
/// nothing is held for it, `Some(None)` when it is to be removed.
fn landing(path: &Path) -> Option<Option<PathBuf>> {
    HELD.with(|held| {
        held.borrow()
            .as_ref()
            .and_then(|h| h.landing.get(path).cloned())
    })
}

/// Whether `path` is a file, or will be one when this thread's held writes land.
pub fn is_file_with_writes(path: &Path) -> bool {
    match landing(path) {
        Some(there) => there.is_some(),
        None => path.is_file(),
    }
}

/// The bytes `path` holds, or will hold when this thread's held writes land.
pub fn read_with_writes(path: &Path) -> std::io::Result<Vec<u8>> {
    match landing(path) {
        Some(Some(tmp)) => fs::read(tmp),
        Some(None) => Err(std::io::ErrorKind::NotFound.into()),
        None => fs::read(path),
    }
}

fn take_held() -> Vec<Held> {
    HELD.with(|held| held.borrow_mut().take())
        .map(|h| h.changes)
        .unwrap_or_default()
}

/// Puts a written temporary file (or link) under its name, or holds that back (see [`hold_renames`]).
pub fn place(tmp: &Path, path: &Path) -> std::io::Result<()> {
    let change = Held::Rename {
        tmp: tmp.to_path_buf(),
        path: path.to_path_buf(),
    };
    hold(change).map_or(Ok(()), apply)
}

/// Removes a file (none there is no error), or, while this thread holds its
/// writes back, once they land: a file replaced by another name goes when
/// the other lands, never before.
pub fn remove_file_with_writes(path: &Path) -> std::io::Result<()> {
    hold(Held::Remove(path.to_path_buf())).map_or(Ok(()), apply)
}

fn apply(change: Held) -> std::io::Result<()> {
    match change {
        Held::Rename { tmp, path } => fs::rename(&tmp, &path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
        }),
        Held::Remove(path) => match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
    }
}

fn discard(change: Held) {
    if let Held::Rename { tmp, .. } = change {
        let _ = fs::remove_file(&tmp);
    }
}

/// Holds back, on this thread, the last step (the rename) of every atomic
/// write ([`write_file_atomic`], [`AtomicFile::commit`]), and every
/// [`remove_file_with_writes`], until [`HeldRenames::place_all`]. Dropped without it, the held files are
/// deleted and their names keep what they held: a group of files (a run's
/// sinks) lands whole or not at all, whatever fails among them (a full
/// disk, a read-only or vanished folder).
pub fn hold_renames() -> HeldRenames {
    // Within a group already held (one run inside another's thread), the outer group decides.
    let outer = HELD.with(|held| {
        let mut held = held.borrow_mut();
        let outer = held.is_none();
        if outer {
            *held = Some(HeldChanges::default());
        }
        outer
    });
    HeldRenames {
        outer,
        _not_send: std::marker::PhantomData,
    }
}

/// See [`hold_renames`].
pub struct HeldRenames {
    /// Whether this group started the holding (an inner one leaves it to the outer).
    outer: bool,
    // The renames are held per thread.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl HeldRenames {
    /// Puts every held file under its name and makes the held removals, in the order asked.
    pub fn place_all(mut self) -> std::io::Result<()> {
        if !std::mem::replace(&mut self.outer, false) {
            return Ok(());
        }
        let mut held = take_held().into_iter();
        for change in held.by_ref() {
            if let Err(e) = apply(change) {
                held.for_each(discard);
                return Err(e);
            }
        }
        Ok(())
    }
}

impl Drop for HeldRenames {
    fn drop(&mut self) {
        if self.outer {
            take_held().into_iter().for_each(discard);
        }
    }
}

/// A file written as it goes and seen under its name only when committed
/// (temporary file + rename), so readers never see a part of it and memory
/// does not grow with its size. Dropped uncommitted, it leaves no temporary file.
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<std::io::BufWriter<fs::File>>,
}

impl AtomicFile {
    /// Starts writing `path` (its folder is created).
    pub fn create(path: &Path) -> std::io::Result<Self> {
        fs::create_dir_all(path.parent().expect("files are written inside a folder"))?;
        let tmp = temp_path(path);
        let file = std::io::BufWriter::new(fs::File::create(&tmp)?);
        Ok(Self {
            path: path.to_path_buf(),
            tmp,
            file: Some(file),
        })
    }

    /// Appends bytes.
    pub fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file
            .as_mut()
            .expect("an atomic file is written until committed")
            .write_all(bytes)
    }

    /// Flushes, syncs and renames the file into place (or holds that back, see [`hold_renames`]).
    pub fn commit(mut self) -> std::io::Result<()> {
        let file = self
            .file
            .take()
            .expect("an atomic file is committed once")
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        place(&self.tmp, &self.path)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Still open: it was never committed, or its commit failed before the rename.
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A fresh temporary name beside `path` (`.<name>.<pid>.<n>.tmp`), to be
/// renamed over it once written. Unique per process and call: threads may
/// write the same path at once.
pub fn temp_path(path: &Path) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Removes, under `dir`, the temporary files of [`temp_path`] that a killed
/// run left behind (their process is gone); returns how many.
pub fn remove_stale_temp_files(dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(0);
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            removed += remove_stale_temp_files(&path)?;
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
            continue;
        };
        let mut fields = inner.rsplitn(3, '.');
        let (Some(_n), Some(pid), Some(_)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if !process_alive(pid) {
            fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Whether a process runs under `pid` (this one always does).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    // Without /proc nothing can be told, so nothing is removed.
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temp_files_of_dead_processes_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("captions");
        fs::create_dir_all(&sub).unwrap();
        // A pid far above any Linux pid_max: no such process.
        let dead = sub.join(".a.json.4294967295.0.tmp");
        let ours = temp_path(&dir.path().join("b.jsonl"));
        let other = dir.path().join(".notes.tmp");
        for p in [&dead, &ours, &other] {
            fs::write(p, b"x").unwrap();
        }
        assert_eq!(
            remove_stale_temp_files(dir.path()).unwrap(),
            usize::from(Path::new("/proc").is_dir())
        );
        assert!(ours.exists() && other.exists());
    }

    #[test]
    fn held_renames_land_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
        write_file_atomic(&a, b"old a").unwrap();
        write_file_atomic(&b, b"old b").unwrap();
        let names = || {
            let mut n: Vec<String> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            n.sort();
            n
        };
        {
            let _held = hold_renames();
            remove_file_with_writes(&b).unwrap();
            assert!(!is_file_with_writes(&b), "b is to go");
            write_file_atomic(&a, b"new a").unwrap();
            let mut f = AtomicFile::create(&b).unwrap();
            f.write_all(b"new b").unwrap();
            f.commit().unwrap();
            assert_eq!(fs::read(&a).unwrap(), b"old a", "held back");
            assert!(
                is_file_with_writes(&a) && is_file_with_writes(&b),
                "b is written again"
            );
            assert_eq!(read_with_writes(&b).unwrap(), b"new b", "as it will read");
            // Dropped: the group failed.
        }
        assert_eq!(
            (fs::read(&a).unwrap(), fs::read(&b).unwrap()),
            (b"old a".to_vec(), b"old b".to_vec())
        );
        assert_eq!(names(), ["a.txt", "b.txt"], "no temporary file is left");
        let held = hold_renames();
        write_file_atomic(&a, b"new a").unwrap();
        write_file_atomic(&b, b"new b").unwrap();
        held.place_all().unwrap();
        assert_eq!(
            (fs::read(&a).unwrap(), fs::read(&b).unwrap()),
            (b"new a".to_vec(), b"new b".to_vec())
        );
        // A group inside a held one leaves the decision to the outer group.
        let outer = hold_renames();
        hold_renames().place_all().unwrap();
        write_file_atomic(&a, b"inner").unwrap();
        drop(hold_renames());
        assert_eq!(fs::read(&a).unwrap(), b"new a", "still held");
        outer.place_all().unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"inner");
        // Not held: at once. An uncommitted file leaves nothing behind.
        write_file_atomic(&a, b"now").unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"now");
        drop(AtomicFile::create(&dir.path().join("c.txt")).unwrap());
        assert_eq!(names(), ["a.txt", "b.txt"]);
    }
}
