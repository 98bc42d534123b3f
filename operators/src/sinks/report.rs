//! `report` (sink): scores every judged model and writes `scores.csv`,
//! `report.md` and `report.html`: what ran, the results table in the
//! paper's column order beside the published rows (`results_table`), the
//! charts (`report_charts`), the recognition views, the items with their
//! pictures, each model's reply and the provenance, and the failures.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use maflow_engine::store::write_file_atomic;
use serde_json::Value;

use super::results_table::{FINAL_RULE, Row, flat_header, footnote, format, is_best, table};
use super::{recognition, report_html};
use crate::common::record_types::{self as records, record};
use crate::language::oracle::UNDECIDED;
use crate::language::score::{COLUMNS, ModelScores, readable, score_model};
use crate::prelude::*;
use maflow_engine::registry::{RunInfo, SinkFailure};

/// Scores and reports: from the qa items and one `judge` output per model, writes `scores.csv`,
/// `report.md` and `report.html` (run details; the table in the paper's grouped layout with 95%
/// bootstrap intervals and item counts beside the published rows; charts with error bars; CMAR level
/// confusions and FMAR's wrong picks; the items with thumbnails, motion pictures, replies and filters;
/// the failures). Accuracy per closed task and AVG; L1..L3 per open task and their mean.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Bootstrap resamples for the 95% intervals.
    #[default(1000)]
    pub resamples: usize,
    /// Seed of the bootstrap.
    #[serde(default)]
    pub seed: u64,
    /// Folder (in the run's output folder) with `<clip>.png` thumbnails, e.g. a contact-sheet sink's.
    #[default("contact-sheets".into())]
    pub thumbnails: PathBuf,
    /// Folders (in the run's output folder) with `<clip>.png` motion pictures (pose overlay and motion
    /// plot, flow, mask) shown beside each clip's items; linked, not embedded, so the page stays small.
    #[default(vec!["pictures".into(), "flow".into(), "segment".into()])]
    pub pictures: Vec<PathBuf>,
    /// Items shown in the HTML at most (their thumbnails are embedded).
    #[default(240)]
    pub max_items: usize,
}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "report",
    section: Section::Sinks,
    version: 1,
    doc: ReportConfig::DOC,
    inputs: &[
        Port::new(0, "qa", record(records::QA)).hint(records::QA.hint),
        Port::new(1, "judged...", record(records::JUDGEMENTS)).hint(records::JUDGEMENTS.hint),
    ],
    output: None,
    params: ReportConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: ReportConfig = parse_params(params)?;
    Ok(built(
        &config.clone(),
        Runtime::RecordSink(Arc::new(Report { config })),
    ))
}

struct Report {
    config: ReportConfig,
}

impl RecordSink for Report {
    fn open(&self, dir: &Path, _node_id: &str) -> io::Result<Box<dyn SinkWriter>> {
        Ok(Box::new(ReportWriter {
            config: self.config.clone(),
            dir: dir.to_path_buf(),
            collected: Collected::default(),
            clips: 0,
            failures: Vec::new(),
            run: None,
        }))
    }
}

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

    fn add(&mut self, qa: &Value, judged: &[Option<&Value>], max_items: usize) {
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

struct ReportWriter {
    config: ReportConfig,
    dir: PathBuf,
    collected: Collected,
    clips: usize,
    failures: Vec<SinkFailure>,
    run: Option<RunInfo>,
}

impl SinkWriter for ReportWriter {
    fn write(&mut self, _clip: &str, _record: &Value) -> io::Result<()> {
        Ok(())
    }

    fn write_inputs(&mut self, _clip: &Clip, records: &[Option<&Value>]) -> io::Result<()> {
        // Clips without items (failed, or outside the qa's splits) are not part of the benchmark.
        let Some(qa) = records[0].filter(|qa| {
            qa["items"]
                .as_array()
                .is_some_and(|items| !items.is_empty())
        }) else {
            return Ok(());
        };
        self.clips += 1;
        self.collected.add(qa, &records[1..], self.config.max_items);
        Ok(())
    }

    fn run_info(&mut self, run: &RunInfo) {
        self.run = Some(run.clone());
    }

    fn failures(&mut self, failures: &[SinkFailure]) {
        self.failures = failures.to_vec();
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        let collected = self.collected;
        let scores: Vec<ModelScores> = collected
            .judged
            .iter()
            .map(|((model, judge), records)| {
                let refs: Vec<&Value> = records.iter().collect();
                score_model(model, judge, &refs, self.config.resamples, self.config.seed)
            })
            .collect();
        write_file_atomic(&self.dir.join("scores.csv"), scores_csv(&scores).as_bytes())?;
        let shown = Shown {
            clips: self.clips,
            items: collected.total_items,
            failures: &self.failures,
            run: self.run.as_ref(),
        };
        write_file_atomic(
            &self.dir.join("report.md"),
            report_md(&scores, &collected, &shown).as_bytes(),
        )?;
        let html = report_html::render(&scores, &collected, &self.dir, &self.config, &shown);
        write_file_atomic(&self.dir.join("report.html"), html.as_bytes())
    }
}

/// `scores.csv`: one row per model, metric: value, interval, items.
pub fn scores_csv(scores: &[ModelScores]) -> String {
    let mut out = String::from("model,judge,metric,value,ci_low,ci_high,n\n");
    for s in scores {
        for col in COLUMNS {
            if let Some(m) = s.metrics.get(col) {
                out.push_str(&format!(
                    "{},{},{col},{:.2},{:.2},{:.2},{}\n",
                    csv(&s.model),
                    csv(&s.judge),
                    m.value,
                    m.low,
                    m.high,
                    m.n
                ));
            }
        }
        if let Some(rate) = s.parse_rate() {
            out.push_str(&format!(
                "{},{},PARSED,{rate:.2},,,{}\n",
                csv(&s.model),
                csv(&s.judge),
                s.parsed.1
            ));
        }
    }
    out
}

fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
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

fn report_md(scores: &[ModelScores], collected: &Collected, shown: &Shown<'_>) -> String {
    let (clips, items) = (shown.clips, shown.items);
    let mut out = format!(
        "# Benchmark report\n\n{clips} clips, {items} items. Accuracy in %, judge scores 0..5; 95% bootstrap intervals over clips in `scores.csv`.\n\n"
    );
    if let Some(summary) = shown.summary() {
        out.push_str(&format!("**{summary}**\n\n"));
    }
    let t = table(scores);
    out.push_str("## Results\n\nThis run: value [95% bootstrap interval over clips] and the items behind it; the best value of each column in bold.\n\n| model |");
    for c in 0..COLUMNS.len() {
        out.push_str(&format!(" {} |", flat_header(c)));
    }
    out.push_str(&format!("\n|---|{}\n", "---|".repeat(COLUMNS.len())));
    let md_row = |row: &Row| {
        let cells: Vec<String> = row
            .cells
            .iter()
            .enumerate()
            .map(|(c, cell)| match cell {
                None => "-".to_string(),
                Some(x) => {
                    let v = format(x.value);
                    let mut text = if is_best(&t, row, c, x.value) {
                        format!("**{v}**")
                    } else {
                        v
                    };
                    if let Some((lo, hi)) = x.interval {
                        text.push_str(&format!(" [{}, {}]", format(lo), format(hi)));
                    }
                    if let Some(n) = x.n {
                        text.push_str(&format!(" n={n}"));
                    }
                    text
                }
            })
            .collect();
        format!("| {} | {} |\n", row.name, cells.join(" | "))
    };
    out.push_str(&format!("| *this run* |{}\n", " |".repeat(COLUMNS.len())));
    for row in &t.ours {
        out.push_str(&md_row(row));
    }
    out.push_str(&format!(
        "| *published (MA-Bench)*¹ |{}\n",
        " |".repeat(COLUMNS.len())
    ));
    for row in &t.published {
        out.push_str(&md_row(row));
    }
    out.push_str(&format!("\n¹ {}\n\n{FINAL_RULE}\n\n", footnote(&t)));
    for (line, flag) in parse_lines(scores) {
        out.push_str(&format!(
            "- {}{line}\n",
            if flag { "**Warning:** " } else { "" }
        ));
    }
    out.push_str("\nScores from the `rules` judge are an offline proxy for an LLM judge and are not comparable with the published judge scores.\n");
    let (rows, models, undecided) = collected.by_action();
    out.push_str(&recognition::markdown(&rows, &models, &undecided));
    out.push_str(&super::report_selection::markdown(
        shown.run.map_or(&[][..], |r| &r.sources),
    ));
    out.push_str(&super::report_exports::markdown(
        shown.run.map_or(&[][..], |r| &r.sinks),
    ));
    if !shown_failures(&mut out, shown.failures) {
        out.push_str("\nEvery clip was computed in this run or taken from the store.\n");
    }
    out
}

/// The failures table; false when there is none.
fn shown_failures(out: &mut String, failures: &[SinkFailure]) -> bool {
    if failures.is_empty() {
        return false;
    }
    out.push_str(&format!(
        "\n## Failures ({})\n\n| clip | operator | cause | in this report |\n|---|---|---|---|\n",
        failures.len()
    ));
    for f in failures {
        let cause = f.error.cause.replace('|', "\\|").replace('\n', " ");
        out.push_str(&format!(
            "| {} | {} | {cause} | {} |\n",
            f.error.clip,
            f.error.operator,
            failure_effect(f)
        ));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::score::Metric;

    #[test]
    fn a_model_whose_replies_mostly_do_not_parse_is_flagged() {
        let judged = serde_json::json!({"items": [
            {"task": "SAD", "parsed": null, "correct": false},
            {"task": "SAD", "parsed": "yes", "correct": true},
            {"task": "MADU", "parsed": "", "L1": 0, "L2": 0, "L3": 0},
            {"task": "MARE", "parsed": false, "L1": 0, "L2": 0, "L3": 0},
        ]});
        let s = score_model("babbler", "rules", &[&judged], 10, 0);
        assert_eq!(s.parsed, (1, 4));
        let lines = parse_lines(&[s]);
        assert!(
            lines[0].1
                && lines[0].0.contains("25% of 4 replies")
                && lines[0].0.contains("do not parse"),
            "{lines:?}"
        );
    }

    #[test]
    fn scores_csv_format_is_pinned() {
        let mut metrics = BTreeMap::new();
        metrics.insert(
            "CMAR".to_string(),
            Metric {
                value: 50.0,
                low: 0.0,
                high: 100.0,
                n: 2,
            },
        );
        metrics.insert(
            "MADU_L1".to_string(),
            Metric {
                value: 2.5,
                low: 1.0,
                high: 4.0,
                n: 2,
            },
        );
        let s = ModelScores {
            model: "a,b".into(),
            judge: "rules".into(),
            metrics,
            parsed: (1, 4),
        };
        assert_eq!(
            scores_csv(&[s]),
            "model,judge,metric,value,ci_low,ci_high,n\n\"a,b\",rules,CMAR,50.00,0.00,100.00,2\n\"a,b\",rules,MADU_L1,2.50,1.00,4.00,2\n\"a,b\",rules,PARSED,25.00,,,4\n"
        );
    }
}
