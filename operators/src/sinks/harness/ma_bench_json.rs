//! The benchmark as MA-Bench's own JSON rows, the shape of the authors'
//! published split: `video` (the clip's name, no suffix), `task`, `qid`
//! (`<TASK>_<NNNN>`, numbered per task in benchmark order), `question` with
//! the options as `\nA. …` lines, and `answer` (`Yes`/`No`, an option
//! letter, or the reference text of an open item). Next to it, `videos/`
//! links every clip as `<clip>.mp4`, so a runner given that folder finds
//! each video.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use maflow_engine::store::write_file_atomic;
use serde_json::{Value, json};

use super::{Row, video_links};
use crate::language::qa::recognition::LETTERS;

/// One row in the published shape.
pub fn row(r: &Row, qid: String) -> Value {
    let mut question = r.question.clone();
    for (letter, option) in LETTERS.iter().zip(&r.options) {
        question.push_str(&format!("\n{letter}. {option}"));
    }
    let answer = match r.answer.as_str() {
        "yes" => "Yes".to_string(),
        "no" => "No".to_string(),
        "" => r.reference.clone(),
        letter => letter.to_string(),
    };
    json!({"video": r.clip, "task": r.task, "qid": qid, "question": question, "answer": answer})
}

/// Writes `<name>.json` and `videos/`.
pub fn write(dir: &Path, name: &str, rows: &[Row]) -> io::Result<()> {
    let mut per_task: BTreeMap<&str, usize> = BTreeMap::new();
    let out: Vec<Value> = rows
        .iter()
        .map(|r| {
            let n = per_task.entry(r.task.as_str()).or_default();
            *n += 1;
            row(r, format!("{}_{:04}", r.task, n))
        })
        .collect();
    let text = serde_json::to_string_pretty(&out).expect("rows serialise") + "\n";
    write_file_atomic(&dir.join(format!("{name}.json")), text.as_bytes())?;
    video_links::write(&dir.join("videos"), rows).map(|_| ())
}
