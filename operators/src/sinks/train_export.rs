//! `train-export` (sink): the cross-subject training split with its
//! descriptions, as a dataset LLaMA-Factory loads as is: `train/ma52_describe.json`
//! (ShareGPT-style records with the video path), `train/dataset_info.json`
//! and `train/qwen3vl_lora_sft.yaml`, the fine-tuning recipe of the reference.
//!
//! A clip enters only if its split is `train` and its participant appears in
//! no evaluation clip of the run (`val`/`test`): no evaluation participant is
//! ever trained on.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use maflow_engine::store::write_file_atomic;
use serde_json::{Value, json};

use crate::common::record_types::{self as records, record};
use crate::language::qa::recognition::MADU_QUESTION;
use crate::prelude::*;

/// Cross-subject training export for LLaMA-Factory: train-split clips whose participant is in no
/// evaluation clip, with their descriptions, as ShareGPT-style records with video paths, plus
/// `dataset_info.json` and a LoRA SFT config mirroring the reference recipe.
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
    version: 1,
    doc: TrainExportConfig::DOC,
    inputs: &[
        Port::new(0, "description", record(records::DESCRIPTION)).hint(records::DESCRIPTION.hint)
    ],
    output: None,
    params: TrainExportConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: TrainExportConfig = parse_params(params)?;
    Ok(built(
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
            eval_participants: BTreeSet::new(),
        }))
    }
}

struct Writer {
    config: TrainExportConfig,
    dir: PathBuf,
    train: Vec<(Clip, String)>,
    eval_participants: BTreeSet<String>,
}

impl SinkWriter for Writer {
    fn write(&mut self, _clip: &str, _record: &Value) -> io::Result<()> {
        Ok(())
    }

    fn write_inputs(&mut self, clip: &Clip, records: &[Option<&Value>]) -> io::Result<()> {
        match clip.split.as_deref() {
            Some("train") => {
                if let Some(text) = records[0].and_then(|r| r["description"].as_str()) {
                    self.train.push((clip.clone(), text.to_string()));
                }
            }
            _ => {
                if let Some(p) = &clip.participant {
                    self.eval_participants.insert(p.clone());
                }
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        let records: Vec<Value> = self
            .train
            .iter()
            .filter(|(c, _)| {
                c.participant
                    .as_ref()
                    .is_none_or(|p| !self.eval_participants.contains(p))
            })
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
