//! `describe`: one clip-level description, MA-Bench's MADU reference, from
//! the part captions and the clip's facts, in the benchmark's register
//! (40–130 words, amplitude in words, no speeds or decimal times): the
//! dominant part first, then lead and follow, trend and rhythm, the path
//! against the body, and the initial, middle and late phases. Backend
//! `rules` (default, offline) states the salient facts; `llm` (prompt
//! `pipelines/prompts/describe.md`) is held to the facts and the register,
//! and a reply that goes against either is asked again (`retries`) with the
//! reason named, then an error quoting it.
//!
//! Record and file: `{"description", "dominant_parts", "onset_order",
//! "tendency", "phases": [{"phase", "start", "end", "text"}]}`; the
//! structured fields are always the facts'.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::agreement::Reading;
use super::author::{Author, PromptedLlm, WithPrompt, build_llm, refuse_unread};
use super::clip_motion::{capitalised, join, secs, spoken};
use super::facts::{ClipFacts, PhaseFacts, Verdict, adjacent};
use super::qa::claims::candidates;
use crate::common::body::PARTS;
use crate::common::record_types::{self as records, record};
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
    pub backend: Author,
    /// Prompt template file for `llm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[example("pipelines/prompts/describe.md")]
    pub prompt: Option<PathBuf>,
    /// The endpoint for `llm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[example(
        r#"{base_url: http://localhost:8000/v1, model: Qwen3-8B, api_key: "${env:LLM_KEY}"}"#
    )]
    #[fields(Endpoint)]
    pub llm: Option<Endpoint>,
    /// For `llm`: times a reply that contradicts the facts is asked again, with the contradiction named.
    #[default(2)]
    pub retries: u32,
}

/// Input: the clip's part captions.
const CAPTIONS: RecordIn = RecordIn::new(0, "captions", records::CAPTIONS);
/// Input: the clip's facts.
const FACTS: RecordIn = RecordIn::new(1, "facts", records::FACTS);

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "describe",
    section: Section::Operators,
    version: 3,
    doc: DescribeConfig::DOC,
    inputs: &[CAPTIONS.port(), FACTS.port()],
    output: Some(record(records::DESCRIPTION)),
    params: DescribeConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: DescribeConfig = parse_params(params)?;
    if config.backend == Author::Rules {
        refuse_unread(
            params,
            "rules",
            &["prompt", "llm", "retries"],
            "llm",
            &DescribeConfig::params(),
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
        Runtime::Record(Arc::new(Describe {
            llm,
            retries: config.retries,
        })),
    ))
}

struct Describe {
    llm: Option<PromptedLlm>,
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
    let mut movers: Vec<&super::facts::PartFacts> = phase
        .parts
        .iter()
        .filter(|p| p.moves == Verdict::Yes)
        .collect();
    movers.sort_by(|a, b| b.mean_speed.total_cmp(&a.mean_speed));
    let slight: Vec<String> = phase
        .parts
        .iter()
        .filter(|p| p.moves == Verdict::Unclear)
        .map(|p| format!("the {}", spoken(&p.part)))
        .collect();
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
            let way = if w.is_empty() {
                String::new()
            } else {
                format!(" {}", ways(w))
            };
            let names: Vec<String> = parts
                .iter()
                .map(|p| format!("the {}", spoken(&p.part)))
                .collect();
            let speeds: Vec<String> = parts
                .iter()
                .map(|p| format!("{:.2}", p.mean_speed))
                .collect();
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
                .filter(|x| {
                    x.phase == phase.name
                        && x.a == a
                        && if approach { x.approaches } else { x.moves_away } == Verdict::Yes
                })
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

/// The words for a part moving the ways it clearly moves, plural when `many` parts do.
fn motion_words(ways: &[&str], many: bool) -> String {
    let s = if many { "" } else { "s" };
    match ways {
        [] => format!("shift{s} about"),
        ["up"] => format!("rise{s}"),
        ["down"] => format!("drop{s}"),
        [one] => format!("move{s} to the {one}"),
        ["up", "down"] => format!("move{s} up and down"),
        ["right", "left"] => format!("sway{s} left and right"),
        [v @ ("up" | "down"), h @ ("right" | "left")] => format!("move{s} {v} and to the {h}"),
        _ => format!("move{s} {}", ways.join(" and ")),
    }
}

/// A part's amplitude in words, from the facts' magnitude: `small`, `moderate` or `large`.
pub fn amplitude(f: &ClipFacts, part: &str) -> &'static str {
    match f
        .parts
        .iter()
        .find(|p| p.part == part)
        .map(|p| p.magnitude.as_str())
    {
        Some("strongly") => "large",
        Some("moderately") => "moderate",
        _ => "small",
    }
}

/// A number from two to twelve in words (references state counts, never digits).
fn count_word(n: u32) -> String {
    const WORDS: [&str; 11] = [
        "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    ];
    WORDS
        .get(n.saturating_sub(2) as usize)
        .map_or("many".into(), |w| (*w).into())
}

/// Body regions named when all their parts stay still, with their parts.
const REGIONS: [(&str, &[usize]); 4] = [
    ("the head", &[0]),
    ("the torso", &[1]),
    ("the arms", &[2, 3, 4, 5, 6, 7]),
    ("the legs", &[8, 9, 10, 11, 12, 13]),
];

/// How much a phase sentence says: the most parts it names as moving, and whether it names a change of distance.
#[derive(Clone, Copy, Debug)]
pub struct Detail {
    /// Parts named as moving, fastest first.
    pub movers: usize,
    /// Changes of distance named, clearest first.
    pub distances: usize,
}

/// The detail a phase sentence can have, least first. The rules description starts every phase at
/// one mover and adds detail phase by phase, a change of distance first (the PPR facts are the ones
/// most often left unsaid otherwise), while the text fits its word budget.
const DETAILS: [Detail; 4] = [
    Detail {
        movers: 1,
        distances: 0,
    },
    Detail {
        movers: 1,
        distances: 1,
    },
    Detail {
        movers: 2,
        distances: 1,
    },
    Detail {
        movers: 2,
        distances: 2,
    },
];

/// One phase in MA-Bench's register: its fastest movers (at most `detail.movers`) with the ways
/// they go, the clearest change of distance (a hand or foot extending from or retracting toward the
/// torso, or approaching a part), and what stays still: "the rest" when every other part does, else
/// the regions that do, less those `still_throughout` the clip (said once for the whole clip).
pub fn phase_sentence(
    f: &ClipFacts,
    phase: &PhaseFacts,
    detail: Detail,
    still_throughout: &[&str],
) -> String {
    let mut movers: Vec<&super::facts::PartFacts> = phase
        .parts
        .iter()
        .filter(|p| p.moves == Verdict::Yes)
        .collect();
    if movers.is_empty() {
        return format!("In the {} phase no part moves noticeably.", phase.name);
    }
    movers.sort_by(|a, b| b.mean_speed.total_cmp(&a.mean_speed));
    movers.truncate(detail.movers);
    let mut named: Vec<&str> = movers.iter().map(|p| p.part.as_str()).collect();
    let mut groups: Vec<(Vec<&str>, Vec<&str>)> = Vec::new();
    for p in &movers {
        let w = p.ways();
        match groups.iter_mut().find(|(g, _)| *g == w) {
            Some((_, parts)) => parts.push(&p.part),
            None => groups.push((w, vec![&p.part])),
        }
    }
    let mut clauses: Vec<String> = groups
        .iter()
        .map(|(w, parts)| {
            let names: Vec<String> = parts.iter().map(|p| format!("the {}", spoken(p))).collect();
            format!("{} {}", join(&names), motion_words(w, parts.len() > 1))
        })
        .collect();
    for x in clearest_changes(f, phase, detail.distances) {
        let extremity = x.a.ends_with("Hand") || x.a.ends_with("Foot");
        let verb = match (x.approaches == Verdict::Yes, extremity && x.b == "Torso") {
            (true, true) => "retracts toward",
            (false, true) => "extends away from",
            (true, false) => "approaches",
            (false, false) => "moves away from",
        };
        clauses.push(format!("the {} {verb} the {}", spoken(&x.a), spoken(&x.b)));
        named.push(&x.a);
    }
    let unnamed_still = |parts: &[usize]| {
        parts.iter().all(|&i| {
            phase.parts[i].moves == Verdict::No && !named.contains(&phase.parts[i].part.as_str())
        })
    };
    let all: Vec<usize> = (0..phase.parts.len())
        .filter(|&i| !named.contains(&phase.parts[i].part.as_str()))
        .collect();
    if !all.is_empty() && unnamed_still(&all) {
        clauses.push("the rest stays still".into());
    } else {
        let still: Vec<String> = REGIONS
            .iter()
            .filter(|(name, parts)| !still_throughout.contains(name) && unnamed_still(parts))
            .map(|(name, _)| name.to_string())
            .collect();
        if !still.is_empty() {
            let verb = if still.len() == 1 && !still[0].ends_with('s') {
                "stays"
            } else {
                "stay"
            };
            clauses.push(format!("{} {verb} still", join(&still)));
        }
    }
    format!("In the {} phase {}.", phase.name, clauses.join("; "))
}

/// The clearest changes of distance in `phase`: the `n` largest among its
/// clear approaches and departures.
fn clearest_changes<'f>(
    f: &'f ClipFacts,
    phase: &PhaseFacts,
    n: usize,
) -> impl Iterator<Item = &'f super::facts::Proximity> {
    let change = |x: &super::facts::Proximity| {
        let [start, closest, farthest, _] = x.distance;
        if x.approaches == Verdict::Yes {
            start - closest
        } else {
            farthest - start
        }
    };
    let mut changes: Vec<&super::facts::Proximity> = f
        .proximity
        .iter()
        .filter(|x| {
            x.phase == phase.name && (x.approaches == Verdict::Yes || x.moves_away == Verdict::Yes)
        })
        .collect();
    changes.sort_by(|a, b| change(b).total_cmp(&change(a)));
    changes.into_iter().take(n)
}

/// Where the clip's first placed dominant part is against the body over the clip, as one sentence.
fn place_sentence(f: &ClipFacts) -> Option<String> {
    let part = f
        .dominant
        .iter()
        .find(|d| super::facts::PLACED.contains(&d.as_str()))?;
    let p = f.placement(super::facts::WHOLE, part)?;
    let height = match p.height.as_str() {
        "high" => "high above the shoulders",
        "low" => "low below the hips",
        "middle" => "at the height of the torso",
        _ => return None,
    };
    let front = if p.in_front == Some(Verdict::Yes) {
        " in front of the torso"
    } else {
        ""
    };
    let cross = match (p.crosses_midline, p.in_front) {
        (Some(Verdict::Yes), Some(Verdict::Yes)) => {
            " and sweeps across the front of the body past its midline"
        }
        (Some(Verdict::Yes), _) => " and crosses the body's midline",
        (Some(Verdict::No), _) => " and keeps to its own side of the body's midline",
        _ => "",
    };
    Some(format!(
        "The {} stays {height}{front}{cross}.",
        spoken(part)
    ))
}

/// The rules description of a clip in MA-Bench's register, from general to specific: the dominant
/// part and its amplitude, the parts that follow, the order of motions (lead and follow), the trend
/// and rhythm with the return, where the motion is against the body, then the three phases. Every
/// statement is a fact; amplitude and counts are in words, never numbers. The phases are told in the
/// most detail that keeps the text within [`RULES_WORDS`].
pub fn describe_rules(f: &ClipFacts) -> String {
    let fits = |t: &str| t.split_whitespace().count() <= RULES_WORDS;
    let mut levels = [0usize; 3];
    let mut text = describe_with(f, levels.map(|k| DETAILS[k]));
    for level in 1..DETAILS.len() {
        for phase in 0..3 {
            let mut more = levels;
            more[phase] = level;
            let longer = describe_with(f, more.map(|k| DETAILS[k]));
            if fits(&longer) {
                (levels, text) = (more, longer);
            }
        }
    }
    text
}

fn describe_with(f: &ClipFacts, details: [Detail; 3]) -> String {
    let Some(lead) = f.dominant.first() else {
        return "Over the clip the person stays still: no body part moves noticeably. The head, the torso, the arms and the legs \
                all stay still from start to end, so the measured motion shows no micro-action to describe, and the clip's label \
                rests on its posture alone."
            .into();
    };
    let mut text = lead_sentence(f, lead);
    text.push_str(&follower_sentence(f, lead));
    text.push_str(&order_sentence(f));
    text.push_str(&tendency_sentence(f, lead));
    if let Some(place) = place_sentence(f) {
        text.push_str(&format!(" {place}"));
    }
    // Regions still in every phase are said once, for the whole clip.
    let still_throughout = still_throughout(f);
    text.push_str(&still_sentence(&still_throughout));
    text.push_str(&phase_sentences(f, details, &still_throughout));
    text
}

/// The lead part, the way it moves over the clip and its amplitude.
fn lead_sentence(f: &ClipFacts, lead: &str) -> String {
    let whole = f
        .whole
        .parts
        .iter()
        .find(|p| p.part == *lead)
        .map(|p| p.ways())
        .unwrap_or_default();
    if whole.is_empty() {
        format!(
            "The {} carries most of the motion with a {} amplitude.",
            spoken(lead),
            amplitude(f, lead)
        )
    } else {
        format!(
            "The {} carries most of the motion and {} with a {} amplitude.",
            spoken(lead),
            motion_words(&whole, false),
            amplitude(f, lead)
        )
    }
}

/// The follower: the next dominant part off the lead's limb, if any.
fn follower_sentence(f: &ClipFacts, lead: &str) -> String {
    let at = |p: &str| PARTS.iter().position(|q| *q == p).unwrap_or(0);
    if let Some(next) = f.dominant[1..].iter().find(|p| !adjacent(at(lead), at(p))) {
        let ways = f
            .whole
            .parts
            .iter()
            .find(|p| p.part == *next)
            .map(|p| p.ways())
            .unwrap_or_default();
        let how = if ways.is_empty() {
            String::new()
        } else {
            format!(" and {}", motion_words(&ways, false))
        };
        return format!(" The {} follows with less motion{how}.", spoken(next));
    }
    String::new()
}

/// The order of the first motions (one limb part each): lead and follow.
fn order_sentence(f: &ClipFacts) -> String {
    let at = |p: &str| PARTS.iter().position(|q| *q == p).unwrap_or(0);
    let mut firsts: Vec<&super::facts::Start> = Vec::new();
    // Each listed start comes clearly after the one before it, so that every order stated is a clear fact.
    for s in &f.starts {
        let after = firsts
            .last()
            .is_none_or(|x| s.start - x.start >= f.thresholds.order_gap_s - 1e-9);
        if firsts.len() < 3
            && after
            && !firsts
                .iter()
                .any(|x| x.part != s.part && adjacent(at(&x.part), at(&s.part)))
        {
            firsts.push(s);
        }
    }
    let starts: Vec<String> = firsts
        .iter()
        .map(|s| {
            let ways: Vec<&str> = s.direction.split('-').collect();
            format!("the {} {}", spoken(&s.part), motion_words(&ways, false))
        })
        .collect();
    if starts.len() >= 2 {
        format!(" First {}.", starts.join(", then "))
    } else if let [(a, _), (b, _), ..] = f.onsets.as_slice() {
        format!(" The {} leads and the {} follows.", spoken(a), spoken(b))
    } else {
        String::new()
    }
}

/// The tendency of the motion, and whether the lead returns to where it started.
fn tendency_sentence(f: &ClipFacts, lead: &str) -> String {
    let trend = match f.tendency.as_str() {
        "repetitive" => format!(
            "The motion is repetitive, about {} back-and-forth cycles",
            count_word(f.cycles.max(2))
        ),
        "single" => "The motion is a single movement".to_string(),
        _ => "The motion is continuous".to_string(),
    };
    let back = match f.returns {
        Verdict::Yes => format!(" and the {} returns to where it started", spoken(lead)),
        Verdict::No => format!(" and the {} ends away from where it started", spoken(lead)),
        Verdict::Unclear => String::new(),
    };
    format!(" {trend}{back}.")
}

/// The regions still in every phase.
fn still_throughout(f: &ClipFacts) -> Vec<&'static str> {
    REGIONS
        .iter()
        .filter(|(_, parts)| {
            f.phases
                .iter()
                .all(|p| parts.iter().all(|&i| p.parts[i].moves == Verdict::No))
        })
        .map(|(name, _)| *name)
        .collect()
}

/// The regions still throughout, said once.
fn still_sentence(still_throughout: &[&str]) -> String {
    if still_throughout.is_empty() {
        return String::new();
    }
    let names: Vec<String> = still_throughout.iter().map(|n| n.to_string()).collect();
    let verb = if names.len() == 1 && !names[0].ends_with('s') {
        "stays"
    } else {
        "stay"
    };
    format!(" {} {verb} still throughout.", capitalised(&join(&names)))
}

/// Each phase's sentence; phases that read alike are said once: "In the middle and late phases …".
fn phase_sentences(f: &ClipFacts, details: [Detail; 3], still_throughout: &[&str]) -> String {
    let mut text = String::new();
    let mut said: Vec<(Vec<&str>, String)> = Vec::new();
    for (phase, detail) in f.phases.iter().zip(details) {
        let sentence = phase_sentence(f, phase, detail, still_throughout);
        let body = sentence
            .split_once(" phase ")
            .map_or(sentence.clone(), |(_, b)| b.to_string());
        match said.last_mut() {
            Some((names, last)) if *last == body => names.push(&phase.name),
            _ => said.push((vec![&phase.name], body)),
        }
    }
    for (names, body) in said {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let phases = if names.len() == 1 { "phase" } else { "phases" };
        text.push_str(&format!(" In the {} {phases} {body}", join(&names)));
    }
    text
}

/// The rules description's word budget: the register's upper bound, so that the changes of distance
/// (PPR's facts) still fit on clips where many parts move.
pub const RULES_WORDS: usize = 130;

/// Words a description may have: MA-Bench's references run 42–113 words.
pub const DESCRIPTION_WORDS: std::ops::RangeInclusive<usize> = 40..=130;

/// What keeps a description from MA-Bench's register: its length out of [`DESCRIPTION_WORDS`], a
/// speed in px/frame, a decimal number (a time or a speed). Empty when it reads as a reference should.
pub fn register_problems(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let words = text.split_whitespace().count();
    if !DESCRIPTION_WORDS.contains(&words) {
        out.push(format!(
            "it has {words} words, and a description has {} to {}",
            DESCRIPTION_WORDS.start(),
            DESCRIPTION_WORDS.end()
        ));
    }
    if text.contains("px") || text.contains("pixel") {
        out.push("it gives a speed in pixels; state amplitude in words".into());
    }
    let chars: Vec<char> = text.chars().collect();
    if chars
        .windows(3)
        .any(|w| w[0].is_ascii_digit() && w[1] == '.' && w[2].is_ascii_digit())
    {
        out.push("it gives a decimal number (a time or a speed); name the phase and state amounts in words".into());
    }
    out
}

/// Where a description contradicts the clip's facts: each clear-cut claim it goes against,
/// with the sentence.
pub fn contradictions(f: &ClipFacts, description: &str) -> Vec<String> {
    let reading = Reading::of(description);
    let mut out: Vec<String> = Vec::new();
    for c in candidates(f) {
        if let Some(x) = reading.contradicts(&c.claim, c.answer) {
            let line = format!(
                "\"{}\" (in \"{}\") contradicts the measurements: {}",
                x.clause, x.sentence, x.why
            );
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    out
}

impl RecordOperator for Describe {
    fn run(
        &self,
        _clip: &Clip,
        inputs: &[&Value],
        ctx: &mut RecordContext<'_>,
    ) -> Result<Output, String> {
        let captions = CAPTIONS
            .read(inputs)
            .get("body_part_motion")
            .and_then(Value::as_object)
            .ok_or("the `captions` input is not a caption record")?;
        let f = ClipFacts::from_record(FACTS.read(inputs))?;
        let description = match &self.llm {
            None => describe_rules(&f),
            Some(llm) => {
                let captions: Vec<String> = captions
                    .iter()
                    .map(|(k, v)| format!("- {k}: {}", v.as_str().unwrap_or("")))
                    .collect();
                let phases: Vec<String> = f
                    .phases
                    .iter()
                    .map(|p| {
                        format!(
                            "- {} phase ({}–{} s): {}",
                            p.name,
                            secs(p.start),
                            secs(p.end),
                            phase_text(&f, p)
                        )
                    })
                    .collect();
                let prompt = llm.template.render(&[
                    ("seconds", &secs(f.seconds)),
                    ("captions", &captions.join("\n")),
                    ("by_energy", &f.by_energy.join(", ")),
                    (
                        "onset_order",
                        &f.onsets
                            .iter()
                            .map(|(p, _)| p.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
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

impl Describe {
    /// Asks for a description that contradicts none of the facts, re-asking with the contradictions named.
    fn ask(
        &self,
        llm: &PromptedLlm,
        f: &ClipFacts,
        prompt: String,
        ctx: &mut RecordContext<'_>,
    ) -> Result<String, String> {
        let accept = |reply: &str| {
            let t = reply.trim();
            if t.is_empty() {
                return Err("the model's reply is empty".to_string());
            }
            let mut wrong = contradictions(f, t);
            wrong.extend(register_problems(t));
            if wrong.is_empty() {
                Ok(t.to_string())
            } else {
                Err(wrong.join("; "))
            }
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
                        format!("Your description does not fit: {cause}. Rewrite the whole description so that it states only what the facts say, in the length and register asked for."),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(format!(
            "the description does not fit the facts or the register after {} tries: {last}",
            self.retries + 1
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::clip_motion::ClipMotion;
    use super::super::facts::{Thresholds, facts};
    use super::*;
    use crate::common::motion_summary::{SummaryParams, summarise};

    #[test]
    fn the_register_refuses_numbers_and_lengths_outside_the_references() {
        assert!(
            register_problems("The head moves.")
                .iter()
                .any(|p| p.contains("3 words"))
        );
        let long = "word ".repeat(131);
        assert!(
            register_problems(&long)
                .iter()
                .any(|p| p.contains("131 words"))
        );
        let numbers = format!("{} the head moves at 0.4 px/frame.", "word ".repeat(45));
        let problems = register_problems(&numbers);
        assert!(
            problems.iter().any(|p| p.contains("pixels"))
                && problems.iter().any(|p| p.contains("decimal")),
            "{problems:?}"
        );
        assert!(
            register_problems(&format!("{} about three cycles.", "word ".repeat(45))).is_empty()
        );
        assert_eq!(count_word(3), "three");
        assert_eq!(motion_words(&["up"], false), "rises");
        assert_eq!(
            motion_words(&["right", "left"], true),
            "sway left and right"
        );
        // A clip where nothing moves is described in the register too.
        let n = 60;
        let (vectors, coords) = (
            vec![vec![[0.0f32, 0.0]; n]; PARTS.len()],
            vec![vec![[0.5f32, 0.5]; n]; PARTS.len()],
        );
        let p = SummaryParams {
            noise_floor: 0.1,
            relative_threshold: 0.3,
            merge_gap: 0.2,
            min_period: 0.1,
        };
        let summary = summarise(&vectors, &coords, 1080, 1296, 30.0, &p);
        let m = ClipMotion {
            fps: 30.0,
            num_frames: n,
            width: 1080,
            height: 1296,
            vectors,
            coords,
            summary,
        };
        let text = describe_rules(&facts(&m, &Thresholds::default()));
        assert!(register_problems(&text).is_empty(), "{text}");
        assert!(
            contradictions(&facts(&m, &Thresholds::default()), &text).is_empty(),
            "{text}"
        );
    }
}
