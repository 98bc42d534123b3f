//! The benchmark as an lmms-eval task folder, for `lmms-eval --include_path
//! <folder> --tasks <name>`: a task per benchmark task (`<name>_cmar` …),
//! a group `<name>` of all eight and `<name>_closed` of the six scored by
//! accuracy, the items per task (`data/<TASK>.jsonl`), `utils.py`, and
//! `prompts.json` (the responder's instruction per task and the judge's
//! rubrics, as maflow uses them).
//!
//! `utils.py` parses replies as maflow does ([`crate::language::answers`]);
//! the open tasks are judged by an OpenAI-compatible endpoint named in
//! `MAFLOW_JUDGE_BASE_URL` / `MAFLOW_JUDGE_MODEL` / `MAFLOW_JUDGE_API_KEY`,
//! with maflow's rubrics.

use std::io;
use std::path::Path;

use maflow_engine::store::write_file_atomic;

use super::{Row, jsonl, per_task, python_files};
use crate::language::qa::item::CLOSED;

/// The scoring and prompting functions the task YAMLs name (with [`python_files::REPLIES`] put in).
pub const UTILS: &str = include_str!("lmms_eval_utils.py");

/// Writes the folder.
pub fn write(dir: &Path, name: &str, rows: &[Row]) -> io::Result<()> {
    python_files::write_prompts(dir)?;
    python_files::write(dir, "utils.py", UTILS)?;
    let data = std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .join("data");
    let tasks = per_task(rows);
    for (task, _) in &tasks {
        write_file_atomic(
            &dir.join("data").join(format!("{task}.jsonl")),
            jsonl(rows.iter().filter(|r| r.task == *task)).as_bytes(),
        )?;
        let closed = CLOSED.contains(task);
        let metrics = if closed {
            "  - metric: accuracy\n    aggregation: mean\n    higher_is_better: true\n".to_string()
        } else {
            (1..=3)
                .map(|k| {
                    format!("  - metric: L{k}\n    aggregation: mean\n    higher_is_better: true\n")
                })
                .collect()
        };
        let yaml = format!(
            "# {task} of {name}, written by maflow's `harness-export`.\n\
             task: {name}_{lower}\n\
             dataset_path: json\n\
             dataset_kwargs:\n  data_files:\n    test: {file}\n\
             test_split: test\n\
             output_type: generate_until\n\
             doc_to_visual: !function utils.doc_to_visual\n\
             doc_to_text: !function utils.doc_to_text\n\
             doc_to_target: answer\n\
             process_results: !function utils.process_results\n\
             generation_kwargs:\n  max_new_tokens: {tokens}\n  temperature: 0\n  do_sample: false\n\
             metric_list:\n{metrics}",
            lower = task.to_lowercase(),
            file = yaml_string(&data.join(format!("{task}.jsonl")).display().to_string()),
            tokens = if closed { 16 } else { 1024 },
        );
        write_file_atomic(
            &dir.join(format!("{name}_{}.yaml", task.to_lowercase())),
            yaml.as_bytes(),
        )?;
    }
    let group = |suffix: &str, only_closed: bool| {
        let members: String = tasks
            .iter()
            .filter(|(t, _)| !only_closed || CLOSED.contains(t))
            .map(|(t, _)| format!("  - {name}_{}\n", t.to_lowercase()))
            .collect();
        format!("group: {name}{suffix}\ntask:\n{members}")
    };
    write_file_atomic(
        &dir.join(format!("{name}.yaml")),
        group("", false).as_bytes(),
    )?;
    write_file_atomic(
        &dir.join(format!("{name}_closed.yaml")),
        group("_closed", true).as_bytes(),
    )
}

/// A YAML double-quoted string.
fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialise")
}
