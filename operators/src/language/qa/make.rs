//! The items of one clip: yes/no items from the clip's facts, checked on
//! its raw frames and stated by its description, recognition items from its
//! label, open items from its description; and the check that the
//! description contradicts none of the clip's clear facts.

use std::collections::BTreeMap;

use maflow_engine::data::Clip;
use serde_json::{Value, json};

use super::claims::{Candidate, Claim, candidates};
use super::item::{Item, TASKS};
use super::{check, recognition};
use crate::common::taxonomy::{Action, action};
use crate::language::agreement::Reading;
use crate::language::clip_motion::ClipMotion;
use crate::language::explain::mare_reference;
use crate::language::facts::ClipFacts;
use crate::language::rng::Rng;

/// The share of each yes/no task's questions that name a phase, near MA-Bench's own.
pub const PHASE_SHARE: [(&str, f64); 4] =
    [("SAD", 0.25), ("MAD", 0.85), ("MAS", 0.05), ("PPR", 1.0)];

/// A clip's items and what could not be asked.
#[derive(Debug)]
pub struct Made {
    /// The items.
    pub items: Vec<Item>,
    /// Items short of the mix, per task.
    pub shortfall: BTreeMap<String, u32>,
    /// Candidates the independent checker doubted or disagreed with.
    pub rejected: usize,
    /// True claims the description does not state (never asked, so every "yes" is in the reference).
    pub unstated: usize,
}

/// What shapes a clip's items: the `qa` params that choose them.
#[derive(Clone, Copy, Debug)]
pub struct Recipe<'a> {
    /// Items per task and clip.
    pub tasks: &'a BTreeMap<String, u32>,
    /// Seed of every choice.
    pub seed: u64,
    /// The chance that each FMAR distractor comes from the true action's body level.
    pub fmar_same_level: f64,
    /// Per yes/no task, the share of its questions that name a phase ([`PHASE_SHARE`] for the others).
    pub phase_share: &'a BTreeMap<String, f64>,
}

/// The items of a clip, from its facts and checked against its raw frames and its description.
///
/// # Errors
/// When the description contradicts one of the clip's clear facts (asked as an item or not): the
/// sentence, what it contradicts, and the item when one asks it.
pub fn make_items(
    clip: &Clip,
    m: &ClipMotion,
    facts: &ClipFacts,
    description: &str,
    recipe: &Recipe<'_>,
) -> Result<Made, String> {
    let screened = Screened::of(m, facts, description);
    let labelled = clip.label.and_then(action);
    let mut items = Vec::new();
    let mut shortfall = BTreeMap::new();
    for task in TASKS {
        let want = recipe.tasks.get(task).copied().unwrap_or(0);
        if want == 0 {
            continue;
        }
        let mut rng = Rng::new(recipe.seed, &[&clip.id, task]);
        let made: Vec<Draft> = match task {
            "CMAR" | "FMAR" | "MARE" => labelled.map_or_else(Vec::new, |a| {
                (0..want)
                    .map(|_| recognition_draft(task, a, &mut rng, recipe, description, facts))
                    .collect()
            }),
            "MADU" => (0..want)
                .map(|_| madu_draft(&mut rng, description))
                .collect(),
            _ => yes_no_drafts(task, &screened.kept, want, &mut rng, recipe),
        };
        if (made.len() as u32) < want {
            shortfall.insert(task.to_string(), want - made.len() as u32);
        }
        items.extend(numbered(clip, task, made));
    }
    contradictions(clip, &screened, &items, recipe.seed)?;
    Ok(Made {
        items,
        shortfall,
        rejected: screened.rejected,
        unstated: screened.unstated,
    })
}

/// A clip's candidate claims after the checks.
struct Screened {
    /// The claims the independent checker confirms.
    checked: Vec<Candidate>,
    /// Of those, the ones that may be asked: every "no", and each "yes" the description states.
    kept: Vec<Candidate>,
    /// Candidates the checker doubted or disagreed with.
    rejected: usize,
    /// Checked "yes" claims the description does not state.
    unstated: usize,
    /// The description, read.
    reading: Reading,
}

impl Screened {
    fn of(m: &ClipMotion, facts: &ClipFacts, description: &str) -> Self {
        let t = &facts.thresholds;
        let all = candidates(facts);
        let total = all.len();
        let checked: Vec<Candidate> = all
            .into_iter()
            .filter(|c| check::check(m, &c.claim, t) == Some(c.answer))
            .collect();
        let rejected = total - checked.len();
        // A "yes" the reference does not state would mark a model wrong for saying what the reference leaves out.
        let reading = Reading::of(description);
        let kept: Vec<Candidate> = checked
            .iter()
            .filter(|c| !c.answer || reading.states(&c.claim))
            .cloned()
            .collect();
        let unstated = checked.len() - kept.len();
        Self {
            checked,
            kept,
            rejected,
            unstated,
            reading,
        }
    }
}

/// One CMAR, FMAR or MARE item of a clip labelled `a`.
fn recognition_draft(
    task: &str,
    a: &Action,
    rng: &mut Rng,
    recipe: &Recipe<'_>,
    description: &str,
    facts: &ClipFacts,
) -> Draft {
    match task {
        "CMAR" => {
            let (q, o, ans, p) = recognition::cmar(a, rng);
            (q, o, ans, None, p)
        }
        "FMAR" => {
            let (q, o, ans, p) = recognition::fmar(a, recipe.fmar_same_level, rng);
            (q, o, ans, None, p)
        }
        _ => (
            recognition::mare_question(rng),
            Vec::new(),
            String::new(),
            Some(mare_reference(description, facts, a)),
            json!({"label": a.id, "action": a.name, "body_level": a.body_level().name}),
        ),
    }
}

/// One MADU item: the description is its reference.
fn madu_draft(rng: &mut Rng, description: &str) -> Draft {
    (
        recognition::madu_question(rng),
        Vec::new(),
        String::new(),
        Some(description.to_string()),
        json!({"source": "description"}),
    )
}

/// Up to `want` items of the yes/no `task` from the claims that may be asked,
/// yes and no alternating, each claim asked once, two items about one
/// subject only when nothing else is left.
fn yes_no_drafts(
    task: &str,
    kept: &[Candidate],
    want: u32,
    rng: &mut Rng,
    recipe: &Recipe<'_>,
) -> Vec<Draft> {
    let mut pool: Vec<&Candidate> = kept.iter().filter(|c| c.claim.task() == task).collect();
    rng.shuffle(&mut pool);
    let first_yes = rng.below(2) == 0;
    let share = recipe
        .phase_share
        .get(task)
        .copied()
        .or_else(|| {
            PHASE_SHARE
                .iter()
                .find(|(t, _)| *t == task)
                .map(|(_, s)| *s)
        })
        .unwrap_or(1.0);
    let mut made = Vec::new();
    let mut used: Vec<&Claim> = Vec::new();
    for target in answer_plan(&pool, want, first_yes) {
        // Whether this item names a phase is drawn first; a clip without such a candidate asks the other kind.
        let named = rng.chance(share);
        // A claim is asked once, whether or not its question names a phase.
        let fits = |c: &&&Candidate, named: bool| {
            c.answer == target
                && c.claim.names_phase() == named
                && !used
                    .iter()
                    .any(|u| **u == c.claim || same_order(u, &c.claim))
        };
        let fresh = |c: &&&Candidate| !used.iter().any(|u| same_subject(u, &c.claim));
        let pick = [named, !named]
            .into_iter()
            .find_map(|n| pool.iter().find(|c| fits(c, n) && fresh(c)))
            .or_else(|| {
                [named, !named]
                    .into_iter()
                    .find_map(|n| pool.iter().find(|c| fits(c, n)))
            });
        let Some(c) = pick else { break };
        used.push(&c.claim);
        let mut provenance = c.provenance.clone();
        provenance["claim"] = serde_json::to_value(&c.claim).expect("claims serialise");
        provenance["checked"] = json!(true);
        made.push((
            c.claim.question(rng),
            Vec::new(),
            if c.answer { "yes" } else { "no" }.into(),
            None,
            provenance,
        ));
    }
    made
}

/// The drafts of one task as items, numbered from 1.
fn numbered<'a>(
    clip: &'a Clip,
    task: &'a str,
    made: Vec<Draft>,
) -> impl Iterator<Item = Item> + 'a {
    made.into_iter().enumerate().map(
        move |(n, (question, options, answer, reference, provenance))| Item {
            id: format!("{}-{task}-{}", clip.id, n + 1),
            clip: clip.id.clone(),
            task: task.into(),
            question,
            options,
            answer,
            reference,
            provenance,
        },
    )
}

/// The reference may go against no clear fact of the clip, asked or not: an omitted "yes" is
/// never asked, so only a check against every fact catches a reference that says otherwise.
fn contradictions(
    clip: &Clip,
    screened: &Screened,
    items: &[Item],
    seed: u64,
) -> Result<(), String> {
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    for c in &screened.checked {
        let Some(x) = screened.reading.contradicts(&c.claim, c.answer) else {
            continue;
        };
        let asked = items
            .iter()
            .find(|i| i.provenance.get("claim") == serde_json::to_value(&c.claim).ok().as_ref());
        let label = asked.map_or(String::new(), |i| format!(", item {}", i.id));
        let question = asked.map_or_else(
            || c.claim.question(&mut Rng::new(seed, &[&clip.id])),
            |i| i.question.clone(),
        );
        let fact = format!(
            "{} (\"{question}\" is {}{label})",
            x.why,
            if c.answer { "yes" } else { "no" }
        );
        match found.iter_mut().find(|(clause, _)| *clause == x.clause) {
            Some((_, facts)) => facts.push(fact),
            None => found.push((x.clause, vec![fact])),
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    let n: usize = found.iter().map(|(_, f)| f.len()).sum();
    let shown: Vec<String> = found
        .iter()
        .take(3)
        .map(|(clause, facts)| {
            let more = if facts.len() > 2 {
                format!(" and {} more", facts.len() - 2)
            } else {
                String::new()
            };
            format!(
                "\"{clause}\" says otherwise, but {}{more}",
                facts[..facts.len().min(2)].join("; and ")
            )
        })
        .collect();
    let rest = if found.len() > 3 {
        format!(" ({} more clauses)", found.len() - 3)
    } else {
        String::new()
    };
    Err(format!(
        "the description contradicts {n} of the clip's facts: {}{rest}",
        shown.join(" | ")
    ))
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

/// Whether two MAS claims ask the same order, one naming a phase and one not.
fn same_order(a: &Claim, b: &Claim) -> bool {
    matches!((a, b), (Claim::Before { a: p, dir_a: dp, b: q, dir_b: dq, .. }, Claim::Before { a: r, dir_a: dr, b: s, dir_b: ds, .. }) if (p, dp, q, dq) == (r, dr, s, ds))
}

/// Whether two claims ask about the same part(s) in the same phase (a clip's two items should differ).
fn same_subject(a: &Claim, b: &Claim) -> bool {
    match (a, b) {
        (
            Claim::Moves {
                part: p, phase: f, ..
            },
            Claim::Moves {
                part: q, phase: g, ..
            },
        ) => p == q && f == g,
        // "Mainly vertical?" and "mainly horizontal?" are one fact.
        (Claim::MainAxis { part: p, .. }, Claim::MainAxis { part: q, .. }) => p == q,
        (
            Claim::Approaches { a, b, .. } | Claim::MovesAway { a, b, .. },
            Claim::Approaches { a: c, b: d, .. } | Claim::MovesAway { a: c, b: d, .. },
        ) => a == c && b == d,
        (
            Claim::BothMove { a, b, phase: f } | Claim::MovesWhileStill { a, b, phase: f },
            Claim::BothMove {
                a: c,
                b: d,
                phase: g,
            }
            | Claim::MovesWhileStill {
                a: c,
                b: d,
                phase: g,
            },
        ) => f == g && ((a, b) == (c, d) || (a, b) == (d, c)),
        // "A before B" and "B before A" ask the same thing twice.
        (
            Claim::Before {
                a, dir_a, b, dir_b, ..
            },
            Claim::Before {
                a: c,
                dir_a: dc,
                b: d,
                dir_b: dd,
                ..
            },
        ) => (a, dir_a, b, dir_b) == (d, dd, c, dc) || (a, dir_a, b, dir_b) == (c, dc, d, dd),
        _ => false,
    }
}
