//! `caption`: one caption per clip and body part, `{"body_part_motion": {...}}`.
//!
//! Backend `rules` (default) writes them offline from the descriptor and the
//! clip's facts;
//! backend `llm` asks a model once per part with a prompt template (default
//! `pipelines/prompts/caption.md`), giving it the part's per-frame
//! `{vector, coord}` values, the frame count, rate and size. The values go
//! as `rows` (default: a header, then `frame vx vy x y` per frame, each
//! number as the descriptor holds it) or as the descriptor's `json` list;
//! both carry every value, rows in about half the tokens.

mod rules;

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::common::body::PARTS;
use crate::common::record_types::{self as records, record};
use crate::language::author::{Author, PromptedLlm, WithPrompt, build_llm, refuse_unread};
use crate::language::clip_motion::ClipMotion;
use crate::language::facts::ClipFacts;
use crate::language::llm::{Endpoint, Message, concurrently};
use crate::prelude::*;

/// The built-in caption prompt.
pub const DEFAULT_PROMPT: &str = include_str!("../../../../pipelines/prompts/caption.md");

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
    pub backend: Author,
    /// Prompt template file for `llm` (default: the built-in `pipelines/prompts/caption.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[example("pipelines/prompts/caption.md")]
    pub prompt: Option<PathBuf>,
    /// The endpoint for `llm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[example(
        r#"{base_url: http://localhost:8000/v1, model: Qwen3-8B, api_key: "${env:LLM_KEY}"}"#
    )]
    #[fields(Endpoint)]
    pub llm: Option<Endpoint>,
    /// How `{{frames}}` gives a part's frames: `rows` (one `frame vx vy x y` line each) or `json` (the descriptor's `{vector, coord}` list).
    #[serde(default)]
    pub frames_as: FramesAs,
}

/// The form of a part's frames in the prompt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FramesAs {
    /// A header line, then `frame vx vy x y` per frame.
    #[default]
    Rows,
    /// `[{"vector": [vx, vy], "coord": [x, y]}, …]`.
    Json,
}

/// A part's frames (its per-frame vectors and coords) as the prompt gives
/// them; every number is written as the descriptor holds it (the shortest
/// form that reads back to the same value).
pub fn frames_text(vectors: &[[f32; 2]], coords: &[[f32; 2]], form: FramesAs) -> String {
    match form {
        FramesAs::Json => {
            // Through its shortest decimal form, so 0.567 goes as 0.567, not as the f32's 0.5669999718666077.
            let exact = |p: &[f32; 2]| {
                p.map(|x| {
                    x.to_string()
                        .parse::<f64>()
                        .expect("floats print as numbers")
                })
            };
            let frames: Vec<Value> = vectors
                .iter()
                .zip(coords)
                .map(|(v, c)| json!({"vector": exact(v), "coord": exact(c)}))
                .collect();
            serde_json::to_string(&frames).expect("frames serialise")
        }
        FramesAs::Rows => {
            let mut out = String::from("frame vx vy x y\n");
            for (k, (v, c)) in vectors.iter().zip(coords).enumerate() {
                out.push_str(&format!("{k} {} {} {} {}\n", v[0], v[1], c[0], c[1]));
            }
            out
        }
    }
}

/// Input: the clip's descriptor.
const DESCRIPTOR: RecordIn = RecordIn::new(0, "descriptor", records::DESCRIPTOR);
/// Input: the clip's facts (what counts as moving, for `rules`).
const FACTS: RecordIn = RecordIn::new(1, "facts", records::FACTS);

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "caption",
    section: Section::Operators,
    version: 3,
    doc: CaptionConfig::DOC,
    inputs: &[DESCRIPTOR.port(), FACTS.port()],
    output: Some(record(records::CAPTIONS)),
    params: CaptionConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: CaptionConfig = parse_params(params)?;
    if config.backend == Author::Rules {
        refuse_unread(
            params,
            "rules",
            &["prompt", "llm", "frames_as"],
            "llm",
            &CaptionConfig::params(),
        )?;
    }
    let llm = build_llm(
        params,
        config.backend,
        config.llm.as_ref(),
        config.prompt.as_ref(),
        DEFAULT_PROMPT,
        &PLACEHOLDERS,
    )?;
    let keyed = WithPrompt::new(&config, llm.as_ref());
    Ok(Built::new(
        &keyed,
        Runtime::Record(Arc::new(Caption {
            llm,
            frames_as: config.frames_as,
        })),
    ))
}

struct Caption {
    llm: Option<PromptedLlm>,
    frames_as: FramesAs,
}

impl RecordOperator for Caption {
    fn run(
        &self,
        _clip: &Clip,
        inputs: &[&Value],
        ctx: &mut RecordContext<'_>,
    ) -> Result<Output, String> {
        let motion = ClipMotion::from_record(DESCRIPTOR.read(inputs))?;
        let facts = ClipFacts::from_record(FACTS.read(inputs))?;
        let texts: Vec<Result<String, String>> = match &self.llm {
            None => (0..PARTS.len())
                .map(|i| Ok(rules::caption(&motion, &facts, i)))
                .collect(),
            // The parts are asked at once, within the node's and the endpoint's slots.
            Some(llm) => concurrently(PARTS.len(), ctx, |i, ctx| {
                ask(llm, &motion, i, self.frames_as, ctx)
            }),
        };
        let mut captions = Map::new();
        let mut failed = Vec::new();
        for (part, text) in PARTS.iter().zip(texts) {
            match text {
                Ok(text) => {
                    captions.insert((*part).to_string(), Value::String(text));
                }
                // Every part is asked: the ones answered are cached, so a rerun asks only the failed ones.
                Err(e) => failed.push((*part, e)),
            }
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
            let causes: Vec<String> = by_cause
                .iter()
                .map(|(cause, parts)| format!("{}: {cause}", parts.join(", ")))
                .collect();
            return Err(format!(
                "{} of {} parts got no caption: {}",
                failed.len(),
                PARTS.len(),
                causes.join("; ")
            ));
        }
        let record = json!({"body_part_motion": captions});
        let mut bytes = serde_json::to_vec_pretty(&record).expect("captions serialise");
        bytes.push(b'\n');
        Ok(Output {
            record,
            blobs: vec![Blob {
                ext: "json".into(),
                bytes,
            }],
            pictures: None,
        })
    }

    fn served(&self, cache_dir: &std::path::Path) -> Option<Value> {
        self.llm.as_ref().map(|l| l.client.served(cache_dir))
    }

    fn calls_report(&self, calls: &CallCounts, computed: u64) -> CallsReport {
        crate::language::llm::counters::report(calls, computed)
    }
}

fn ask(
    llm: &PromptedLlm,
    m: &ClipMotion,
    i: usize,
    form: FramesAs,
    ctx: &mut RecordContext<'_>,
) -> Result<String, String> {
    let frames = frames_text(&m.vectors[i], &m.coords[i], form);
    let (n, fps, w, h) = (
        m.num_frames.to_string(),
        format!("{}", m.fps),
        m.width.to_string(),
        m.height.to_string(),
    );
    let prompt = llm.template.render(&[
        ("part", PARTS[i]),
        ("num_frames", &n),
        ("fps", &fps),
        ("width", &w),
        ("height", &h),
        ("frames", &frames),
    ]);
    llm.client
        .complete(&[Message::text("user", prompt)], false, ctx, |reply| {
            let text = reply.trim();
            if text.is_empty() {
                Err("the model's reply is empty".to_string())
            } else {
                Ok(text.to_string())
            }
        })
        .map_err(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_carry_every_value_of_the_json_in_fewer_characters() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/descriptors");
        let mut checked = 0;
        for clip in ["0010_02_0101", "0019_02_0078", "0030_01_0002"] {
            let parts: Value =
                serde_json::from_slice(&std::fs::read(dir.join(format!("{clip}.json"))).unwrap())
                    .unwrap();
            for part in PARTS {
                let pair = |f: &Value, k: &str| {
                    [
                        f[k][0].as_f64().unwrap() as f32,
                        f[k][1].as_f64().unwrap() as f32,
                    ]
                };
                let frames = parts[part].as_array().unwrap();
                let vectors: Vec<[f32; 2]> = frames.iter().map(|f| pair(f, "vector")).collect();
                let coords: Vec<[f32; 2]> = frames.iter().map(|f| pair(f, "coord")).collect();
                let rows = frames_text(&vectors, &coords, FramesAs::Rows);
                let json = frames_text(&vectors, &coords, FramesAs::Json);
                let read: Vec<Vec<f32>> = rows
                    .lines()
                    .skip(1)
                    .map(|l| l.split(' ').skip(1).map(|x| x.parse().unwrap()).collect())
                    .collect();
                assert_eq!(read.len(), frames.len());
                for (k, r) in read.iter().enumerate() {
                    assert_eq!(
                        r,
                        &[vectors[k][0], vectors[k][1], coords[k][0], coords[k][1]],
                        "{clip} {part} frame {k}"
                    );
                }
                assert_eq!(
                    serde_json::from_str::<Value>(&json).unwrap(),
                    parts[part],
                    "the json form is the descriptor's"
                );
                assert!(
                    rows.len() * 10 < json.len() * 7,
                    "rows {} chars against json {}",
                    rows.len(),
                    json.len()
                );
                checked += 1;
            }
        }
        assert!(checked >= 14 * 3);
    }
}
