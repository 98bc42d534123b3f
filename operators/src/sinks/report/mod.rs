//! `report` (sink): scores every judged model and writes `scores.csv`,
//! `report.md` and `report.html`: what ran, the results table in the
//! paper's column order beside the published rows (`results_table`), the
//! charts (`charts`), the recognition views, the items with their
//! pictures, each model's reply and the provenance, and the failures.
//! What the report gathers is `collected`; the two pages are `markdown`
//! and `html`.

mod charts;
mod collected;
mod exports;
mod html;
mod markdown;
pub mod recognition;
pub mod results_table;
pub mod score;
pub mod selection;

use std::io;
use std::path::{Path, PathBuf};

use maflow_engine::registry::{RunInfo, SinkFailure};
use maflow_engine::store::write_file_atomic;
use serde_json::Value;

use crate::common::record_types::{self as records, record};
use crate::prelude::*;
use collected::{Collected, Shown};
use score::{COLUMNS, ModelScores, score_model};

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

/// What the HTML lists of each item: from the report's params.
pub struct Listing<'a> {
    /// Folder with `<clip>.png` thumbnails.
    pub thumbnails: &'a Path,
    /// Folders with `<clip>.png` motion pictures.
    pub pictures: &'a [PathBuf],
    /// Items listed at most.
    pub max_items: usize,
}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "report",
    section: Section::Sinks,
    version: 1,
    doc: ReportConfig::DOC,
    inputs: &[
        Port::new("qa", record(records::QA)).hint(records::QA.hint),
        Port::new("judged...", record(records::JUDGEMENTS)).hint(records::JUDGEMENTS.hint),
    ],
    output: None,
    params: ReportConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: ReportConfig = parse_params(params)?;
    Ok(Built::new(
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
            markdown::report_md(&scores, &collected, &shown).as_bytes(),
        )?;
        let listing = Listing {
            thumbnails: &self.config.thumbnails,
            pictures: &self.config.pictures,
            max_items: self.config.max_items,
        };
        let html = html::render(&scores, &collected, &self.dir, &listing, &shown);
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

#[cfg(test)]
mod tests {
    use super::collected::parse_lines;
    use super::score::Metric;
    use super::*;
    use std::collections::BTreeMap;

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
