//! `respond`: a model under test answers a clip's items.
//!
//! Backend `llm`: one multimodal request per item to an OpenAI-compatible
//! endpoint, with the clip's frames (by count or `fps`, within a pixel
//! budget, [`frames`]) as JPEG data URLs or the clip as a video part,
//! and a system prompt per task (`pipelines/prompts/respond.md`, one
//! `## TASK` section each). Built-in baselines that need no network: `random`
//! (seeded), `majority` (the most common class of the reference benchmark's
//! clip statistics; always `yes`), and `descriptor-oracle` (answers from the
//! clip's facts and descriptor, [`crate::language::oracle`]: an upper baseline that
//! shows the items are answerable).
//! A reply's `<think>…</think>` reasoning is kept apart from its answer,
//! which alone is parsed.
//!
//! Record: `{"model", "answers": [{"id", "task", "reply", "parsed"[, "reasoning"]}],
//! "system_prompts": {task: text}}`, and for `llm` `"frames"`: what was sent
//! (indices and size, or the video).

pub mod frames;

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::common::record_types::{self as records, record};
use crate::common::taxonomy::{ACTIONS, BODY_LEVELS};
use crate::language::answers;
use crate::language::author::{Author, PromptedLlm, WithPrompt, build_llm, refuse_unread};
use crate::language::clip_motion::ClipMotion;
use crate::language::facts::ClipFacts;
use crate::language::llm::{Content, Endpoint, Message, concurrently};
use crate::language::oracle;
use crate::language::qa::item::{Item, TASKS};
use crate::language::qa::recognition::{LETTERS, label_line};
use crate::language::rng::Rng;
use crate::prelude::*;
use frames::{Rule, Sampled, Sampling, SendAs, probe_image};

/// The built-in system prompts, one section per task.
pub const DEFAULT_PROMPT: &str = include_str!("../../../../pipelines/prompts/respond.md");

/// Who answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Responder {
    /// Uniform random choices (seeded).
    Random,
    /// The most common answer class.
    Majority,
    /// Answers read from the descriptor.
    DescriptorOracle,
    /// A model behind an OpenAI-compatible endpoint.
    Llm,
}

/// A model under test answers a clip's items: `llm` (multimodal OpenAI-compatible requests with
/// the clip's frames, by count or `fps` within a pixel budget, or the clip as a video, and a system prompt per task) or a baseline that needs no network:
/// `random` (seeded), `majority`, `descriptor-oracle` (answers from the descriptor, an upper bound).
/// Replies are parsed into an option letter, yes/no, or the MARE label line.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RespondConfig {
    /// `random`, `majority`, `descriptor-oracle` or `llm`.
    #[example("random")]
    pub backend: Responder,
    /// Name in tables and file names (default: the backend, or the endpoint's model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Seed of `random`.
    #[serde(default)]
    pub seed: u64,
    /// How `llm` picks frames: `spread` (by `frames` or `fps`, within the pixel budget) or
    /// `starter-kit` (as MA-Bench's starter kit: from frame 0 every `round(fps / 3)` frames, at most
    /// `total / 8` apart, 8 at most, full size, JPEG quality 95; reads none of the frame params below).
    #[serde(default)]
    pub sampling: Rule,
    /// Frames per clip for `llm`, spread uniformly over it (unless `fps` is set).
    #[default(8)]
    pub frames: usize,
    /// Frames per second of video for `llm` instead of a count, e.g. 3.0 (capped by `max_frames`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    /// Most frames one clip sends when sampled by `fps`.
    #[default(64)]
    pub max_frames: usize,
    /// Fewest pixels of one frame sent (smaller frames are scaled up), e.g. 16384 (16×32×32).
    #[serde(default)]
    pub min_pixels: u64,
    /// Most pixels of one frame sent, e.g. 1310720 (1280×32×32).
    #[default(200704)]
    pub max_pixels: u64,
    /// Most pixels of all a clip's frames together (each frame then gets its share, within `max_pixels`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_pixels: Option<u64>,
    /// Frame sides are multiples of this many pixels (the encoder's patch × merge: 28 for Qwen2.5-VL, 32 for Qwen3-VL).
    #[default(28)]
    pub multiple: u32,
    /// `images` (the sampled frames as JPEG parts) or `video` (the clip's file as one `video_url` part, for servers that sample video, such as vLLM).
    #[serde(default)]
    pub send: SendAs,
    /// System prompts file for `llm` (`## TASK` sections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<PathBuf>,
    /// The endpoint for `llm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[example(r#"{base_url: http://localhost:8000/v1, model: Qwen2.5-VL-7B-Instruct, api_key: "${env:LLM_KEY}"}"#)]
    #[fields(Endpoint)]
    pub llm: Option<Endpoint>,
}

/// Input: the clip's items.
const QA: RecordIn = RecordIn::new(0, "qa", records::QA);
/// Input: the clip's descriptor (read by the oracle alone).
const DESCRIPTOR: RecordIn = RecordIn::new(1, "descriptor", records::DESCRIPTOR).optional();
/// Input: the clip's facts (read by the oracle alone).
const FACTS: RecordIn = RecordIn::new(2, "facts", records::FACTS).optional();

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "respond",
    section: Section::Operators,
    version: 6,
    doc: RespondConfig::DOC,
    inputs: &[QA.port(), DESCRIPTOR.port(), FACTS.port()],
    output: Some(record(records::RESPONSES)),
    params: RespondConfig::params,
    build,
};

/// The params only the `llm` responder reads.
const LLM_ONLY: [&str; 11] = [
    "sampling",
    "frames",
    "fps",
    "max_frames",
    "min_pixels",
    "max_pixels",
    "video_pixels",
    "multiple",
    "send",
    "prompt",
    "llm",
];

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: RespondConfig = parse_params(params)?;
    let which = serde_json::to_value(config.backend).expect("backends serialise");
    let which = which.as_str().unwrap_or_default();
    if config.backend != Responder::Llm {
        refuse_unread(params, which, &LLM_ONLY, "llm", &RespondConfig::params())?;
    }
    if config.backend != Responder::Random {
        refuse_unread(params, which, &["seed"], "random", &RespondConfig::params())?;
    }
    if config.sampling == Rule::StarterKit {
        refuse_unread(
            params,
            "sampling: starter-kit",
            &LLM_ONLY[1..9],
            "sampling: spread",
            &RespondConfig::params(),
        )?;
    }
    let backend = if config.backend == Responder::Llm {
        Author::Llm
    } else {
        Author::Rules
    };
    let llm = build_llm(
        params,
        backend,
        config.llm.as_ref(),
        config.prompt.as_ref(),
        DEFAULT_PROMPT,
        &[],
    )?;
    let sampling = config.sampling();
    sampling
        .validate()
        .map_err(|(param, e)| vec![maflow_engine::params::param_error(params, param, e)])?;
    if let Some(llm) = &llm {
        let missing: Vec<&str> = TASKS
            .iter()
            .copied()
            .filter(|t| llm.template.section(t).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(vec![maflow_engine::params::param_error(
                params,
                "prompt",
                format!(
                    "the prompt file has no `## TASK` section for {}",
                    missing.join(", ")
                ),
            )]);
        }
    }
    let keyed = WithPrompt::new(&config, llm.as_ref());
    let canonical = serde_json::to_value(&keyed).expect("configs serialise");
    let name = config
        .name
        .clone()
        .unwrap_or_else(|| match (&config.backend, &config.llm) {
            (Responder::Llm, Some(e)) => e.model.clone(),
            (b, _) => serde_json::to_value(b)
                .expect("serialises")
                .as_str()
                .unwrap_or("model")
                .to_string(),
        });
    Ok(Built::new(
        &canonical,
        Runtime::Record(Arc::new(Respond {
            config,
            sampling,
            name,
            llm,
        })),
    ))
}

impl RespondConfig {
    /// What the model sees of a clip.
    fn sampling(&self) -> Sampling {
        Sampling {
            rule: self.sampling,
            frames: self.frames,
            fps: self.fps,
            max_frames: self.max_frames,
            min_pixels: self.min_pixels,
            max_pixels: self.max_pixels,
            video_pixels: self.video_pixels,
            multiple: self.multiple,
            send: self.send,
        }
    }
}

struct Respond {
    config: RespondConfig,
    sampling: Sampling,
    name: String,
    llm: Option<PromptedLlm>,
}

impl RecordOperator for Respond {
    fn run(
        &self,
        clip: &Clip,
        inputs: &[&Value],
        ctx: &mut RecordContext<'_>,
    ) -> Result<Output, String> {
        let items: Vec<Item> = serde_json::from_value(QA.read(inputs)["items"].clone())
            .map_err(|e| format!("the `qa` input is not a qa record: {e}"))?;
        let oracle = match (
            self.config.backend,
            DESCRIPTOR.read_optional(inputs),
            FACTS.read_optional(inputs),
        ) {
            (Responder::DescriptorOracle, Some(d), Some(f)) => {
                Some((ClipMotion::from_record(d)?, ClipFacts::from_record(f)?))
            }
            (Responder::DescriptorOracle, ..) => {
                return Err(
                    "the descriptor-oracle answers from the clip's descriptor and facts: \
                     write `inputs: [qa, descriptors, facts]`"
                        .into(),
                );
            }
            _ => None,
        };
        let seen = match &self.llm {
            Some(llm) => {
                // A model that never sees the frames must not be scored as if it had.
                llm.client.probe_images(&probe_image(), ctx)?;
                Some(self.sampling.sample(&clip.path)?)
            }
            None => None,
        };
        let replies: Vec<Result<String, String>> = match (self.config.backend, &self.llm, &seen) {
            // The items are asked at once, within the node's and the endpoint's slots.
            (Responder::Llm, Some(llm), Some(seen)) => {
                concurrently(items.len(), ctx, |i, ctx| ask(llm, &items[i], seen, ctx))
            }
            (backend, ..) => items
                .iter()
                .map(|item| Ok(self.baseline(backend, item, oracle.as_ref())))
                .collect(),
        };
        let answers = read_replies(&items, replies)?;
        let mut record = json!({"model": self.name, "answers": answers, "system_prompts": self.system_prompts(&items)});
        if let Some(seen) = seen {
            record["frames"] = seen.record;
        }
        Ok(Output::record(record))
    }

    fn served(&self, cache_dir: &std::path::Path) -> Option<Value> {
        self.llm.as_ref().map(|l| l.client.served(cache_dir))
    }

    fn calls_report(&self, calls: &CallCounts, computed: u64) -> CallsReport {
        crate::language::llm::counters::report(calls, computed)
    }
}

/// Each item's answer from its reply (its reasoning kept apart, what it
/// says parsed); an error listing the items that got none.
fn read_replies(
    items: &[Item],
    replies: Vec<Result<String, String>>,
) -> Result<Vec<Value>, String> {
    let mut answers = Vec::with_capacity(items.len());
    let mut failed = Vec::new();
    for (item, reply) in items.iter().zip(replies) {
        match reply {
            Ok(raw) => {
                let (reasoning, reply) = split_reasoning(&raw);
                let parsed = parse(item, reply);
                let mut answer =
                    json!({"id": item.id, "task": item.task, "reply": reply, "parsed": parsed});
                if let Some(reasoning) = reasoning {
                    answer["reasoning"] = json!(reasoning);
                }
                answers.push(answer);
            }
            Err(e) => failed.push(format!("{}: {e}", item.id)),
        }
    }
    if !failed.is_empty() {
        // Not stored: the rerun asks again, and answers already given come from the request cache.
        return Err(format!(
            "{} of {} items got no answer: {}",
            failed.len(),
            items.len(),
            failed.join("; ")
        ));
    }
    Ok(answers)
}

impl Respond {
    /// A baseline's reply to `item`; the oracle's needs the clip's motion and facts.
    fn baseline(
        &self,
        backend: Responder,
        item: &Item,
        oracle: Option<&(ClipMotion, ClipFacts)>,
    ) -> String {
        match backend {
            Responder::Random => random(item, &mut Rng::new(self.config.seed, &[&item.id])),
            Responder::Majority => majority(item),
            Responder::DescriptorOracle => {
                let (motion, facts) = oracle.expect("the oracle has its inputs");
                oracle::answer(item, motion, facts)
            }
            Responder::Llm => {
                unreachable!("an llm responder is built with its endpoint and samples its frames")
            }
        }
    }

    /// The system prompt each asked task was sent; a baseline sends none and says so.
    fn system_prompts(&self, items: &[Item]) -> Value {
        let mut out = serde_json::Map::new();
        for item in items {
            let text = match &self.llm {
                Some(llm) => llm.template.section(&item.task).unwrap_or_default(),
                None => format!(
                    "(none: `{}` is a baseline that answers without a model or a prompt)",
                    self.name
                ),
            };
            out.insert(item.task.clone(), json!(text));
        }
        Value::Object(out)
    }
}

/// A reply's `<think>…</think>` reasoning, if any, and the answer after it (both trimmed).
/// A reply that opens reasoning and never closes it has no answer.
pub fn split_reasoning(reply: &str) -> (Option<&str>, &str) {
    let reply = reply.trim();
    match reply.split_once("<think>") {
        Some((before, rest)) if before.trim().is_empty() => match rest.split_once("</think>") {
            Some((reasoning, answer)) => (Some(reasoning.trim()), answer.trim()),
            None => (Some(rest.trim()), ""),
        },
        // Some servers strip the opening tag and leave the closing one.
        _ => match reply.split_once("</think>") {
            Some((reasoning, answer)) => (Some(reasoning.trim()), answer.trim()),
            None => (None, reply),
        },
    }
}

/// The parsed answer of a reply, `null` when it cannot be read.
pub fn parse(item: &Item, reply: &str) -> Value {
    match item.task.as_str() {
        "CMAR" | "FMAR" => json!(answers::option(reply, &item.options)),
        "MADU" => json!(reply.trim()),
        "MARE" => json!(answers::label_line(reply).map(|(l, a)| json!({"level": l, "action": a}))),
        _ => json!(answers::yes_no(reply)),
    }
}

fn ask(
    llm: &PromptedLlm,
    item: &Item,
    seen: &Sampled,
    ctx: &mut RecordContext<'_>,
) -> Result<String, String> {
    let system = llm.template.section(&item.task).unwrap_or_default();
    let mut text = item.question.clone();
    for (l, o) in LETTERS.iter().zip(&item.options) {
        text.push_str(&format!("\n{l}. {o}"));
    }
    let mut content = seen.parts.clone();
    content.push(Content::Text(text));
    let messages = [
        Message::text("system", system),
        Message {
            role: "user",
            content,
        },
    ];
    llm.client
        .complete(&messages, false, ctx, |reply| Ok(reply.trim().to_string()))
        .map_err(String::from)
}

fn random(item: &Item, rng: &mut Rng) -> String {
    match item.task.as_str() {
        "CMAR" | "FMAR" => LETTERS[rng.below(item.options.len().max(1))].to_string(),
        // A description that reads as one and says nothing of the clip: a part drawn at random.
        "MADU" => {
            let part = PARTS[rng.below(PARTS.len())]
                .replace('_', " ")
                .to_lowercase();
            format!("The {part} moves slightly; the rest of the body stays still.")
        }
        "MARE" => {
            let a = &ACTIONS[rng.below(ACTIONS.len())];
            label_line(BODY_LEVELS[rng.below(BODY_LEVELS.len())].name, a.name)
        }
        _ => if rng.below(2) == 0 { "yes" } else { "no" }.to_string(),
    }
}

/// Body levels by their share of the reference benchmark's clips, largest first.
const LEVELS_BY_SHARE: [&str; 7] = [
    "Upper limb",
    "Lower limb",
    "Head",
    "Body",
    "Head-hand",
    "Leg-hand",
    "Body-hand",
];

fn majority(item: &Item) -> String {
    match item.task.as_str() {
        "CMAR" => item
            .options
            .iter()
            .position(|o| o == LEVELS_BY_SHARE[0])
            .map_or("A", |i| LETTERS[i])
            .to_string(),
        "FMAR" => {
            let rank = |name: &String| {
                ACTIONS
                    .iter()
                    .find(|a| a.name == name)
                    .map_or(usize::MAX, |a| {
                        LEVELS_BY_SHARE
                            .iter()
                            .position(|l| *l == a.body_level().name)
                            .unwrap_or(usize::MAX)
                    })
            };
            let best = (0..item.options.len())
                .min_by_key(|&i| rank(&item.options[i]))
                .unwrap_or(0);
            LETTERS[best].to_string()
        }
        // The level most clips are of, said as a description.
        "MADU" => "The hands and arms move slightly; the rest of the body stays still.".to_string(),
        "MARE" => label_line(LEVELS_BY_SHARE[0], "unknown"),
        _ => "yes".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_is_kept_apart_from_the_answer_that_is_parsed() {
        assert_eq!(
            split_reasoning("<think>The head dips twice.</think>\n\nYes"),
            (Some("The head dips twice."), "Yes")
        );
        assert_eq!(split_reasoning("  B. Head  "), (None, "B. Head"));
        assert_eq!(
            split_reasoning("left open</think> No"),
            (Some("left open"), "No")
        );
        assert_eq!(
            split_reasoning("<think>never closed"),
            (Some("never closed"), "")
        );
        let item = Item {
            id: "SAD_1".into(),
            clip: "c".into(),
            task: "SAD".into(),
            question: "Does the head move?".into(),
            options: vec![],
            answer: "yes".into(),
            reference: None,
            provenance: Value::Null,
        };
        // A "no" inside the reasoning does not decide the answer.
        let (_, answer) = split_reasoning("<think>no, wait: it dips.</think>Yes");
        assert_eq!(parse(&item, answer), json!("yes"));
    }
}
