//! `describe`: one structured clip-level description from the part captions
//! and the descriptor's summary: dominant parts, order of onsets, and what
//! happens in the initial, middle and late phases. Backend `rules`
//! (default, offline) or `llm` (prompt `pipelines/prompts/describe.md`).
//!
//! Record and file: `{"description", "dominant_parts", "onset_order",
//! "tendency", "phases": [{"phase", "start", "end", "text"}]}`; the
//! structured fields are always computed from the data.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::backend::{Backend, LlmBackend, WithPrompt, build_llm};
use super::caption_rules::{join, opposite};
use super::clip_motion::{ClipMotion, secs, spoken};
use super::facts::{part_window, windows};
use crate::common::body::PARTS;
use crate::language::llm::{Endpoint, Message};
use crate::common::motion_summary::compass;
use crate::prelude::*;

/// The built-in description prompt.
pub const DEFAULT_PROMPT: &str = include_str!("../../../pipelines/prompts/describe.md");
const PLACEHOLDERS: [&str; 4] = ["seconds", "captions", "by_energy", "onset_order"];

/// Clip descriptions: one structured description per clip from the part captions and the
/// descriptor's summary (dominant parts, order of onsets, initial/middle/late phases).
/// `rules` writes it offline; `llm` asks a model with a prompt template.
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
}

/// Input: the clip's part captions.
const CAPTIONS: RecordIn = RecordIn::new(0, "captions");
/// Input: the clip's descriptor.
const DESCRIPTOR: RecordIn = RecordIn::new(1, "descriptor");

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "describe",
    section: Section::Operators,
    version: 1,
    doc: DescribeConfig::DOC,
    inputs: &[CAPTIONS.port(), DESCRIPTOR.port()],
    output: Some(PortType::Any),
    params: DescribeConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: DescribeConfig = parse_params(params)?;
    let llm = build_llm(params, config.backend, config.llm.as_ref(), config.prompt.as_ref(), DEFAULT_PROMPT, &PLACEHOLDERS)?;
    let keyed = WithPrompt::new(&config, llm.as_ref());
    Ok(built(&keyed, Runtime::Record(Arc::new(Describe { llm }))))
}

struct Describe {
    llm: Option<LlmBackend>,
}

/// The structured facts of a description.
pub struct Structure {
    /// Parts carrying at least a quarter of the top part's energy, largest first (at most 3).
    pub dominant: Vec<&'static str>,
    /// Parts by first onset, with the onset in seconds.
    pub onsets: Vec<(&'static str, f64)>,
    /// `still`, `single`, `continuous` or `repetitive`.
    pub tendency: &'static str,
    /// Per phase: (name, start, end, sentence).
    pub phases: Vec<(&'static str, f64, f64, String)>,
}

/// Computes the structure of a clip's motion.
pub fn structure(m: &ClipMotion) -> Structure {
    let energy = |i: usize| m.part(i).energy;
    let moving = |i: usize| !m.part(i).active_periods.is_empty();
    let by_energy: Vec<usize> = m.summary.by_energy.iter().map(|p| ClipMotion::index(p)).filter(|&i| moving(i)).collect();
    let top = by_energy.first().map_or(0.0, |&i| energy(i));
    let dominant: Vec<&'static str> = by_energy.iter().filter(|&&i| energy(i) >= 0.25 * top).take(3).map(|&i| PARTS[i]).collect();
    let onsets = m
        .summary
        .onset_order
        .iter()
        .map(|p| {
            let i = ClipMotion::index(p);
            (PARTS[i], m.part(i).active_periods[0][0])
        })
        .collect();
    let tendency = match dominant.first().map(|p| m.part(ClipMotion::index(p))) {
        None => "still",
        Some(s) => {
            let reversals = s.phases.windows(2).filter(|w| opposite(&w[0].direction, &w[1].direction)).count();
            if reversals >= 2 {
                "repetitive"
            } else if s.phases.len() <= 1 && s.active_periods.len() == 1 {
                "single"
            } else {
                "continuous"
            }
        }
    };
    let phases = windows(m)
        .iter()
        .map(|w| {
            let mut movers: Vec<(usize, super::facts::PartWindow)> =
                (0..PARTS.len()).map(|i| (i, part_window(m, i, w))).filter(|(_, f)| f.mean_speed >= 0.5).collect();
            movers.sort_by(|a, b| b.1.mean_speed.total_cmp(&a.1.mean_speed));
            let text = if movers.is_empty() {
                "no part moves noticeably".to_string()
            } else {
                let items: Vec<String> = movers
                    .iter()
                    .take(3)
                    .map(|(i, f)| {
                        let net = f.net[0].hypot(f.net[1]);
                        let way = if net >= 0.4 * f.path {
                            format!("moves {}", compass(f.net[0] as f32, f.net[1] as f32))
                        } else {
                            let [up, right, down, left] = f.directional;
                            if up + down > right + left { "moves up and down".to_string() } else { "moves left and right".to_string() }
                        };
                        format!("the {} {way} at {:.1} px/frame", spoken(PARTS[*i]), f.mean_speed)
                    })
                    .collect();
                join(&items)
            };
            (w.name, w.start, w.end, text)
        })
        .collect();
    Structure { dominant, onsets, tendency, phases }
}

/// The rules description of a clip.
pub fn describe_rules(m: &ClipMotion, st: &Structure) -> String {
    if st.dominant.is_empty() {
        return format!("Over the {} s clip the person stays still: no body part moves above the noise level.", secs(m.seconds()));
    }
    let total: f64 = (0..PARTS.len()).map(|i| m.part(i).energy).sum::<f64>().max(1e-9);
    let lead = st.dominant[0];
    let share = m.part(ClipMotion::index(lead)).energy / total * 100.0;
    let mut text = format!(
        "Over the {} s clip the motion is {} and led by the {} ({share:.0}% of the motion energy)",
        secs(m.seconds()),
        st.tendency,
        spoken(lead)
    );
    if st.dominant.len() > 1 {
        let rest: Vec<String> = st.dominant[1..].iter().map(|p| format!("the {}", spoken(p))).collect();
        text.push_str(&format!(", with {} also moving", join(&rest)));
    }
    text.push('.');
    if !st.onsets.is_empty() {
        let order: Vec<String> = st.onsets.iter().take(4).map(|(p, t)| format!("the {} at {} s", spoken(p), secs(*t))).collect();
        text.push_str(&format!(" Motion starts with {}.", join(&order)));
    }
    for (name, start, end, sentence) in &st.phases {
        text.push_str(&format!(" In the {name} phase ({}–{} s), {sentence}.", secs(*start), secs(*end)));
    }
    text
}

impl RecordOperator for Describe {
    fn run(&self, _clip: &Clip, inputs: &[&Value], ctx: &mut RecordContext<'_>) -> Result<Output, String> {
        let captions = CAPTIONS.read(inputs).get("body_part_motion").and_then(Value::as_object).ok_or("the `captions` input is not a caption record")?;
        let m = ClipMotion::from_record(DESCRIPTOR.read(inputs))?;
        let st = structure(&m);
        let description = match &self.llm {
            None => describe_rules(&m, &st),
            Some(llm) => {
                let captions: Vec<String> =
                    captions.iter().map(|(k, v)| format!("- {k}: {}", v.as_str().unwrap_or(""))).collect();
                let prompt = llm.template.render(&[
                    ("seconds", &secs(m.seconds())),
                    ("captions", &captions.join("\n")),
                    ("by_energy", &m.summary.by_energy.join(", ")),
                    ("onset_order", &m.summary.onset_order.join(", ")),
                ]);
                llm.client.complete(&[Message::text("user", prompt)], false, ctx, |reply| {
                    let t = reply.trim();
                    if t.is_empty() { Err("the model's reply is empty".to_string()) } else { Ok(t.to_string()) }
                })?
            }
        };
        let record = json!({
            "description": description,
            "dominant_parts": st.dominant,
            "onset_order": st.onsets.iter().map(|(p, t)| json!({"part": p, "start": t})).collect::<Vec<_>>(),
            "tendency": st.tendency,
            "phases": st.phases.iter().map(|(n, a, b, t)| json!({"phase": n, "start": a, "end": b, "text": t})).collect::<Vec<_>>(),
        });
        let mut bytes = serde_json::to_vec_pretty(&record).expect("descriptions serialise");
        bytes.push(b'\n');
        Ok(Output { record, blobs: vec![Blob { ext: "json".into(), bytes }] })
    }

    fn served(&self, cache_dir: &std::path::Path) -> Option<Value> {
        self.llm.as_ref().map(|l| l.client.served(cache_dir))
    }
}
