//! `ma52` source: clips of the MA-52 dataset layout.
//!
//! The layout is a videos folder plus `train_list_videos.txt`,
//! `val_list_videos.txt` and `test_list_videos.txt` with lines
//! `name.mp4 <action id>`. The participant is the first `_` field of the
//! name; the split is the list the clip is in. A listed clip missing on disk,
//! a malformed line and an unknown action id are each reported for that
//! entry; the other clips go on.

use std::path::{Path, PathBuf};

use crate::prelude::*;

use crate::common::taxonomy;
use crate::sources::select_names::Stratum;
use crate::sources::selection::{Select, SelectError};

/// Clips of the MA-52 layout: a videos folder and train/val/test list files.
/// Labels come from the list files and are resolved through the 52-action taxonomy;
/// listed-but-missing clips, bad lines and unknown action ids are reported per entry.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ma52Config {
    /// Dataset root: the folder holding the list files.
    #[example("/data/ma52")]
    pub path: PathBuf,
    /// Videos folder, relative to `path` unless absolute.
    #[default(PathBuf::from("videos"))]
    pub videos: PathBuf,
    /// Splits to read, in this order.
    #[default(vec![Split::Train, Split::Val, Split::Test])]
    pub splits: Vec<Split>,
    /// What to do with clips listed but missing on disk.
    #[serde(default)]
    pub missing: Missing,
    /// Read at most this many clips (after the split order), for quick trials.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Draw the clips instead of taking them all (fields below). What was drawn and why is in run.json under `sources`.
    #[serde(default)]
    #[example("{seed: 0, hold_out: 24, side: both, count: 1000, shares: paper}")]
    #[fields(Select)]
    pub select: Option<Select>,
}

/// A dataset split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// `train_list_videos.txt`.
    Train,
    /// `val_list_videos.txt`.
    Val,
    /// `test_list_videos.txt`.
    Test,
}

impl Split {
    fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

/// Handling of listed clips whose file is absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Missing {
    /// Report each one in `errors.jsonl` (exit code 2).
    #[default]
    Error,
    /// Count them in the log only: for working on a subset of MA-52.
    Skip,
    /// List them anyway: for specs that read descriptors from files, not the videos.
    Keep,
}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "ma52",
    section: Section::Sources,
    version: 1,
    doc: Ma52Config::DOC,
    inputs: &[],
    output: Some(maflow_engine::registry::PortType::Clips),
    params: Ma52Config::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let mut config: Ma52Config = parse_params(params)?;
    if let Some(select) = config.select.take() {
        let resolved = select
            .resolved()
            .map_err(|e| vec![select_error(params, &e)])?;
        config.select = Some(resolved);
    }
    Ok(Built::new(
        &config,
        Runtime::Source(Arc::new(Ma52Source {
            config: config.clone(),
        })),
    ))
}

/// The diagnostic of a `select` mistake, at the key it names (or the nearest key written).
fn select_error(params: &Node, error: &SelectError) -> Diagnostic {
    let mut node = params.get("select");
    let mut span = node.map_or(params.span, |n| n.span);
    for key in &error.path {
        let Some(entry) = node.and_then(Node::as_map).and_then(|entries| {
            entries.iter().find(|(k, _)| {
                k.scalar_text() == *key
                    || Stratum::parse(&k.scalar_text()).is_ok_and(|s| s.name() == key)
            })
        }) else {
            break;
        };
        span = entry.0.span;
        node = Some(&entry.1);
    }
    Diagnostic::at(span, format!("`select`: {}", error.message))
}

struct Ma52Source {
    config: Ma52Config,
}

impl ClipSource for Ma52Source {
    fn scan(&self, node_id: &str) -> Result<SourceScan, String> {
        let root = &self.config.path;
        if !root.is_dir() {
            return Err(format!("dataset folder {} does not exist", root.display()));
        }
        let videos = root.join(&self.config.videos);
        let mut scan = SourceScan::default();
        let mut lists_found = 0;
        let mut skipped_missing = 0;
        for split in &self.config.splits {
            let list = root.join(format!("{}_list_videos.txt", split.name()));
            let Ok(text) = std::fs::read_to_string(&list) else {
                tracing::info!(list = %list.display(), "no list file for this split");
                continue;
            };
            lists_found += 1;
            for entry in parse_list(&text, split.name(), &list, &videos) {
                match entry {
                    Ok(clip) if clip.path.is_file() || self.config.missing == Missing::Keep => {
                        scan.clips.push(clip)
                    }
                    Ok(_) if self.config.missing == Missing::Skip => skipped_missing += 1,
                    Ok(clip) => scan.errors.push(ItemError {
                        clip: clip.id.clone(),
                        operator: node_id.into(),
                        cause: format!(
                            "listed in {} but not found at {}",
                            file_name(&list),
                            clip.path.display()
                        ),
                    }),
                    Err((line, cause)) => scan.errors.push(ItemError {
                        clip: format!("{}:{line}", file_name(&list)),
                        operator: node_id.into(),
                        cause,
                    }),
                }
            }
        }
        if lists_found == 0 {
            return Err(format!(
                "no *_list_videos.txt for splits {:?} in {}",
                self.config.splits,
                root.display()
            ));
        }
        if skipped_missing > 0 {
            tracing::info!(skipped_missing, "listed clips absent on disk were skipped");
        }
        if let Some(select) = &self.config.select {
            let drawn = select.draw(&scan.clips);
            tracing::info!(
                chosen = drawn.chosen,
                available = drawn.available,
                held_out = drawn.held_out.len(),
                "clips drawn"
            );
            for (stratum, wanted, had) in &drawn.short {
                tracing::warn!("selection: {stratum} wants {wanted} clips, the side has {had}");
            }
            scan.notes = Some(serde_json::json!({ "selection": &drawn }));
            scan.clips = drawn.clips;
        }
        if let Some(limit) = self.config.limit {
            scan.clips.truncate(limit);
        }
        Ok(scan)
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Parses a list file; bad lines come back as (line number, cause).
pub fn parse_list(
    text: &str,
    split: &str,
    list: &Path,
    videos: &Path,
) -> Vec<Result<Clip, (usize, String)>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let n = i + 1;
            let mut fields = line.split_whitespace();
            let (Some(name), Some(label), None) = (fields.next(), fields.next(), fields.next())
            else {
                return Err((
                    n,
                    format!("expected `name.mp4 <action id>`, found `{}`", line.trim()),
                ));
            };
            let label: u32 = label
                .parse()
                .map_err(|_| (n, format!("action id `{label}` is not a number")))?;
            let action = taxonomy::action(label).ok_or_else(|| {
                (
                    n,
                    format!("unknown action id {label} (MA-52 has ids 0..=51)"),
                )
            })?;
            let file = Path::new(name);
            if file.components().count() != 1 {
                return Err((
                    n,
                    format!("`{name}` is not a plain file name (in {})", list.display()),
                ));
            }
            let id = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let participant = id.split_once('_').map(|(p, _)| p.to_string());
            Ok(Clip {
                id,
                path: videos.join(name),
                label: Some(label),
                label_name: Some(action.name.to_string()),
                participant,
                split: Some(split.to_string()),
                given: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/ma52");

    #[test]
    fn real_list_files_parse_completely_with_participants() {
        let Ok(train) = std::fs::read_to_string(format!("{SHARED}/train_list_videos.txt")) else {
            panic!("the real MA-52 list files are expected at {SHARED}");
        };
        let clips = parse_list(
            &train,
            "train",
            Path::new("train_list_videos.txt"),
            Path::new("v"),
        );
        assert_eq!(clips.len(), 11_250);
        assert!(clips.iter().all(Result::is_ok));
        let first = clips[0].as_ref().unwrap();
        assert_eq!(
            (first.id.as_str(), first.participant.as_deref(), first.label),
            ("0003_01_0001", Some("0003"), Some(9))
        );
        assert_eq!(first.label_name.as_deref(), Some("nodding"));
        for (split, n) in [("val", 5_586), ("test", 5_586)] {
            let text =
                std::fs::read_to_string(format!("{SHARED}/{split}_list_videos.txt")).unwrap();
            let clips = parse_list(&text, split, Path::new("l"), Path::new("v"));
            assert_eq!(clips.iter().filter(|c| c.is_ok()).count(), n, "{split}");
        }
    }

    #[test]
    fn bad_lines_are_reported_with_their_line_number() {
        let text = "a_1.mp4 3\nbroken\nb_2.mp4 99\nc_3.mp4 x\n../d.mp4 1\n";
        let out = parse_list(text, "train", Path::new("l"), Path::new("v"));
        assert!(out[0].is_ok());
        let errs: Vec<usize> = out
            .iter()
            .filter_map(|r| r.as_ref().err().map(|e| e.0))
            .collect();
        assert_eq!(errs, [2, 3, 4, 5]);
        assert!(
            out[2]
                .as_ref()
                .unwrap_err()
                .1
                .contains("unknown action id 99")
        );
    }

    #[test]
    fn missing_clips_are_reported_and_present_ones_listed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("videos")).unwrap();
        std::fs::write(dir.path().join("videos/0001_01_0001.mp4"), b"x").unwrap();
        std::fs::write(
            dir.path().join("train_list_videos.txt"),
            "0001_01_0001.mp4 0\n0001_01_0002.mp4 9\n",
        )
        .unwrap();
        let config = Ma52Config {
            path: dir.path().into(),
            videos: "videos".into(),
            splits: vec![Split::Train, Split::Val, Split::Test],
            missing: Missing::Error,
            limit: None,
            select: None,
        };
        let scan = Ma52Source {
            config: config.clone(),
        }
        .scan("clips")
        .unwrap();
        assert_eq!(scan.clips.len(), 1);
        assert_eq!(scan.errors.len(), 1);
        assert!(
            scan.errors[0].cause.contains("not found"),
            "{:?}",
            scan.errors
        );
        let scan = Ma52Source {
            config: Ma52Config {
                missing: Missing::Skip,
                ..config
            },
        }
        .scan("clips")
        .unwrap();
        assert!(scan.errors.is_empty());
    }
}
