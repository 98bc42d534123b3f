//! `folder` source: every video under a folder, recursively.
//!
//! The clip id is the path relative to the folder without extension, with
//! separators turned into `__`, so ids stay unique and safe as file names.
//! An optional labels file in the MA-52 list format (`name.ext <label>`)
//! gives labels by file name; an optional names file (`id<TAB>name`) names them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::prelude::*;

/// Every video under a folder (recursive, sorted by path), with optional labels.
/// Clip ids are relative paths without extension, `/` written as `__`.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderConfig {
    /// Folder to search, recursively.
    #[example("videos/")]
    pub path: PathBuf,
    /// File extensions taken as videos (case-insensitive).
    #[default(["mp4", "avi", "mov", "mkv", "webm"].map(String::from).to_vec())]
    pub extensions: Vec<String>,
    /// Optional labels file, lines `name.ext <label id>`.
    #[serde(default)]
    pub labels: Option<PathBuf>,
    /// Optional label names file, lines `id<TAB>name`.
    #[serde(default)]
    pub label_names: Option<PathBuf>,
    /// Read at most this many clips (in path order).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "folder",
    section: Section::Sources,
    version: 1,
    doc: FolderConfig::DOC,
    inputs: &[],
    output: Some(PortType::Clips),
    params: FolderConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: FolderConfig = parse_params(params)?;
    if config.extensions.is_empty() {
        return Err(vec![param_error(
            params,
            "extensions",
            "`extensions` must name at least one extension",
        )]);
    }
    Ok(Built::new(
        &config,
        Runtime::Source(Arc::new(FolderSource {
            config: config.clone(),
        })),
    ))
}

struct FolderSource {
    config: FolderConfig,
}

impl ClipSource for FolderSource {
    fn scan(&self, node_id: &str) -> Result<SourceScan, String> {
        let root = &self.config.path;
        if !root.is_dir() {
            return Err(format!("folder {} does not exist", root.display()));
        }
        let mut files = Vec::new();
        walk(root, &mut files).map_err(|e| format!("cannot list {}: {e}", root.display()))?;
        let wanted: Vec<String> = self
            .config
            .extensions
            .iter()
            .map(|e| e.trim_start_matches('.').to_lowercase())
            .collect();
        files.retain(|p| {
            p.extension()
                .is_some_and(|e| wanted.contains(&e.to_string_lossy().to_lowercase()))
        });
        files.sort();

        let mut scan = SourceScan::default();
        let labels = match &self.config.labels {
            Some(path) => read_labels(path, node_id, &mut scan.errors)?,
            None => HashMap::new(),
        };
        let names = match &self.config.label_names {
            Some(path) => read_label_names(path)?,
            None => HashMap::new(),
        };
        for path in files {
            let rel = path.strip_prefix(root).expect("walked under root");
            let id = clip_id(rel);
            let file = rel
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let label = labels.get(&file).copied();
            scan.clips.push(Clip {
                id,
                path: path.clone(),
                label,
                label_name: label.and_then(|l| names.get(&l).cloned()),
                participant: None,
                split: None,
                given: None,
            });
        }
        if let Some(limit) = self.config.limit {
            scan.clips.truncate(limit);
        }
        Ok(scan)
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// `a/b/c.mp4` → `a__b__c`; characters unsafe in file names become `_`.
fn clip_id(rel: &Path) -> String {
    let stem = rel.with_extension("");
    let parts: Vec<String> = stem
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let id: String = parts
        .join("__")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    id.trim_start_matches('.').to_string()
}

fn read_labels(
    path: &Path,
    node_id: &str,
    errors: &mut Vec<ItemError>,
) -> Result<HashMap<String, u32>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read labels {}: {e}", path.display()))?;
    let mut labels = HashMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let mut f = line.split_whitespace();
        match (f.next(), f.next().map(str::parse::<u32>), f.next()) {
            (Some(name), Some(Ok(label)), None) => {
                labels.insert(name.to_string(), label);
            }
            _ => errors.push(ItemError {
                clip: format!("{}:{}", path.display(), i + 1),
                operator: node_id.into(),
                cause: format!("expected `name.ext <label id>`, found `{}`", line.trim()),
            }),
        }
    }
    Ok(labels)
}

fn read_label_names(path: &Path) -> Result<HashMap<u32, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read label names {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter_map(|(id, name)| Some((id.trim().parse().ok()?, name.trim().to_string())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_videos_recursively_with_safe_ids_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("v");
        std::fs::create_dir_all(root.join("p1/sub dir")).unwrap();
        for f in [
            "a.mp4",
            "p1/b.MKV",
            "p1/sub dir/c.webm",
            "notes.txt",
            "p1/d.avi",
        ] {
            std::fs::write(root.join(f), b"x").unwrap();
        }
        let labels = dir.path().join("labels.txt");
        std::fs::write(&labels, "a.mp4 9\nbad line here\nb.MKV 3\n").unwrap();
        let names = dir.path().join("names.txt");
        std::fs::write(&names, "9\tnodding\n").unwrap();
        let config = FolderConfig {
            path: root,
            extensions: ["mp4", "avi", "mov", "mkv", "webm"]
                .map(String::from)
                .to_vec(),
            labels: Some(labels),
            label_names: Some(names),
            limit: None,
        };
        let scan = FolderSource { config }.scan("clips").unwrap();
        let ids: Vec<_> = scan.clips.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["a", "p1__b", "p1__d", "p1__sub_dir__c"]);
        assert_eq!(scan.clips[0].label_name.as_deref(), Some("nodding"));
        assert_eq!(scan.clips[1].label, Some(3));
        assert_eq!(scan.errors.len(), 1);
    }
}
