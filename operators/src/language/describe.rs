//! `describe`: one structured clip-level description from the part captions
//! and the clip's facts: dominant parts, order of motions, and what happens
//! in the initial, middle and late phases. Backend `rules` (default,
//! offline) states the facts (every part that moves noticeably in a phase
//! with the ways it moves, the parts that move only slightly, approaches,
//! and that the rest stays still); `llm` (prompt
//! `pipelines/prompts/describe.md`) is checked against the facts, and a
//! reply that contradicts them is asked again (`retries`) with the
//! contradiction named, then an error quoting the sentence.
//!
//! Record and file: `{"description", "dominant_parts", "onset_order",
//! "tendency", "phases": [{"phase", "start", "end", "text"}]}`; the
//! structured fields are always the facts'.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::agreement::Reading;
use super::backend::{Backend, LlmBackend, WithPrompt, build_llm};
use super::clip_motion::{join, secs, spoken};
use super::facts::{ClipFacts, PhaseFacts, Verdict};
use super::qa::claims::candidates;
use crate::language::llm::{CallError, Endpoint, Message};
use crate::prelude::*;

/// The built-in description prompt.
pub const DEFAULT_PROMPT: &str = include_str!("../../../pipelines/prompts/describe.md");
const PLACEHOLDERS: [&str; 5] = ["seconds", "captions", "by_energy", "onset_order", "phases"];

/// Clip descriptions: one structured description per clip from the part captions and the clip's
/// facts (dominant parts, order of motions, initial/middle/late phases). `rules` states the facts
/// offline; `llm` asks a model with a prompt template and rejects a reply that contradicts them.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescribeConfig {
    /// `rules` (offline, deterministic) or `llm`.
    #[serde(default)]
    pub backend: Backend,
    /// Prompt template file for `llm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[example("pipelines/prompts/describe.md")]
    pub prompt: Option<PathBuf>,
    /// The endpoint for `llm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[example(r#"{base_url: http://localhost:8000/v1, model: Qwen3-8B, api_key: "${env:LLM_KEY}"}"#)]
    #[fields(Endpoint)]
    pub llm: Option<Endpoint>,
    /// For `llm`: times a reply that contradicts the facts is asked again, with the contradiction named.
    #[default(2)]
    pub retries: u32,
}

/// Input: the clip's part captions.
const CAPTIONS: RecordIn = RecordIn::new(0, "captions");
/// Input: the clip's facts.
const FACTS: RecordIn = RecordIn::new(1, "facts");

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "describe",
    section: Section::Operators,
    version: 2,
    doc: DescribeConfig::DOC,
    inputs: &[CAPTIONS.port(), FACTS.port()],
    output: Some(PortType::Any),
    params: DescribeConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: DescribeConfig = parse_params(params)?;
    let llm = build_llm(params, config.backend, config.llm.as_ref(), config.prompt.as_ref(), DEFAULT_PROMPT, &PLACEHOLDERS)?;
    let keyed = WithPrompt::new(&config, llm.as_ref());
    Ok(built(&keyed, Runtime::Record(Arc::new(Describe { llm, retries: config.retries }))))
}

struct Describe {
    llm: Option<LlmBackend>,
    retries: u32,
}

/// `up`, `up and down`, `up, left and down`.
fn ways(ways: &[&str]) -> String {
    join(&ways.iter().map(|w| w.to_string()).collect::<Vec<_>>())
}

/// What a phase's facts say, as one clause list: every part that moves noticeably (fastest first,
/// grouped by the ways it clearly moves, with speeds), the parts that move only slightly, which
/// parts approach or move away from which, then that the rest stays still. Clauses are separated
/// by `;` so that each says one thing about its subjects.
pub fn phase_text(f: &ClipFacts, phase: &PhaseFacts) -> String {
    let mut movers: Vec<&super::facts::PartFacts> = phase.parts.iter().filter(|p| p.moves == Verdict::Yes).collect();
    movers.sort_by(|a, b| b.mean_speed.total_cmp(&a.mean_speed));
    let slight: Vec<String> = phase.parts.iter().filter(|p| p.moves == Verdict::Unclear).map(|p| format!("the {}", spoken(&p.part))).collect();
    // Parts that move the same ways are named together, fastest first.
    let mut groups: Vec<(Vec<&str>, Vec<&super::facts::PartFacts>)> = Vec::new();
    for p in &movers {
        let w = p.ways();
        match groups.iter_mut().find(|(g, _)| *g == w) {
            Some((_, parts)) => parts.push(p),
            None => groups.push((w, vec![p])),
        }
    }
    let mut clauses: Vec<String> = groups
        .iter()
        .map(|(w, parts)| {
            let way = if w.is_empty() { String::new() } else { format!(" {}", ways(w)) };
            let names: Vec<String> = parts.iter().map(|p| format!("the {}", spoken(&p.part))).collect();
            let speeds: Vec<String> = parts.iter().map(|p| format!("{:.2}", p.mean_speed)).collect();
            let verb = if parts.len() == 1 { "moves" } else { "move" };
            format!("{} {verb}{way} ({} px/frame)", join(&names), join(&speeds))
        })
        .collect();
    if movers.is_empty() {
        clauses.push("no part moves noticeably".into());
    }
    if !slight.is_empty() {
        let verb = if slight.len() == 1 { "moves" } else { "move" };
        clauses.push(format!("{} {verb} only slightly", join(&slight)));
    }
    for (approach, verb) in [(true, "approaches"), (false, "moves away from")] {
        let mut subjects: Vec<&str> = Vec::new();
        for x in f.proximity.iter().filter(|x| x.phase == phase.name) {
            let yes = if approach { x.approaches } else { x.moves_away } == Verdict::Yes;
            if yes && !subjects.contains(&x.a.as_str()) {
                subjects.push(&x.a);
            }
        }
        for a in subjects {
            let objects: Vec<String> = f
                .proximity
                .iter()
                .filter(|x| x.phase == phase.name && x.a == a && if approach { x.approaches } else { x.moves_away } == Verdict::Yes)
                .map(|x| format!("the {}", spoken(&x.b)))
                .collect();
            clauses.push(format!("the {} {verb} {}", spoken(a), join(&objects)));
        }
    }
    if !movers.is_empty() && phase.parts.iter().any(|p| p.moves == Verdict::No) {
        clauses.push("the rest stays still".into());
    }
    clauses.join("; ")
}

/// The rules description of a clip: the facts, from general to specific.
pub fn describe_rules(f: &ClipFacts) -> String {
    let mut text = match f.dominant.first() {
        None => format!("Over the {} s clip the person stays still: no body part moves noticeably.", secs(f.seconds)),
        Some(lead) => {
            let mut t = format!(
                "Over the {} s clip the motion is {} and led by the {} ({:.0}% of the motion energy)",
                secs(f.seconds),
                f.tendency,
                spoken(lead),
                100.0 * f.lead_share
            );
            if f.dominant.len() > 1 {
                let rest: Vec<String> = f.dominant[1..].iter().map(|p| format!("the {}", spoken(p))).collect();
                t.push_str(&format!(", with {} also moving", join(&rest)));
            }
            t.push('.');
            t
        }
    };
    if !f.starts.is_empty() {
        let order: Vec<String> = f.starts.iter().map(|s| format!("the {} {} at {} s", spoken(&s.part), s.direction, secs(s.start))).collect();
        text.push_str(&format!(" Motions begin in this order: {}.", order.join(", ")));
    }
    if f.dominant.is_empty() {
        return text;
    }
    for phase in &f.phases {
        text.push_str(&format!(" In the {} phase ({}–{} s), {}.", phase.name, secs(phase.start), secs(phase.end), phase_text(f, phase)));
    }
    text
}

/// Where a description contradicts the clip's facts: each clear-cut claim it goes against,
/// with the sentence.
pub fn contradictions(f: &ClipFacts, description: &str) -> Vec<String> {
    let reading = Reading::of(description);
    let mut out: Vec<String> = Vec::new();
    for c in candidates(f) {
        if let Some(x) = reading.contradicts(&c.claim, c.answer) {
            let line = format!("\"{}\" (in \"{}\") contradicts the measurements: {}", x.clause, x.sentence, x.why);
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    out
}

impl RecordOperator for Describe {
    fn run(&self, _clip: &Clip, inputs: &[&Value], ctx: &mut RecordContext<'_>) -> Result<Output, String> {
        let captions = CAPTIONS.read(inputs).get("body_part_motion").and_then(Value::as_object).ok_or("the `captions` input is not a caption record")?;
        let f = ClipFacts::from_record(FACTS.read(inputs))?;
        let description = match &self.llm {
            None => describe_rules(&f),
            Some(llm) => {
                let captions: Vec<String> =
                    captions.iter().map(|(k, v)| format!("- {k}: {}", v.as_str().unwrap_or(""))).collect();
                let phases: Vec<String> =
                    f.phases.iter().map(|p| format!("- {} phase ({}–{} s): {}", p.name, secs(p.start), secs(p.end), phase_text(&f, p))).collect();
                let prompt = llm.template.render(&[
                    ("seconds", &secs(f.seconds)),
                    ("captions", &captions.join("\n")),
                    ("by_energy", &f.by_energy.join(", ")),
                    ("onset_order", &f.onsets.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(", ")),
                    ("phases", &phases.join("\n")),
                ]);
                self.ask(llm, &f, prompt, ctx)?
            }
        };
        let record = json!({
            "description": description,
            "dominant_parts": f.dominant,
            "onset_order": f.onsets.iter().map(|(p, t)| json!({"part": p, "start": t})).collect::<Vec<_>>(),
            "tendency": f.tendency,
            "phases": f.phases.iter().map(|p| json!({"phase": p.name, "start": p.start, "end": p.end, "text": phase_text(&f, p)})).collect::<Vec<_>>(),
        });
        let mut bytes = serde_json::to_vec_pretty(&record).expect("descriptions serialise");
        bytes.push(b'\n');
        Ok(Output { record, blobs: vec![Blob { ext: "json".into(), bytes }] })
    }

    fn served(&self, cache_dir: &std::path::Path) -> Option<Value> {
        self.llm.as_ref().map(|l| l.client.served(cache_dir))
    }
}

impl Describe {
    /// Asks for a description that contradicts none of the facts, re-asking with the contradictions named.
    fn ask(&self, llm: &LlmBackend, f: &ClipFacts, prompt: String, ctx: &mut RecordContext<'_>) -> Result<String, String> {
        let accept = |reply: &str| {
            let t = reply.trim();
            if t.is_empty() {
                return Err("the model's reply is empty".to_string());
            }
            let wrong = contradictions(f, t);
            if wrong.is_empty() { Ok(t.to_string()) } else { Err(wrong.join("; ")) }
        };
        let mut messages = vec![Message::text("user", prompt)];
        let mut last = String::new();
        for _ in 0..=self.retries {
            match llm.client.complete(&messages, false, ctx, accept) {
                Ok(text) => return Ok(text),
                Err(CallError::Refused { reply, cause }) => {
                    last = cause.clone();
                    messages.push(Message::text("assistant", reply));
                    messages.push(Message::text(
                        "user",
                        format!("Your description goes against the measured facts: {cause}. Rewrite the whole description so that it states only what the facts say."),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(format!("the description contradicts the facts after {} tries: {last}", self.retries + 1))
    }
}
