//! `qa`: the benchmark items of one clip, 12 in the reference mix: CMAR ×1,
//! FMAR ×1, SAD ×2, MAD ×2, MAS ×2, PPR ×2, MADU ×1, MARE ×1.
//!
//! Yes/no items come from clear-cut claims about the descriptor
//! ([`claims`]), each confirmed by the independent [`check`]er; a clip's
//! items of one task alternate yes and no (seeded order), so answers are
//! balanced over the benchmark. Every closed item carries its provenance.
//! The task mix, counts, seed and thresholds are params.

pub mod check;
pub mod claims;
pub mod recognition;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::clip_motion::ClipMotion;
use super::rng::Rng;
use crate::common::taxonomy::action;
use claims::{Candidate, Claim, candidates};

use crate::prelude::*;

/// Every task, in the paper's column order.
pub const TASKS: [&str; 8] = ["CMAR", "FMAR", "SAD", "MAD", "MAS", "PPR", "MADU", "MARE"];

/// Items per task and clip in the reference recipe (MA-Bench's 12 per clip).
const REFERENCE_MIX: [(&str, u32); 8] =
    [("CMAR", 1), ("FMAR", 1), ("SAD", 2), ("MAD", 2), ("MAS", 2), ("PPR", 2), ("MADU", 1), ("MARE", 1)];

/// The closed tasks (scored by accuracy).
pub const CLOSED: [&str; 6] = ["CMAR", "FMAR", "SAD", "MAD", "MAS", "PPR"];

/// When yes/no answers are clear-cut.
#[configurable(default)]
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// A part moves noticeably at this mean speed (px/frame at a 1296-pixel frame height) or more.
    #[default(0.15)]
    pub yes_speed: f64,
    /// A part is still at this mean speed (px/frame at a 1296-pixel frame height) or less.
    #[default(0.06)]
    pub no_speed: f64,
    /// A distance changes noticeably when it drops (or grows) by this many pixels (at a 1296-pixel height) or more...
    #[default(8.0)]
    pub approach_px: f64,
    /// ...and by this fraction of the starting distance.
    #[default(0.05)]
    pub approach_fraction: f64,
    /// Two sub-motions are ordered only when they start this many seconds apart.
    #[default(0.15)]
    pub order_gap_s: f64,
}

/// The frame height the pixel thresholds are stated for (MA-52's).
pub const REFERENCE_HEIGHT: f64 = 1296.0;

impl Thresholds {
    /// The thresholds for a clip: pixel values scale with its frame height
    /// against MA-52's 1296, so a clip at half size asks the same questions.
    pub fn for_clip(&self, m: &ClipMotion) -> Thresholds {
        let k = if m.height > 0 { f64::from(m.height) / REFERENCE_HEIGHT } else { 1.0 };
        Thresholds { yes_speed: self.yes_speed * k, no_speed: self.no_speed * k, approach_px: self.approach_px * k, ..*self }
    }
}

/// Benchmark items of a clip over the 8 tasks (reference mix: CMAR 1, FMAR 1, SAD 2, MAD 2, MAS 2,
/// PPR 2, MADU 1, MARE 1). Yes/no answers are computed from the descriptor, confirmed by an
/// independent checker, and alternate yes/no per clip; CMAR/FMAR come from the label, FMAR with 4
/// seeded distractors (same body level first); MADU/MARE carry reference answers. Record: `items`
/// (id, clip, task, question, options, answer, reference, provenance), `shortfall`, `rejected`;
/// clips outside `splits` get no items.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QaConfig {
    /// Items per task and clip (tasks left out are not asked).
    #[default(REFERENCE_MIX.into_iter().map(|(k, v)| (k.to_string(), v)).collect())]
    pub tasks: BTreeMap<String, u32>,
    /// Seed of every choice (distractors, which claims, answer order).
    #[serde(default)]
    pub seed: u64,
    /// When yes/no answers are clear-cut.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Only clips of these splits get items (default: every clip), so one run
    /// can describe the training split and evaluate on the test split.
    #[serde(default)]
    pub splits: Option<Vec<String>>,
}


/// Input: the clip's descriptor.
const DESCRIPTOR: RecordIn = RecordIn::new(0, "descriptor");
/// Input: the clip's description.
const DESCRIPTION: RecordIn = RecordIn::new(1, "description");

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "qa",
    section: Section::Operators,
    version: 3,
    doc: QaConfig::DOC,
    inputs: &[DESCRIPTOR.port(), DESCRIPTION.port()],
    output: Some(PortType::Any),
    params: QaConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: QaConfig = parse_params(params)?;
    let mut diags = Vec::new();
    for task in config.tasks.keys() {
        if !TASKS.contains(&task.as_str()) {
            diags.push(
                param_error(params, "tasks", format!("unknown task `{task}`"))
                    .suggest(task, TASKS.iter().copied()),
            );
        }
    }
    for split in config.splits.iter().flatten() {
        if !["train", "val", "test"].contains(&split.as_str()) {
            diags.push(param_error(params, "splits", format!("unknown split `{split}`")).suggest(split, ["train", "val", "test"]));
        }
    }
    let t = &config.thresholds;
    // Not ordered (a NaN included) is as wrong as the wrong order.
    if t.no_speed.partial_cmp(&t.yes_speed) != Some(std::cmp::Ordering::Less) {
        diags.push(param_error(params, "thresholds", "`no_speed` must be below `yes_speed`, or answers are not clear-cut"));
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(built(&config.clone(), Runtime::Record(Arc::new(Qa { config }))))
}

/// Whether two parts are on the same limb chain (a question relating them says little).
pub fn adjacent(a: usize, b: usize) -> bool {
    const CHAINS: [[usize; 3]; 4] = [[2, 4, 6], [3, 5, 7], [8, 10, 12], [9, 11, 13]];
    CHAINS.iter().any(|c| c.contains(&a) && c.contains(&b))
}

/// One benchmark item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// `<clip>-<task>-<n>`.
    pub id: String,
    /// Clip id.
    pub clip: String,
    /// Task.
    pub task: String,
    /// The question.
    pub question: String,
    /// Options (letters A.. in order); empty for yes/no and open items.
    #[serde(default)]
    pub options: Vec<String>,
    /// The answer: an option letter, `yes`/`no`, or empty for open items.
    pub answer: String,
    /// Reference answer of open items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The facts that make the answer true.
    pub provenance: Value,
}

struct Qa {
    config: QaConfig,
}

impl RecordOperator for Qa {
    fn run(&self, clip: &Clip, inputs: &[&Value], _ctx: &mut RecordContext<'_>) -> Result<Output, String> {
        let thresholds = &self.config.thresholds;
        if let Some(splits) = &self.config.splits
            && !clip.split.as_ref().is_some_and(|s| splits.contains(s))
        {
            let split = clip.split.as_deref().unwrap_or("none");
            return Ok(Output::record(json!({"items": [], "shortfall": {}, "rejected": 0, "thresholds": thresholds, "not_evaluated": format!("split `{split}`")})));
        }
        let m = ClipMotion::from_record(DESCRIPTOR.read(inputs))?;
        let description = DESCRIPTION.read(inputs)["description"].as_str().ok_or("the `description` input is not a description record")?;
        let (items, shortfall, rejected) = make_items(clip, &m, description, &self.config);
        Ok(Output::record(json!({"items": items, "shortfall": shortfall, "rejected": rejected, "thresholds": thresholds})))
    }
}

/// The items of a clip, what could not be asked (per task), and how many candidates the checker rejected.
pub fn make_items(clip: &Clip, m: &ClipMotion, description: &str, config: &QaConfig) -> (Vec<Item>, BTreeMap<String, u32>, usize) {
    let t = &config.thresholds;
    let all = candidates(m, t);
    let total = all.len();
    let kept: Vec<Candidate> = all.into_iter().filter(|c| check::check(m, &c.claim, t) == Some(c.answer)).collect();
    let rejected = total - kept.len();
    let labelled = clip.label.and_then(action);
    let mut items = Vec::new();
    let mut shortfall = BTreeMap::new();
    for task in TASKS {
        let want = config.tasks.get(task).copied().unwrap_or(0);
        if want == 0 {
            continue;
        }
        let mut rng = Rng::new(config.seed, &[&clip.id, task]);
        let mut made: Vec<Draft> = Vec::new();
        match task {
            "CMAR" | "FMAR" | "MARE" => {
                if let Some(a) = labelled {
                    for _ in 0..want {
                        made.push(match task {
                            "CMAR" => {
                                let (q, o, ans, p) = recognition::cmar(a);
                                (q, o, ans, None, p)
                            }
                            "FMAR" => {
                                let (q, o, ans, p) = recognition::fmar(a, &mut rng);
                                (q, o, ans, None, p)
                            }
                            _ => (
                                recognition::MARE_QUESTION.into(),
                                Vec::new(),
                                String::new(),
                                Some(recognition::mare_reference(description, a)),
                                json!({"label": a.id, "action": a.name, "body_level": a.body_level().name}),
                            ),
                        });
                    }
                }
            }
            "MADU" => {
                for _ in 0..want {
                    made.push((recognition::MADU_QUESTION.into(), Vec::new(), String::new(), Some(description.to_string()), json!({"source": "description"})));
                }
            }
            _ => {
                let mut pool: Vec<&Candidate> = kept.iter().filter(|c| c.claim.task() == task).collect();
                rng.shuffle(&mut pool);
                let first_yes = rng.below(2) == 0;
                let mut used: Vec<&Claim> = Vec::new();
                for target in answer_plan(&pool, want, first_yes) {
                    let fresh = |c: &&&Candidate| !used.contains(&&c.claim) && !used.iter().any(|u| same_subject(u, &c.claim));
                    let pick = pool
                        .iter()
                        .find(|c| c.answer == target && fresh(c))
                        .or_else(|| pool.iter().find(|c| c.answer == target && !used.contains(&&c.claim)));
                    let Some(c) = pick else { break };
                    used.push(&c.claim);
                    let mut provenance = c.provenance.clone();
                    provenance["claim"] = serde_json::to_value(&c.claim).expect("claims serialise");
                    provenance["checked"] = json!(true);
                    made.push((c.claim.question(m), Vec::new(), if c.answer { "yes" } else { "no" }.into(), None, provenance));
                }
            }
        }
        if (made.len() as u32) < want {
            shortfall.insert(task.to_string(), want - made.len() as u32);
        }
        for (n, (question, options, answer, reference, provenance)) in made.into_iter().enumerate() {
            items.push(Item { id: format!("{}-{task}-{}", clip.id, n + 1), clip: clip.id.clone(), task: task.into(), question, options, answer, reference, provenance });
        }
    }
    (items, shortfall, rejected)
}

/// An item before it has an id: question, options, answer, reference, provenance.
type Draft = (String, Vec<String>, String, Option<String>, Value);

/// The answers a clip's items of one yes/no task will have: yes and no in
/// pairs, so answers balance over the benchmark; a clip that lacks one side
/// asks fewer items (its shortfall) rather than unbalance them. An odd last
/// item takes the seeded side where it can.
fn answer_plan(pool: &[&Candidate], want: u32, first_yes: bool) -> Vec<bool> {
    let count = |answer: bool| pool.iter().filter(|c| c.answer == answer).count();
    let (first, second) = (count(first_yes), count(!first_yes));
    let pairs = (want as usize / 2).min(first).min(second);
    let mut plan: Vec<bool> = (0..pairs).flat_map(|_| [first_yes, !first_yes]).collect();
    if want % 2 == 1 {
        if first > pairs {
            plan.push(first_yes);
        } else if second > pairs {
            plan.push(!first_yes);
        }
    }
    plan
}

/// Whether two claims ask about the same part(s) in the same phase (a clip's two items should differ).
fn same_subject(a: &Claim, b: &Claim) -> bool {
    match (a, b) {
        (Claim::Moves { part: p, phase: f, .. }, Claim::Moves { part: q, phase: g, .. }) => p == q && f == g,
        (Claim::Approaches { a, b, .. } | Claim::MovesAway { a, b, .. }, Claim::Approaches { a: c, b: d, .. } | Claim::MovesAway { a: c, b: d, .. }) => {
            a == c && b == d
        }
        (Claim::BothMove { a, b, phase: f } | Claim::MovesWhileStill { a, b, phase: f }, Claim::BothMove { a: c, b: d, phase: g } | Claim::MovesWhileStill { a: c, b: d, phase: g }) => {
            f == g && ((a, b) == (c, d) || (a, b) == (d, c))
        }
        // "A before B" and "B before A" ask the same thing twice.
        (Claim::Before { a, dir_a, b, dir_b }, Claim::Before { a: c, dir_a: dc, b: d, dir_b: dd }) => {
            (a, dir_a, b, dir_b) == (d, dd, c, dc) || (a, dir_a, b, dir_b) == (c, dc, d, dd)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::motion_summary::{SummaryParams, summarise};

    /// 3 s at 30 fps: the head nods through the first two thirds, the right
    /// hand rises toward the head in the middle third, the rest is still.
    fn clip_motion() -> ClipMotion {
        let n = 90;
        let mut vectors = vec![vec![[0.0f32, 0.0]; n]; PART_COUNT];
        let mut coords = vec![vec![[0.5f32, 0.5]; n]; PART_COUNT];
        for (t, v) in vectors[0].iter_mut().enumerate().take(60).skip(5) {
            *v = [0.0, if (t - 5) / 6 % 2 == 0 { 1.5 } else { -1.5 }];
        }
        coords[0] = vec![[0.5, 0.2]; n];
        let mut hand = [0.7f32, 0.8];
        for t in 0..n {
            if (32..56).contains(&t) {
                vectors[7][t] = [-4.0, 8.0];
                hand = [hand[0] - 4.0 / 1080.0, hand[1] - 8.0 / 1296.0];
            }
            coords[7][t] = hand;
        }
        let p = SummaryParams { noise_floor: 0.3, relative_threshold: 0.3, merge_gap: 0.2, min_period: 0.1 };
        let summary = summarise(&vectors, &coords, 1080, 1296, 30.0, &p);
        ClipMotion { fps: 30.0, num_frames: n, width: 1080, height: 1296, vectors, coords, summary }
    }

    #[test]
    fn twelve_items_balanced_checked_and_labelled() {
        let clip = Clip { id: "0001_01_0001".into(), path: "x.mp4".into(), label: Some(9), label_name: None, participant: None, split: None };
        let config: QaConfig = serde_json::from_value(json!({})).unwrap();
        let m = clip_motion();
        let (items, shortfall, _) = make_items(&clip, &m, "The head nods.", &config);
        assert!(shortfall.is_empty(), "{shortfall:?}");
        assert_eq!(items.len(), 12);
        let cmar = items.iter().find(|i| i.task == "CMAR").unwrap();
        assert_eq!(cmar.options[recognition::LETTERS.iter().position(|l| *l == cmar.answer).unwrap()], "Head");
        let fmar = items.iter().find(|i| i.task == "FMAR").unwrap();
        assert_eq!(fmar.options.len(), 5);
        assert_eq!(fmar.options[recognition::LETTERS.iter().position(|l| *l == fmar.answer).unwrap()], "nodding");
        for task in ["SAD", "MAD", "MAS", "PPR"] {
            let answers: Vec<&str> = items.iter().filter(|i| i.task == task).map(|i| i.answer.as_str()).collect();
            let mut sorted = answers.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, ["no", "yes"], "{task}: one yes and one no per clip");
        }
        for item in items.iter().filter(|i| ["SAD", "MAD", "MAS", "PPR"].contains(&i.task.as_str())) {
            let claim: Claim = serde_json::from_value(item.provenance["claim"].clone()).unwrap();
            assert_eq!(check::check(&m, &claim, &config.thresholds), Some(item.answer == "yes"), "{}", item.question);
        }
        let ppr_yes = items.iter().find(|i| i.task == "PPR" && i.answer == "yes").unwrap();
        assert!(ppr_yes.question.contains("right hand") && ppr_yes.question.contains("middle"), "{}", ppr_yes.question);
        // The same clip and seed give the same items; another seed changes choices, never answers' truth.
        assert_eq!(make_items(&clip, &m, "The head nods.", &config).0, items);
    }

    #[test]
    fn clips_outside_the_evaluated_splits_get_no_items() {
        let config: QaConfig = serde_json::from_value(json!({"splits": ["test"]})).unwrap();
        let qa = Qa { config };
        let mut clip = Clip { id: "0001_01_0001".into(), path: "x.mp4".into(), label: Some(9), label_name: None, participant: None, split: Some("train".into()) };
        let m = clip_motion();
        let descriptor = json!({"descriptor": {}, "meta": {"fps": 30.0}, "summary": {}});
        let description = json!({"description": "The head nods."});
        let dir = std::env::temp_dir();
        let mut ctx = RecordContext { cache_dir: &dir, calls: Default::default() };
        let out = qa.run(&clip, &[&descriptor, &description], &mut ctx).unwrap();
        assert_eq!(out.record["items"], json!([]));
        assert_eq!(out.record["not_evaluated"], "split `train`");
        // A test clip is read and asked (here the descriptor record is not a real one, so it fails on it).
        clip.split = Some("test".into());
        assert!(qa.run(&clip, &[&descriptor, &description], &mut ctx).is_err());
        assert_eq!(make_items(&clip, &m, "The head nods.", &qa.config).0.len(), 12);
    }
}
