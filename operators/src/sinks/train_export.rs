//! `train-export` (sink): the cross-subject training split with its
//! descriptions, as a dataset LLaMA-Factory loads as is: `train/ma52_describe.json`
//! (ShareGPT-style records with the video path), `train/dataset_info.json`
//! and `train/qwen3vl_lora_sft.yaml`, the fine-tuning recipe of the reference.
//!
//! A clip enters only if its split is `train`, it has no benchmark items,
//! and its participant has no evaluation clip (`val`/`test`) and no clip
//! with items: whatever the splits say, nothing in the benchmark is ever
//! trained on. What it leaves out, and why, is in its notes (`run.json`,
//! the report).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use maflow_engine::store::write_file_atomic;
use serde_json::{Value, json};

use crate::common::record_types::{self as records, record};
use crate::language::qa::recognition::MADU_QUESTION;
use crate::prelude::*;

/// Cross-subject training export for LLaMA-Factory: train-split clips with no benchmark item and
/// whose participant has no evaluation clip and no clip with items, with their descriptions, as
/// ShareGPT-style records with video paths, plus `dataset_info.json` and a LoRA SFT config
/// mirroring the reference recipe.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainExportConfig {
    /// Dataset name in `dataset_info.json`.
    #[default("ma52_describe".into())]
    pub dataset: String,
    /// Base model of the training config.
    #[default("Qwen/Qwen3-VL-8B-Instruct".into())]
    pub model: String,
}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "train-export",
    section: Section::Sinks,
    version: 2,
    doc: TrainExportConfig::DOC,
    inputs: &[
        Port::new("description", record(records::DESCRIPTION)).hint(records::DESCRIPTION.hint),
        Port::new("qa", record(records::QA)).hint(records::QA.hint),
    ],
    output: None,
    params: TrainExportConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: TrainExportConfig = parse_params(params)?;
    Ok(Built::new(
        &config.clone(),
        Runtime::RecordSink(Arc::new(TrainExport { config })),
    ))
}

struct TrainExport {
    config: TrainExportConfig,
}

impl RecordSink for TrainExport {
    fn open(&self, dir: &Path, _node_id: &str) -> io::Result<Box<dyn SinkWriter>> {
        Ok(Box::new(Writer {
            config: self.config.clone(),
            dir: dir.join("train"),
            train: Vec::new(),
            held: BTreeMap::new(),
        }))
    }
}

/// Why a clip is kept out of training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Held {
    /// It has benchmark items.
    Items,
    /// Its QA failed in this run: whether it has items is unknown.
    Unknown,
    /// It is an evaluation clip (split `val`/`test`, or any split but `train`).
    Evaluation,
}

impl Held {
    fn why(self) -> &'static str {
        match self {
            Held::Items => "it has benchmark items",
            Held::Unknown => "its QA items were not computed, so it may be in the benchmark",
            Held::Evaluation => "it is an evaluation clip",
        }
    }
}

/// A training clip: the clip, its description, and whether it has to stay out itself.
type Candidate = (Clip, Option<String>, Option<Held>);

struct Writer {
    config: TrainExportConfig,
    dir: PathBuf,
    train: Vec<Candidate>,
    /// Per participant of a clip that is held out: the strongest reason.
    held: BTreeMap<String, Held>,
}

impl Writer {
    /// Each training clip with the reason it is left out, if it is.
    fn decided(&self) -> Vec<(&Clip, Option<&str>, Option<String>)> {
        self.train
            .iter()
            .map(|(clip, text, own)| {
                let why = match (
                    own,
                    clip.participant.as_ref().and_then(|p| self.held.get(p)),
                ) {
                    (Some(own), _) => Some(own.why().to_string()),
                    (None, Some(held)) => Some(format!(
                        "its participant {} has a clip that is held out ({})",
                        clip.participant.as_deref().unwrap_or_default(),
                        held.why()
                    )),
                    (None, None) if text.is_none() => {
                        Some("its description was not computed".to_string())
                    }
                    (None, None) => None,
                };
                (clip, text.as_deref(), why)
            })
            .collect()
    }
}

impl SinkWriter for Writer {
    fn write(&mut self, _clip: &str, _record: &Value) -> io::Result<()> {
        Ok(())
    }

    fn write_inputs(&mut self, clip: &Clip, records: &[Option<&Value>]) -> io::Result<()> {
        let items = records
            .get(1)
            .copied()
            .flatten()
            .map(|qa| qa["items"].as_array().is_some_and(|i| !i.is_empty()));
        let held = match (clip.split.as_deref(), items) {
            (_, Some(true)) => Some(Held::Items),
            (_, None) => Some(Held::Unknown),
            (Some("train"), Some(false)) => None,
            (_, Some(false)) => Some(Held::Evaluation),
        };
        if let (Some(held), Some(p)) = (held, &clip.participant) {
            let strongest = self.held.entry(p.clone()).or_insert(held);
            *strongest = (*strongest).min(held);
        }
        if clip.split.as_deref() == Some("train") {
            let text = records[0]
                .and_then(|r| r["description"].as_str())
                .map(String::from);
            self.train.push((clip.clone(), text, held));
        }
        Ok(())
    }

    fn notes(&mut self) -> Option<Value> {
        let decided = self.decided();
        let written = decided.iter().filter(|(_, _, why)| why.is_none()).count();
        let mut left_out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (clip, _, why) in &decided {
            if let Some(why) = why {
                left_out.entry(why.as_str()).or_default().push(&clip.id);
            }
        }
        let participants: BTreeSet<&str> = self.held.keys().map(String::as_str).collect();
        Some(json!({
            "summary": format!(
                "The training export holds {written} of {} training-split clips; {} left out so that no clip and no participant is on both sides.",
                decided.len(),
                decided.len() - written
            ),
            "written": written,
            "left_out": left_out.iter().map(|(why, clips)| json!({"why": why, "clips": clips})).collect::<Vec<_>>(),
            "held_out_participants": participants,
        }))
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        let records: Vec<Value> = self
            .decided()
            .into_iter()
            .filter_map(|(clip, text, why)| Some((clip, text?)).filter(|_| why.is_none()))
            .map(|(c, text)| {
                let video = std::fs::canonicalize(&c.path).unwrap_or_else(|_| c.path.clone());
                json!({
                    "messages": [
                        {"role": "user", "content": format!("<video>{MADU_QUESTION}")},
                        {"role": "assistant", "content": text},
                    ],
                    "videos": [video.display().to_string()],
                })
            })
            .collect();
        let file = format!("{}.json", self.config.dataset);
        write_file_atomic(
            &self.dir.join(&file),
            (serde_json::to_string_pretty(&records).expect("serialises") + "\n").as_bytes(),
        )?;
        let info = json!({self.config.dataset.clone(): {
            "file_name": file,
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "videos": "videos"},
            "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
        }});
        write_file_atomic(
            &self.dir.join("dataset_info.json"),
            (serde_json::to_string_pretty(&info).expect("serialises") + "\n").as_bytes(),
        )?;
        let config = format!(
            "# LoRA SFT on the cross-subject training split ({n} clips), the reference recipe.\n\
             model_name_or_path: {model}\n\
             stage: sft\n\
             do_train: true\n\
             finetuning_type: lora\n\
             lora_rank: 8\n\
             lora_alpha: 16\n\
             lora_dropout: 0.0\n\
             # the visual encoder and the last two text layers\n\
             freeze_vision_tower: false\n\
             lora_target: all\n\
             additional_target: null\n\
             dataset_dir: .\n\
             dataset: {dataset}\n\
             template: qwen3_vl\n\
             video_fps: 3.0\n\
             video_min_pixels: 16384   # 16 x 32 x 32\n\
             video_max_pixels: 1310720 # 1280 x 32 x 32\n\
             cutoff_len: 131072\n\
             optim: adamw_torch\n\
             bf16: true\n\
             lr_scheduler_type: cosine\n\
             learning_rate: 5.0e-5\n\
             num_train_epochs: 1.0\n\
             warmup_steps: 0\n\
             per_device_train_batch_size: 2\n\
             gradient_accumulation_steps: 8\n\
             max_grad_norm: 1.0\n\
             output_dir: saves/qwen3vl-8b-lora-ma52\n",
            n = records.len(),
            model = self.config.model,
            dataset = self.config.dataset
        );
        write_file_atomic(&self.dir.join("qwen3vl_lora_sft.yaml"), config.as_bytes())
    }
}
