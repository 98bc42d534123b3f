//! The Python files the exports carry for the harnesses that run Python
//! (lmms-eval's `utils.py`, VLMEvalKit's dataset class), and the
//! `prompts.json` they read. Each file stands alone: the reading of replies
//! and the judging of open answers ([`REPLIES`], the same text in every
//! file) is put in at its `# <maflow: replies>` line.

use std::io;
use std::path::Path;

use maflow_engine::store::write_file_atomic;
use serde_json::json;

use crate::language::prompt::Template;
use crate::language::qa::item::TASKS;
use crate::language::{judge, respond};

/// Prompt text, reply reading and judging, as maflow does them ([`crate::language::answers`]).
pub const REPLIES: &str = include_str!("replies.py");

const MARK: &str = "# <maflow: replies>\n";

/// `file` with [`REPLIES`] at its mark.
pub fn with_replies(file: &str) -> String {
    assert!(file.contains(MARK), "a harness file has the replies mark");
    file.replacen(MARK, REPLIES, 1)
}

/// Writes `dir/<name>` as `file` with [`REPLIES`] put in.
pub fn write(dir: &Path, name: &str, file: &str) -> io::Result<()> {
    write_file_atomic(&dir.join(name), with_replies(file).as_bytes())
}

/// Writes `dir/prompts.json`: the responder's instruction per task and the judge's rubrics.
pub fn write_prompts(dir: &Path) -> io::Result<()> {
    let sections = |text: &str, tasks: &[&str]| {
        let template = Template::load(None, text, &["question", "reference", "answer"])
            .expect("built-in prompts load");
        tasks
            .iter()
            .map(|t| {
                (
                    t.to_string(),
                    json!(template.section(t).unwrap_or_default()),
                )
            })
            .collect::<serde_json::Map<_, _>>()
    };
    let prompts = json!({
        "respond": sections(respond::DEFAULT_PROMPT, &TASKS),
        "judge": sections(judge::DEFAULT_PROMPT, &["MADU", "MARE"]),
    });
    write_file_atomic(
        &dir.join("prompts.json"),
        (serde_json::to_string_pretty(&prompts).expect("serialises") + "\n").as_bytes(),
    )
}
