//! A digest of a folder's files, for operators that read files made
//! elsewhere: it goes into their cache key, so editing a file reruns what
//! depends on it.

use std::path::{Path, PathBuf};

/// blake3 over every file under `dir` (relative names and contents), in name order.
pub fn digest(dir: &Path) -> std::io::Result<String> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, files)?;
            } else {
                files.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    let mut h = blake3::Hasher::new();
    for f in files {
        h.update(
            f.strip_prefix(dir)
                .unwrap_or(&f)
                .to_string_lossy()
                .as_bytes(),
        );
        h.update(&[0]);
        h.update_reader(std::fs::File::open(&f)?)?;
    }
    Ok(h.finalize().to_hex().to_string())
}
