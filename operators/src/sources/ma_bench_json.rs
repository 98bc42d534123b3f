//! `ma-bench-json` source: MA-Bench's questions as its authors publish them,
//! one JSON array of rows `{video | video_name, task, qid, question[, answer]}`
//! (the sample split names the video with its `.mp4`, the full split
//! without), and the folder holding `<video>.mp4`.
//!
//! Every video becomes a clip whose [`Clip::given`] carries its items, so
//! the clip's key follows its questions; the `given-qa` operator hands them
//! on as a `qa` record. A CMAR/FMAR question carries its options as
//! `\nA. …` lines, which become the item's options. A malformed row is an
//! error naming its qid; a missing video is listed anyway, and what needs
//! the video fails its items.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::language::qa::item::{Item, TASKS};
use crate::language::qa::recognition::LETTERS;
use crate::prelude::*;

/// MA-Bench's published questions: a JSON array of rows `{video (with `.mp4`) or video_name (without),
/// task, qid, question, answer (sample split only)}` and the folder of `<video>.mp4`. Each video is a
/// clip carrying its items (qid, task, the question's stem, options from its `\nA. …` lines, the answer:
/// `yes`/`no`, a letter or an open task's reference); malformed rows are errors naming their qid.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaBenchJsonConfig {
    /// The questions file (`mabench_data.json`, `mabench_data_sample_100.json` or an export of maflow's).
    #[example("../shared/data/ma-bench/starter-kit/mabench_data_sample_100.json")]
    pub questions: PathBuf,
    /// Folder of the videos, `<video>.mp4` each.
    #[example("videos/")]
    pub videos: PathBuf,
}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "ma-bench-json",
    section: Section::Sources,
    version: 1,
    doc: MaBenchJsonConfig::DOC,
    inputs: &[],
    output: Some(PortType::Clips),
    params: MaBenchJsonConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: MaBenchJsonConfig = parse_params(params)?;
    Ok(Built::new(
        &config,
        Runtime::Source(Arc::new(MaBenchJson {
            config: config.clone(),
        })),
    ))
}

struct MaBenchJson {
    config: MaBenchJsonConfig,
}

impl ClipSource for MaBenchJson {
    fn scan(&self, node_id: &str) -> Result<SourceScan, String> {
        let path = &self.config.questions;
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read questions {}: {e}", path.display()))?;
        let rows: Vec<Value> = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not a JSON array of question rows: {e}",
                path.display()
            )
        })?;
        let mut scan = SourceScan::default();
        // Videos in the order the file first names them; their items in file order.
        let mut videos: Vec<(String, Vec<Item>)> = Vec::new();
        let mut qids = std::collections::HashSet::new();
        for (n, row) in rows.iter().enumerate() {
            let fail = |cause: String| ItemError {
                clip: row["qid"].as_str().map_or_else(
                    || format!("{}: row {}", file_name(path), n + 1),
                    String::from,
                ),
                operator: node_id.into(),
                cause,
            };
            match read_row(row, n) {
                Ok(item) if !qids.insert(item.id.clone()) => scan
                    .errors
                    .push(fail("a second row with this qid; skipped".into())),
                Ok(item) => match videos.iter_mut().find(|(v, _)| *v == item.clip) {
                    Some((_, items)) => items.push(item),
                    None => videos.push((item.clip.clone(), vec![item])),
                },
                Err(cause) => scan.errors.push(fail(cause)),
            }
        }
        let mut per_task: BTreeMap<&str, usize> = TASKS.iter().map(|t| (*t, 0)).collect();
        let mut answered = 0;
        let mut missing = 0;
        for (video, items) in videos {
            for item in &items {
                *per_task.entry(task_name(&item.task)).or_default() += 1;
                answered += usize::from(!item.answer.is_empty() || item.reference.is_some());
            }
            let file = self.config.videos.join(format!("{video}.mp4"));
            missing += usize::from(!file.is_file());
            scan.clips.push(Clip {
                id: video,
                path: file,
                label: None,
                label_name: None,
                participant: None,
                split: None,
                given: Some(json!({ "items": items })),
            });
        }
        if missing > 0 {
            tracing::warn!(
                missing,
                videos = %self.config.videos.display(),
                "videos not found: their items fail where the video is needed"
            );
        }
        scan.notes = Some(json!({"questions": {
            "file": path.display().to_string(),
            "rows": rows.len(),
            "items": per_task.values().sum::<usize>(),
            "videos": scan.clips.len(),
            "per_task": per_task,
            "answered": answered,
            "malformed": scan.errors.len(),
            "missing_videos": missing,
        }}));
        Ok(scan)
    }
}

/// What `maflow plan` says of a source's questions, from its notes: the file, rows per task, how
/// many have answers, and what could not be used; `None` for a source that read no questions.
pub fn plan_lines(source: &str, notes: &Value) -> Option<String> {
    let q = notes.get("questions")?;
    let n = |k: &str| q[k].as_u64().unwrap_or(0);
    let per_task: Vec<String> = TASKS
        .iter()
        .filter_map(|t| Some(format!("{t} {}", q["per_task"][*t].as_u64()?)))
        .collect();
    Some(format!(
        "source `{source}`: {} questions on {} videos from {} ({} rows), {} with answers; {} malformed rows, {} videos missing\n  per task: {}\n",
        n("items"),
        n("videos"),
        q["file"].as_str().unwrap_or("?"),
        n("rows"),
        n("answered"),
        n("malformed"),
        n("missing_videos"),
        per_task.join(" · ")
    ))
}

/// `TASK` as a `&'static str` of [`TASKS`] (rows are checked to name one).
fn task_name(task: &str) -> &'static str {
    TASKS
        .iter()
        .find(|t| **t == task)
        .expect("rows name a known task")
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    )
}

/// One row as an item, or why it cannot be one.
fn read_row(row: &Value, n: usize) -> Result<Item, String> {
    let text = |key: &str| row.get(key).and_then(Value::as_str).map(str::trim);
    let qid = text("qid")
        .filter(|q| !q.is_empty())
        .ok_or("no `qid` string")?;
    let video = text("video")
        .or_else(|| text("video_name"))
        .ok_or("no `video` or `video_name` string")?;
    let video = video.strip_suffix(".mp4").unwrap_or(video);
    if video.is_empty() || video.contains(['/', '\\']) {
        return Err(format!("`{video}` is not a video name"));
    }
    let task = text("task").ok_or("no `task` string")?;
    if !TASKS.contains(&task) {
        return Err(format!(
            "unknown task `{task}` (the tasks are {})",
            TASKS.join(", ")
        ));
    }
    let question = text("question")
        .filter(|q| !q.is_empty())
        .ok_or("no `question` string")?;
    let (stem, options) = split_options(question);
    let closed_choice = matches!(task, "CMAR" | "FMAR");
    if closed_choice && options.len() < 2 {
        return Err(format!(
            "a {task} question lists its options as `\\nA. …` lines; found {}",
            options.len()
        ));
    }
    if !closed_choice && !options.is_empty() {
        return Err(format!(
            "a {task} question has no options, found {}",
            options.len()
        ));
    }
    let given = match row.get("answer") {
        None | Some(Value::Null) => None,
        Some(Value::String(a)) => Some(a.trim()),
        Some(other) => return Err(format!("`answer` is not a string: {other}")),
    };
    let (answer, reference) = match (task, given) {
        (_, None) => (String::new(), None),
        ("MADU" | "MARE", Some(reference)) if !reference.is_empty() => {
            (String::new(), Some(reference.to_string()))
        }
        ("MADU" | "MARE", Some(_)) => return Err("empty reference answer".into()),
        ("CMAR" | "FMAR", Some(letter)) => {
            if !LETTERS[..options.len()].contains(&letter) {
                return Err(format!(
                    "answer `{letter}` is not one of the options' letters A–{}",
                    LETTERS[options.len() - 1]
                ));
            }
            (letter.to_string(), None)
        }
        (_, Some(yes_no)) => match yes_no.to_ascii_lowercase().as_str() {
            v @ ("yes" | "no") => (v.to_string(), None),
            _ => return Err(format!("answer `{yes_no}` is not Yes or No")),
        },
    };
    Ok(Item {
        id: qid.to_string(),
        clip: video.to_string(),
        task: task.to_string(),
        question: stem,
        options,
        answer,
        reference,
        provenance: json!({"given": {"row": n + 1}}),
    })
}

/// A question's stem and its `A. …` option lines (consecutive letters from A).
pub fn split_options(question: &str) -> (String, Vec<String>) {
    let mut lines: Vec<&str> = question.lines().collect();
    let mut options = Vec::new();
    // Options are the trailing lines `A. …`, `B. …`, … in order.
    let first = lines.iter().position(|l| l.trim_start().starts_with("A. "));
    if let Some(first) = first {
        for (k, line) in lines[first..].iter().enumerate() {
            let prefix = LETTERS.get(k).map(|l| format!("{l}. "));
            match prefix.and_then(|p| line.trim_start().strip_prefix(p.as_str())) {
                Some(option) => options.push(option.trim().to_string()),
                None => {
                    options.clear();
                    break;
                }
            }
        }
        if !options.is_empty() {
            lines.truncate(first);
        }
    }
    (lines.join("\n").trim().to_string(), options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_of_row_become_items_with_options_and_answers() {
        let sample = json!({"video": "a-b_1_2.mp4", "task": "CMAR", "qid": "CMAR_0001",
            "question": "Which category?\nA. Head\nB. Body\nC. Lower limb", "answer": "B"});
        let item = read_row(&sample, 0).unwrap();
        assert_eq!(
            (
                item.clip.as_str(),
                item.question.as_str(),
                item.answer.as_str()
            ),
            ("a-b_1_2", "Which category?", "B")
        );
        assert_eq!(item.options, ["Head", "Body", "Lower limb"]);
        let full = json!({"video_name": "a-b_1_2", "task": "SAD", "qid": "SAD_0002", "question": "Does it?"});
        let item = read_row(&full, 1).unwrap();
        assert_eq!((item.clip.as_str(), item.answer.as_str()), ("a-b_1_2", ""));
        let yes = json!({"video_name": "v", "task": "PPR", "qid": "PPR_1", "question": "Q?", "answer": "Yes"});
        assert_eq!(read_row(&yes, 2).unwrap().answer, "yes");
        let open = json!({"video_name": "v", "task": "MADU", "qid": "MADU_1", "question": "Describe.", "answer": "The head nods."});
        let item = read_row(&open, 3).unwrap();
        assert_eq!(
            (item.answer.as_str(), item.reference.as_deref()),
            ("", Some("The head nods."))
        );
    }

    #[test]
    fn malformed_rows_say_what_is_wrong() {
        for (row, cause) in [
            (
                json!({"video_name": "v", "task": "SAD", "question": "Q?"}),
                "qid",
            ),
            (
                json!({"qid": "X_1", "task": "SAD", "question": "Q?"}),
                "video",
            ),
            (
                json!({"qid": "X_1", "video_name": "v", "task": "AS", "question": "Q?"}),
                "unknown task `AS`",
            ),
            (
                json!({"qid": "X_1", "video_name": "v", "task": "CMAR", "question": "Which?"}),
                "options",
            ),
            (
                json!({"qid": "X_1", "video_name": "v", "task": "FMAR", "question": "Which?\nA. x\nB. y", "answer": "C"}),
                "not one of the options",
            ),
            (
                json!({"qid": "X_1", "video_name": "v", "task": "MAS", "question": "Q?", "answer": "Maybe"}),
                "not Yes or No",
            ),
            (
                json!({"qid": "X_1", "video_name": "../v", "task": "MAS", "question": "Q?"}),
                "not a video name",
            ),
        ] {
            let err = read_row(&row, 0).unwrap_err();
            assert!(err.contains(cause), "{row}: {err}");
        }
    }

    #[test]
    fn the_published_sample_reads_whole() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/ma-bench/starter-kit/mabench_data_sample_100.json"
        );
        let source = MaBenchJson {
            config: MaBenchJsonConfig {
                questions: path.into(),
                videos: "/nonexistent".into(),
            },
        };
        let scan = source.scan("bench").unwrap();
        assert!(scan.errors.is_empty(), "{:?}", scan.errors.first());
        assert_eq!(scan.clips.len(), 100);
        let notes = &scan.notes.unwrap()["questions"];
        assert_eq!(
            (notes["items"].as_u64(), notes["answered"].as_u64()),
            (Some(1200), Some(1200))
        );
        assert_eq!(notes["per_task"]["SAD"], 200);
        assert_eq!(notes["per_task"]["CMAR"], 100);
        assert_eq!(notes["missing_videos"], 100);
        let items: Vec<Item> =
            serde_json::from_value(scan.clips[0].given.as_ref().unwrap()["items"].clone()).unwrap();
        assert_eq!(items.len(), 12, "12 questions per video");
    }
}
