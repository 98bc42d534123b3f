//! A folder of links `<clip>.mp4` to the clips' videos, for the runners that
//! find a video by its suffix-free name under one folder (MA-Bench's starter
//! kit, VLMEvalKit). Links of clips no longer exported are removed. Like the
//! files, the links change when the run's outputs land.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use maflow_engine::store::{place, remove_file_with_writes};

use super::Row;

/// Makes `dir/<clip>.mp4` point at each row's video; returns the links made.
pub fn write(dir: &Path, rows: &[Row]) -> io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let wanted: BTreeMap<String, PathBuf> = rows
        .iter()
        .map(|r| (format!("{}.mp4", r.clip), PathBuf::from(&r.video)))
        .collect();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_symlink() && !wanted.contains_key(&name) {
            remove_file_with_writes(&entry.path())?;
        }
    }
    for (name, target) in &wanted {
        let link = dir.join(name);
        if std::fs::read_link(&link).is_ok_and(|t| &t == target) {
            continue;
        }
        // A new link under a temporary name, renamed over the old one: no moment without it.
        let fresh = dir.join(format!(".{name}.new"));
        let _ = std::fs::remove_file(&fresh);
        symlink(target, &fresh)?;
        place(&fresh, &link)?;
    }
    Ok(wanted.len())
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::fs::copy(target, link).map(|_| ())
}
