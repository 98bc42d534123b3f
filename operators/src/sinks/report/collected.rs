//! What a report gathers, clip by clip: the items it lists and what the
//! scores and confusion matrices need of every judged answer; and what it
//! shows of the run (the clips, the failures and what they cost).

use std::collections::BTreeMap;

use maflow_engine::registry::{RunInfo, SinkFailure};
use serde_json::Value;

use super::recognition;
use super::score::{ModelScores, readable};
use crate::language::oracle::UNDECIDED;

/// Everything a report needs, gathered clip by clip and kept small: whole
/// items only for the first `max_items` (the ones the HTML lists), the
/// CMAR/FMAR items' options and answers for the confusion matrices, and of
/// each judged answer what the scores need; memory stays far below the
/// benchmark's size.
#[derive(Default)]
pub struct Collected {
    /// Items in clip order: the listed ones whole, then CMAR/FMAR ones without provenance.
    pub items: Vec<Value>,
    /// Items in all.
    pub total_items: usize,
    /// Per (model, judge): its judged records, one per clip.
    pub judged: BTreeMap<(String, String), Vec<Value>>,
}

impl Collected {
    /// Recognition per action: the rows, the models' names (in the rows' order) and the undecided replies.
    pub fn by_action(
        &self,
    ) -> (
        Vec<recognition::ActionRow>,
        Vec<&str>,
        recognition::Undecided,
    ) {
        let items: BTreeMap<&str, &Value> = self
            .items
            .iter()
            .filter_map(|i| Some((i["id"].as_str()?, i)))
            .collect();
        let models: Vec<(&str, &[Value])> = self
            .judged
            .iter()
            .map(|((m, _), r)| (m.as_str(), r.as_slice()))
            .collect();
        let (rows, undecided) = recognition::by_action(&items, &models);
        (rows, models.iter().map(|(m, _)| *m).collect(), undecided)
    }

    pub(super) fn add(&mut self, qa: &Value, judged: &[Option<&Value>], max_items: usize) {
        let mut listed = std::collections::BTreeSet::new();
        for item in qa["items"].as_array().into_iter().flatten() {
            self.total_items += 1;
            let recognition = matches!(item["task"].as_str(), Some("CMAR" | "FMAR"));
            if self.total_items <= max_items {
                listed.insert(item["id"].as_str().unwrap_or("").to_string());
                self.items.push(item.clone());
            } else if recognition {
                let mut kept = fields(item, &["id", "clip", "task", "options", "answer"]);
                kept["action"] = item["provenance"]["action"].clone();
                self.items.push(kept);
            }
        }
        for record in judged.iter().flatten() {
            let key = (
                record["model"].as_str().unwrap_or("model").to_string(),
                record["judge"].as_str().unwrap_or("").to_string(),
            );
            let rows: Vec<Value> = record["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|row| {
                    if listed.contains(row["id"].as_str().unwrap_or("")) {
                        return row.clone();
                    }
                    // Scores need the task, the result and whether the reply was read; the confusion matrices the CMAR/FMAR choices.
                    match row["task"].as_str() {
                        Some("CMAR" | "FMAR") => {
                            let mut kept = fields(row, &["id", "task", "correct", "parsed"]);
                            // Options named as equally fitting, for the per-action view.
                            if let Some(reply) =
                                row["reply"].as_str().filter(|r| r.contains(UNDECIDED))
                            {
                                kept["reply"] = reply.into();
                            }
                            kept
                        }
                        _ => {
                            let mut kept = fields(row, &["task", "correct", "L1", "L2", "L3"]);
                            kept["parsed"] = Value::Bool(readable(row));
                            kept
                        }
                    }
                })
                .collect();
            self.judged
                .entry(key)
                .or_default()
                .push(serde_json::json!({"items": rows}));
        }
    }
}

/// An object with only the named fields.
fn fields(v: &Value, keep: &[&str]) -> Value {
    v.as_object().map_or(Value::Null, |o| {
        o.iter()
            .filter(|(k, _)| keep.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
}

/// What the report covers: clips and items shown, and the clips this run could not compute.
pub struct Shown<'a> {
    /// Clips with items.
    pub clips: usize,
    /// Items in all.
    pub items: usize,
    /// Failures upstream of the report, in clip order.
    pub failures: &'a [SinkFailure],
    /// What ran (the HTML's run details).
    pub run: Option<&'a RunInfo>,
}

impl Shown<'_> {
    /// Clips shown from an earlier run because this run's chain failed for them.
    pub fn kept(&self) -> usize {
        let clips: std::collections::BTreeSet<&str> = self
            .failures
            .iter()
            .filter(|f| f.kept)
            .map(|f| f.error.clip.as_str())
            .collect();
        clips.len()
    }

    /// One sentence on what the failures cost, if any.
    pub fn summary(&self) -> Option<String> {
        if self.failures.is_empty() {
            return None;
        }
        let kept = self.kept();
        Some(format!(
            "{} item failures in this run; {kept} clips are shown as the last run that computed them left them, the others are left out (see Failures).",
            self.failures.len()
        ))
    }
}

/// How a failure shows in the report.
pub fn failure_effect(f: &SinkFailure) -> &'static str {
    if f.kept {
        "shown from an earlier run"
    } else {
        "left out"
    }
}

/// The parse-rate line of each model, flagged where most replies could not be read.
pub fn parse_lines(scores: &[ModelScores]) -> Vec<(String, bool)> {
    scores
        .iter()
        .filter_map(|s| {
            let rate = s.parse_rate()?;
            let flag = s.mostly_unparsed();
            let mut line = format!("{} (judge: {}): {rate:.0}% of {} replies could be read", s.model, s.judge, s.parsed.1);
            if flag {
                line.push_str(": most replies do not parse, so its scores say how it answers, not what it knows");
            }
            Some((line, flag))
        })
        .collect()
}
