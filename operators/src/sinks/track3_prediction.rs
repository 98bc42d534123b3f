//! `track3-prediction` (sink): a MAC 2026 Track 3 submission per model,
//! `<out>/<spec>/<id>/prediction-<model>.json`: `prompts` (each task's
//! system prompt, as sent) and `answers` (every qid of the benchmark once,
//! with its `pred_answer`). A closed answer is the option letter or
//! `Yes`/`No` as read from the reply, else the reply itself; an open one is
//! the reply, reasoning left out.
//!
//! A file that lacks an answer is not a submission: it is written as
//! `prediction-<model>.incomplete.json`, every missing qid goes to
//! `errors.jsonl` beside it with its cause, and run.json and the report say
//! so. So does a file holding answers an earlier run made for clips that
//! failed in this one, or answers made with different system prompts. A rerun once the causes are fixed completes it from the store and
//! removes the incomplete file.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use maflow_engine::registry::SinkFailure;
use maflow_engine::store::{remove_file_with_writes, write_file_atomic};
use serde_json::{Value, json};

use crate::common::record_types::{self as records, record};
use crate::language::qa::item::TASKS;
use crate::prelude::*;

/// A Track 3 submission per `responses` input: `prediction-<model>.json` with each task's system
/// prompt as sent and every qid's answer; `.incomplete.json` and `errors.jsonl` while any is missing.
#[configurable]
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Track3PredictionConfig {}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "track3-prediction",
    section: Section::Sinks,
    version: 1,
    doc: Track3PredictionConfig::DOC,
    inputs: &[
        Port::new("qa", record(records::QA)).hint(records::QA.hint),
        Port::new("responses...", record(records::RESPONSES)).hint(records::RESPONSES.hint),
    ],
    output: None,
    params: Track3PredictionConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: Track3PredictionConfig = parse_params(params)?;
    Ok(Built::new(
        &config,
        Runtime::RecordSink(Arc::new(Track3Prediction)),
    ))
}

struct Track3Prediction;

impl RecordSink for Track3Prediction {
    fn open(&self, dir: &Path, node_id: &str) -> io::Result<Box<dyn SinkWriter>> {
        Ok(Box::new(Writer {
            dir: dir.join(node_id),
            node: node_id.to_string(),
            items: Vec::new(),
            models: Vec::new(),
            failures: Vec::new(),
            prepared: None,
        }))
    }
}

/// One benchmark item the submission must answer.
struct Expected {
    qid: String,
    task: String,
    clip: String,
}

/// What one `responses` input gave.
#[derive(Default)]
struct Model {
    name: Option<String>,
    answers: BTreeMap<String, String>,
    /// Per task, the system prompts its answers were made with.
    prompts: BTreeMap<String, BTreeSet<String>>,
}

struct Writer {
    dir: PathBuf,
    node: String,
    items: Vec<Expected>,
    models: Vec<Model>,
    failures: Vec<SinkFailure>,
    prepared: Option<Prepared>,
}

/// The files to write, made once every clip is in.
struct Prepared {
    /// Per model: the file's name, its twin to remove, its text.
    files: Vec<(String, String, String)>,
    /// `errors.jsonl`.
    errors: String,
    /// Per model, what its file is.
    notes: Vec<Value>,
}

/// The answer a submission carries for one reply.
fn pred_answer(task: &str, answer: &Value) -> String {
    let reply = answer["reply"].as_str().unwrap_or("").trim();
    if matches!(task, "MADU" | "MARE") {
        return reply.to_string();
    }
    match answer["parsed"].as_str() {
        Some("yes") => "Yes".into(),
        Some("no") => "No".into(),
        Some(letter) if !letter.is_empty() => letter.into(),
        _ => reply.to_string(),
    }
}

/// A model name as a file name.
fn file_stem(model: &str) -> String {
    model
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
            _ => '_',
        })
        .collect()
}

impl SinkWriter for Writer {
    fn write(&mut self, _clip: &str, _record: &Value) -> io::Result<()> {
        Ok(())
    }

    fn write_inputs(&mut self, clip: &Clip, records: &[Option<&Value>]) -> io::Result<()> {
        // The items to answer: the qa record's, or, where it failed, those the source gave.
        let items = records[0]
            .map(|qa| &qa["items"])
            .or_else(|| clip.given.as_ref().map(|g| &g["items"]));
        for item in items.and_then(Value::as_array).into_iter().flatten() {
            let text = |k: &str| item[k].as_str().unwrap_or("").to_string();
            self.items.push(Expected {
                qid: text("id"),
                task: text("task"),
                clip: clip.id.clone(),
            });
        }
        let inputs = &records[1..];
        if self.models.len() < inputs.len() {
            self.models.resize_with(inputs.len(), Model::default);
        }
        for (model, record) in self.models.iter_mut().zip(inputs) {
            let Some(record) = record else { continue };
            if model.name.is_none() {
                model.name = record["model"].as_str().map(str::to_string);
            }
            for answer in record["answers"].as_array().into_iter().flatten() {
                let task = answer["task"].as_str().unwrap_or("");
                let pred = pred_answer(task, answer);
                if let Some(id) = answer["id"].as_str()
                    && !pred.is_empty()
                {
                    model.answers.insert(id.to_string(), pred);
                }
            }
            for (task, prompt) in record["system_prompts"].as_object().into_iter().flatten() {
                if let Some(prompt) = prompt.as_str() {
                    model
                        .prompts
                        .entry(task.clone())
                        .or_default()
                        .insert(prompt.to_string());
                }
            }
        }
        Ok(())
    }

    fn failures(&mut self, failures: &[SinkFailure]) {
        self.failures = failures.to_vec();
    }

    fn notes(&mut self) -> Option<Value> {
        let notes = &self.prepared().notes;
        match notes.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            many => Some(json!({
                "summary": many.iter().filter_map(|n| n["summary"].as_str()).collect::<Vec<_>>().join(" "),
                "left_out": many.iter().flat_map(|n| n["left_out"].as_array().cloned().unwrap_or_default()).collect::<Vec<_>>(),
                "files": many,
            })),
        }
    }

    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.prepared();
        let prepared = self.prepared.take().expect("prepared above");
        for (file, twin, text) in &prepared.files {
            write_file_atomic(&self.dir.join(file), text.as_bytes())?;
            // The other name goes when this one lands, never before.
            remove_file_with_writes(&self.dir.join(twin))?;
        }
        write_file_atomic(&self.dir.join("errors.jsonl"), prepared.errors.as_bytes())
    }
}

impl Writer {
    /// Why a clip's items have no answer, from this run's failures.
    fn cause(&self, clip: &str) -> String {
        let causes: Vec<String> = self
            .failures
            .iter()
            .filter(|f| f.error.clip == clip)
            .map(|f| format!("{}: {}", f.error.operator, f.error.cause))
            .collect();
        if causes.is_empty() {
            "the model gave no answer to it".into()
        } else {
            causes.join("; ")
        }
    }

    /// Every model's file and `errors.jsonl`, and what they are, made once.
    fn prepared(&mut self) -> &Prepared {
        if self.prepared.is_none() {
            self.prepared = Some(self.prepare());
        }
        self.prepared.as_ref().expect("made above")
    }

    fn prepare(&self) -> Prepared {
        let mut errors = String::new();
        let mut notes = Vec::new();
        let mut files = Vec::new();
        for (k, model) in self.models.iter().enumerate() {
            let name = model
                .name
                .clone()
                .unwrap_or_else(|| format!("input-{}", k + 1));
            let (answers, missing, stale) = self.answers(model);
            let (prompts, mixed) = self.prompts(model);
            let complete = missing.is_empty() && stale.is_empty() && mixed.is_empty();
            let stem = file_stem(&name);
            let (file, twin) = if complete {
                (
                    format!("prediction-{stem}.json"),
                    format!("prediction-{stem}.incomplete.json"),
                )
            } else {
                (
                    format!("prediction-{stem}.incomplete.json"),
                    format!("prediction-{stem}.json"),
                )
            };
            let body = json!({"prompts": prompts, "answers": answers});
            let text = serde_json::to_string_pretty(&body).expect("values serialise") + "\n";
            for (item, cause) in missing.iter().chain(&stale) {
                let line = json!({"model": name, "qid": item.qid, "task": item.task, "video": item.clip, "cause": cause});
                errors.push_str(&(line.to_string() + "\n"));
            }
            let counts = Counts {
                answers: answers.len(),
                missing: &missing,
                stale: &stale,
                mixed: &mixed,
            };
            notes.push(self.note(&name, &file, complete, &counts));
            files.push((file, twin, text));
        }
        Prepared {
            files,
            errors,
            notes,
        }
    }

    /// A model's answers, every qid once in the split's order; the items
    /// without one, and those whose answer was kept from an earlier run, with
    /// the cause.
    #[allow(clippy::type_complexity)]
    fn answers<'a>(
        &'a self,
        model: &Model,
    ) -> (
        Vec<Value>,
        Vec<(&'a Expected, String)>,
        Vec<(&'a Expected, String)>,
    ) {
        let mut missing: Vec<(&Expected, String)> = Vec::new();
        let mut stale: Vec<(&Expected, String)> = Vec::new();
        let mut answers = Vec::with_capacity(self.items.len());
        let mut seen = BTreeSet::new();
        for item in &self.items {
            if !seen.insert(item.qid.as_str()) {
                continue;
            }
            match model.answers.get(&item.qid) {
                Some(pred) => {
                    answers.push(json!({"qid": item.qid, "pred_answer": pred}));
                    // Kept from an earlier run while this one failed: in the file, but not this run's answer.
                    if self
                        .failures
                        .iter()
                        .any(|f| f.kept && f.error.clip == item.clip)
                    {
                        stale.push((
                            item,
                            format!(
                                "{}; the answer kept is an earlier run's",
                                self.cause(&item.clip)
                            ),
                        ));
                    }
                }
                None => missing.push((item, self.cause(&item.clip))),
            }
        }
        (answers, missing, stale)
    }

    /// The system prompt sent for each task the items ask, and the tasks
    /// whose answers were made with more than one.
    fn prompts(&self, model: &Model) -> (Vec<Value>, Vec<&'static str>) {
        let tasks: BTreeSet<&str> = self.items.iter().map(|i| i.task.as_str()).collect();
        let mut prompts = Vec::new();
        let mut mixed = Vec::new();
        for task in TASKS.iter().filter(|t| tasks.contains(**t)) {
            let sent = model.prompts.get(*task).cloned().unwrap_or_default();
            if sent.len() > 1 {
                mixed.push(*task);
            }
            let prompt = sent.into_iter().next().unwrap_or_default();
            prompts.push(json!({"task": task, "system_prompt": prompt}));
        }
        (prompts, mixed)
    }

    /// What a model's file is, for `run.json` and the report.
    fn note(&self, name: &str, file: &str, complete: bool, c: &Counts<'_>) -> Value {
        let (answers, missing, stale, mixed) = (c.answers, c.missing, c.stale, c.mixed);
        let mut left_out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (item, cause) in missing.iter().chain(stale) {
            left_out
                .entry(format!("{cause} ({name})"))
                .or_default()
                .push(item.qid.clone());
        }
        let summary = if complete {
            format!("{file}: a complete Track 3 submission for {name}, {answers} answers.")
        } else if mixed.is_empty() {
            format!(
                "{file}: incomplete, {} of {} answers for {name} from this run; the others' qids and causes are in {}/errors.jsonl. Not a submission until a rerun answers them.",
                answers - stale.len(),
                answers + missing.len(),
                self.node
            )
        } else {
            format!(
                "{file}: incomplete, {name}'s answers were made with different system prompts for {} (records kept from an earlier run); rerun to answer them all with one.",
                mixed.join(", ")
            )
        };
        json!({
            "summary": summary,
            "file": file,
            "complete": complete,
            "answers": answers,
            "missing": missing.len(),
            "kept": stale.len(),
            "left_out": left_out.into_iter().map(|(why, qids)| json!({"why": why, "clips": qids})).collect::<Vec<_>>(),
        })
    }
}

/// A model's answers in numbers: how many, and the items missing, kept from an earlier run, or asked with mixed prompts.
struct Counts<'a> {
    answers: usize,
    missing: &'a [(&'a Expected, String)],
    stale: &'a [(&'a Expected, String)],
    mixed: &'a [&'static str],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_answers_are_letters_or_yes_no_and_open_ones_the_reply() {
        let a = |task: &str, reply: &str, parsed: Value| {
            pred_answer(
                task,
                &json!({"task": task, "reply": reply, "parsed": parsed}),
            )
        };
        assert_eq!(a("SAD", "yes, it does", json!("yes")), "Yes");
        assert_eq!(a("MAS", "No.", json!("no")), "No");
        assert_eq!(a("CMAR", "C. Head", json!("C")), "C");
        // Unreadable: the reply itself, which official scoring marks wrong.
        assert_eq!(
            a("FMAR", "maybe the second", Value::Null),
            "maybe the second"
        );
        assert_eq!(a("MADU", " The head nods. ", json!(true)), "The head nods.");
        assert_eq!(file_stem("Qwen/Qwen3.5-9B"), "Qwen_Qwen3.5-9B");
    }
}
