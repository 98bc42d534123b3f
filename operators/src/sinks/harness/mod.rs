//! `harness-export` (sink): the benchmark in the formats the evaluation
//! harnesses read, under `<out>/exports/`: a Hugging Face `datasets`
//! folder ([`hf_dataset`]), an lmms-eval task folder ([`lmms_eval`]), a
//! VLMEvalKit video dataset ([`vlmevalkit`]) and MA-Bench's own JSON rows
//! with a folder of video links ([`ma_bench_json`]). Every format holds the same rows: the
//! `qa` items in clip order, each with its clip's video path.

pub mod hf_dataset;
pub mod lmms_eval;
pub mod ma_bench_json;
pub mod python_files;
pub mod video_links;
pub mod vlmevalkit;

use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::record_types::{self as records, record};
use crate::common::taxonomy;
use crate::prelude::*;

/// A harness format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `exports/hf-datasets/<name>/`: JSONL and a dataset card, for `datasets.load_dataset`.
    HfDatasets,
    /// `exports/lmms-eval/<name>/`: task YAMLs, `utils.py` and the data, for `lmms-eval --include_path`.
    LmmsEval,
    /// `exports/vlmevalkit/`: `<name>.tsv`, video links and a dataset class, for VLMEvalKit's `run.py`.
    Vlmevalkit,
    /// `exports/ma-bench-json/<name>.json` and `videos/`: the authors' split's rows, for MA-Bench's starter-kit runner.
    MaBenchJson,
}

/// The benchmark for the evaluation harnesses: a Hugging Face `datasets` folder, an lmms-eval task
/// folder (closed tasks scored by accuracy with maflow's answer parsing, open tasks by maflow's
/// judge rubrics), a VLMEvalKit video dataset (TSV, video links, dataset class) and MA-Bench's own JSON rows with a folder of video links
/// (what the starter kit's runner reads), under `<out>/exports/`.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarnessExportConfig {
    /// Formats written: `hf-datasets`, `lmms-eval`, `vlmevalkit`, `ma-bench-json`.
    #[default(vec![Format::HfDatasets, Format::LmmsEval, Format::Vlmevalkit, Format::MaBenchJson])]
    pub formats: Vec<Format>,
    /// Name of the dataset, task group and file (letters, digits and `_`).
    #[default("ma_bench".into())]
    pub name: String,
}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "harness-export",
    section: Section::Sinks,
    version: 1,
    doc: HarnessExportConfig::DOC,
    inputs: &[Port::new("qa", record(records::QA)).hint(records::QA.hint)],
    output: None,
    params: HarnessExportConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: HarnessExportConfig = parse_params(params)?;
    if config.name.is_empty()
        || !config
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(vec![
            param_error(
                params,
                "name",
                format!(
                    "`{}` is not a harness name: use letters, digits and `_`",
                    config.name
                ),
            )
            .with_help("e.g. `name: ma_bench`"),
        ]);
    }
    if config.formats.is_empty() {
        return Err(vec![
            param_error(params, "formats", "no format to write")
                .with_help("e.g. `formats: [hf-datasets, lmms-eval]`"),
        ]);
    }
    Ok(Built::new(
        &config.clone(),
        Runtime::RecordSink(Arc::new(HarnessExport { config })),
    ))
}

struct HarnessExport {
    config: HarnessExportConfig,
}

/// One item as every harness gets it.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Position in the benchmark, from 0.
    pub index: usize,
    /// Item id, `<clip>-<task>-<n>`.
    pub id: String,
    /// Clip id.
    pub clip: String,
    /// The clip's video, as an absolute path.
    pub video: String,
    /// Task (`CMAR` … `MARE`).
    pub task: String,
    /// The question.
    pub question: String,
    /// Options, lettered A.. in order; empty for yes/no and open items.
    pub options: Vec<String>,
    /// The answer: an option letter or `yes`/`no`; empty for open items.
    pub answer: String,
    /// Reference answer of open items; empty for closed ones.
    pub reference: String,
    /// The clip's body level, when labelled.
    pub level: String,
    /// The clip's action, when labelled.
    pub action: String,
    /// The facts behind the answer, as JSON text.
    pub provenance: String,
}

/// What every row of one clip shares: its id, video path, level and action.
struct ClipFields {
    id: String,
    video: String,
    level: String,
    action: String,
}

impl ClipFields {
    fn of(clip: &Clip) -> Self {
        let action = clip.label.and_then(taxonomy::action);
        let video = std::fs::canonicalize(&clip.path).unwrap_or_else(|_| clip.path.clone());
        ClipFields {
            id: clip.id.clone(),
            video: video.display().to_string(),
            level: action
                .map(|a| a.body_level().name.to_string())
                .unwrap_or_default(),
            action: action.map(|a| a.name.to_string()).unwrap_or_default(),
        }
    }
}

impl Row {
    fn new(index: usize, clip: &ClipFields, item: &Value) -> Self {
        let text = |k: &str| item[k].as_str().unwrap_or_default().to_string();
        Row {
            index,
            id: text("id"),
            clip: clip.id.clone(),
            video: clip.video.clone(),
            task: text("task"),
            question: text("question"),
            options: item["options"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            answer: text("answer"),
            reference: text("reference"),
            level: clip.level.clone(),
            action: clip.action.clone(),
            provenance: item["provenance"].to_string(),
        }
    }
}

impl RecordSink for HarnessExport {
    fn open(&self, dir: &Path, _node_id: &str) -> io::Result<Box<dyn SinkWriter>> {
        Ok(Box::new(Writer {
            config: self.config.clone(),
            dir: dir.join("exports"),
            rows: Vec::new(),
        }))
    }
}

struct Writer {
    config: HarnessExportConfig,
    dir: PathBuf,
    rows: Vec<Row>,
}

impl SinkWriter for Writer {
    fn write(&mut self, _clip: &str, _record: &Value) -> io::Result<()> {
        Ok(())
    }

    fn write_inputs(&mut self, clip: &Clip, records: &[Option<&Value>]) -> io::Result<()> {
        let items = records[0]
            .and_then(|r| r["items"].as_array())
            .filter(|items| !items.is_empty());
        if let Some(items) = items {
            let fields = ClipFields::of(clip);
            for item in items {
                self.rows.push(Row::new(self.rows.len(), &fields, item));
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        let name = &self.config.name;
        for format in &self.config.formats {
            match format {
                Format::HfDatasets => {
                    hf_dataset::write(&self.dir.join("hf-datasets").join(name), name, &self.rows)?
                }
                Format::LmmsEval => {
                    lmms_eval::write(&self.dir.join("lmms-eval").join(name), name, &self.rows)?
                }
                Format::Vlmevalkit => {
                    vlmevalkit::write(&self.dir.join("vlmevalkit"), name, &self.rows)?
                }
                Format::MaBenchJson => {
                    ma_bench_json::write(&self.dir.join("ma-bench-json"), name, &self.rows)?
                }
            }
        }
        Ok(())
    }
}

/// Rows as JSON Lines.
pub fn jsonl<'a>(rows: impl IntoIterator<Item = &'a Row>) -> String {
    rows.into_iter()
        .map(|r| serde_json::to_string(r).expect("rows serialise") + "\n")
        .collect()
}

/// Items per task, in [`crate::language::qa::item::TASKS`] order (tasks with none left out).
pub fn per_task(rows: &[Row]) -> Vec<(&'static str, usize)> {
    crate::language::qa::item::TASKS
        .iter()
        .map(|t| (*t, rows.iter().filter(|r| r.task == *t).count()))
        .filter(|(_, n)| *n > 0)
        .collect()
}
