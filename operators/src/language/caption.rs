//! `caption`: one caption per clip and body part, `{"body_part_motion": {...}}`.
//!
//! Backend `rules` (default) writes them offline from the descriptor and the
//! clip's facts;
//! backend `llm` asks a model once per part with a prompt template (default
//! `pipelines/prompts/caption.md`), giving it the part's per-frame
//! `{vector, coord}` list, the frame count, rate and size.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::backend::{Backend, LlmBackend, WithPrompt, build_llm};
use super::caption_rules;
use super::clip_motion::ClipMotion;
use super::facts::ClipFacts;
use crate::common::body::PARTS;
use crate::language::llm::{Endpoint, Message};
use crate::prelude::*;

/// The built-in caption prompt.
pub const DEFAULT_PROMPT: &str = include_str!("../../../pipelines/prompts/caption.md");

/// Placeholders the caption prompt may use.
pub const PLACEHOLDERS: [&str; 6] = ["part", "num_frames", "fps", "width", "height", "frames"];

/// Part captions: one hierarchical, data-based caption per body part and clip, from a descriptor.
/// First sentence: trajectory, magnitude and main periods in seconds; then direction changes and
/// speeds in px/frame. `rules` writes them offline; `llm` asks a model once per part with a prompt
/// template. Record and file: `{"body_part_motion": {"Head": "...", ...}}`.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptionConfig {
    /// `rules` (offline, deterministic) or `llm`.
    #[serde(default)]
    pub backend: Backend,
    /// Prompt template file for `llm` (default: the built-in `pipelines/prompts/caption.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[example("pipelines/prompts/caption.md")]
    pub prompt: Option<PathBuf>,
    /// The endpoint for `llm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[example(r#"{base_url: http://localhost:8000/v1, model: Qwen3-8B, api_key: "${env:LLM_KEY}"}"#)]
    #[fields(Endpoint)]
    pub llm: Option<Endpoint>,
}

/// Input: the clip's descriptor.
const DESCRIPTOR: RecordIn = RecordIn::new(0, "descriptor");
/// Input: the clip's facts (what counts as moving, for `rules`).
const FACTS: RecordIn = RecordIn::new(1, "facts");

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "caption",
    section: Section::Operators,
    version: 2,
    doc: CaptionConfig::DOC,
    inputs: &[DESCRIPTOR.port(), FACTS.port()],
    output: Some(PortType::Any),
    params: CaptionConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: CaptionConfig = parse_params(params)?;
    let llm = build_llm(params, config.backend, config.llm.as_ref(), config.prompt.as_ref(), DEFAULT_PROMPT, &PLACEHOLDERS)?;
    let keyed = WithPrompt::new(&config, llm.as_ref());
    Ok(built(&keyed, Runtime::Record(Arc::new(Caption { llm }))))
}

struct Caption {
    llm: Option<LlmBackend>,
}

impl RecordOperator for Caption {
    fn run(&self, _clip: &Clip, inputs: &[&Value], ctx: &mut RecordContext<'_>) -> Result<Output, String> {
        let motion = ClipMotion::from_record(DESCRIPTOR.read(inputs))?;
        let facts = ClipFacts::from_record(FACTS.read(inputs))?;
        let mut captions = Map::new();
        let mut failed = Vec::new();
        for (i, part) in PARTS.iter().enumerate() {
            let text = match &self.llm {
                None => caption_rules::caption(&motion, &facts, i),
                Some(llm) => match ask(llm, &motion, i, ctx) {
                    Ok(text) => text,
                    Err(e) => {
                        // Every part is asked: the ones answered are cached, so a rerun asks only the failed ones.
                        failed.push((*part, e));
                        continue;
                    }
                },
            };
            captions.insert((*part).to_string(), Value::String(text));
        }
        if !failed.is_empty() {
            // Parts that failed for the same cause are named together, so a dead server is one sentence.
            let mut by_cause: Vec<(String, Vec<&str>)> = Vec::new();
            for (part, cause) in failed.iter() {
                match by_cause.iter_mut().find(|(c, _)| c == cause) {
                    Some((_, parts)) => parts.push(part),
                    None => by_cause.push((cause.clone(), vec![part])),
                }
            }
            let causes: Vec<String> = by_cause.iter().map(|(cause, parts)| format!("{}: {cause}", parts.join(", "))).collect();
            return Err(format!("{} of {} parts got no caption: {}", failed.len(), PARTS.len(), causes.join("; ")));
        }
        let record = json!({"body_part_motion": captions});
        let mut bytes = serde_json::to_vec_pretty(&record).expect("captions serialise");
        bytes.push(b'\n');
        Ok(Output { record, blobs: vec![Blob { ext: "json".into(), bytes }] })
    }

    fn served(&self, cache_dir: &std::path::Path) -> Option<Value> {
        self.llm.as_ref().map(|l| l.client.served(cache_dir))
    }
}

fn ask(llm: &LlmBackend, m: &ClipMotion, i: usize, ctx: &mut RecordContext<'_>) -> Result<String, String> {
    let frames: Vec<Value> = m.vectors[i].iter().zip(&m.coords[i]).map(|(v, c)| json!({"vector": v, "coord": c})).collect();
    let frames = serde_json::to_string(&frames).expect("frames serialise");
    let (n, fps, w, h) = (m.num_frames.to_string(), format!("{}", m.fps), m.width.to_string(), m.height.to_string());
    let prompt = llm.template.render(&[
        ("part", PARTS[i]),
        ("num_frames", &n),
        ("fps", &fps),
        ("width", &w),
        ("height", &h),
        ("frames", &frames),
    ]);
    llm.client.complete(&[Message::text("user", prompt)], false, ctx, |reply| {
        let text = reply.trim();
        if text.is_empty() { Err("the model's reply is empty".to_string()) } else { Ok(text.to_string()) }
    })
    .map_err(String::from)
}
