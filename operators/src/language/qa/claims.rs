//! The yes/no claims of SAD, MAD, MAS and PPR, their candidates with the
//! facts that make each answer true, and their questions.
//!
//! A candidate is made only when its answer is clear-cut by a margin: a
//! "yes" needs motion well above the noise floor, a "no" needs the claimed
//! motion to be clearly absent. Anything in between is never asked.
//!
//! SAD and MAD claims are made per phase and, for the dominant parts, over
//! the whole clip (phase `whole`, a question that names no phase); a MAS
//! claim whose two starts fall in one phase is also made naming it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::super::facts::{
    ClipFacts, DIRECTIONS, PartFacts, PhaseFacts, Thresholds, Verdict, WHOLE, adjacent,
};
use super::super::rng::Rng;
use super::wording;
use crate::common::body::{PART_COUNT, PARTS};
use crate::common::rounding::round_to;

/// A statement about a clip's motion that is true or false.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "claim", rename_all = "snake_case")]
pub enum Claim {
    /// SAD: `part` moves `direction` noticeably during `phase`.
    Moves {
        /// The part.
        part: String,
        /// `initial`, `middle` or `late`.
        phase: String,
        /// `up`, `right`, `down` or `left`.
        direction: String,
    },
    /// SAD over the whole clip: `part`'s motion runs mainly along `axis` (`vertical`: up and down,
    /// `horizontal`: side to side).
    MainAxis {
        /// The part.
        part: String,
        /// `vertical` or `horizontal`.
        axis: String,
    },
    /// MAD: `a` and `b` both move noticeably during `phase`.
    BothMove {
        /// First part.
        a: String,
        /// Second part.
        b: String,
        /// The phase.
        phase: String,
    },
    /// MAD: `a` and `b` move the same way during `phase`.
    SameDirection {
        /// First part.
        a: String,
        /// Second part.
        b: String,
        /// The phase.
        phase: String,
    },
    /// MAD: `a` moves noticeably while `b` stays still during `phase`.
    MovesWhileStill {
        /// The part said to move.
        a: String,
        /// The part said to stay still.
        b: String,
        /// The phase.
        phase: String,
    },
    /// MAS: `a` starts moving `dir_a` before `b` starts moving `dir_b`.
    Before {
        /// First part.
        a: String,
        /// Its compass direction.
        dir_a: String,
        /// Second part.
        b: String,
        /// Its compass direction.
        dir_b: String,
        /// The phase both starts fall in, when the question names it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        within: Option<String>,
    },
    /// PPR: `a` noticeably approaches `b` during `phase`.
    Approaches {
        /// The part that moves.
        a: String,
        /// The part approached.
        b: String,
        /// The phase.
        phase: String,
    },
    /// PPR: `a` noticeably moves away from `b` during `phase`.
    MovesAway {
        /// The part that moves.
        a: String,
        /// The part left behind.
        b: String,
        /// The phase.
        phase: String,
    },
}

impl Claim {
    /// The task the claim belongs to.
    pub fn task(&self) -> &'static str {
        match self {
            Claim::Moves { .. } | Claim::MainAxis { .. } => "SAD",
            Claim::BothMove { .. }
            | Claim::SameDirection { .. }
            | Claim::MovesWhileStill { .. } => "MAD",
            Claim::Before { .. } => "MAS",
            Claim::Approaches { .. } | Claim::MovesAway { .. } => "PPR",
        }
    }

    /// The question, in the benchmark's style, in one of its phrasings (chosen by `rng`).
    pub fn question(&self, rng: &mut Rng) -> String {
        match self {
            Claim::Moves {
                part,
                phase,
                direction,
            } => wording::moves(part, phase, direction, rng),
            Claim::MainAxis { part, axis } => wording::main_axis(part, axis, rng),
            Claim::BothMove { a, b, phase } => wording::both_move(a, b, phase, rng),
            Claim::SameDirection { a, b, phase } => wording::same_direction(a, b, phase, rng),
            Claim::MovesWhileStill { a, b, phase } => wording::moves_while_still(a, b, phase, rng),
            Claim::Before {
                a,
                dir_a,
                b,
                dir_b,
                within,
            } => wording::before(a, dir_a, b, dir_b, within.as_deref(), rng),
            Claim::Approaches { a, b, phase } => wording::distance(a, b, phase, true, rng),
            Claim::MovesAway { a, b, phase } => wording::distance(a, b, phase, false, rng),
        }
    }

    /// Whether the question names a phase of the clip.
    pub fn names_phase(&self) -> bool {
        match self {
            Claim::Before { within, .. } => within.is_some(),
            Claim::MainAxis { .. } => false,
            Claim::Moves { phase, .. }
            | Claim::BothMove { phase, .. }
            | Claim::SameDirection { phase, .. }
            | Claim::MovesWhileStill { phase, .. }
            | Claim::Approaches { phase, .. }
            | Claim::MovesAway { phase, .. } => phase != WHOLE,
        }
    }
}

/// A claim with its answer and the facts behind it.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The claim.
    pub claim: Claim,
    /// Whether it holds.
    pub answer: bool,
    /// The facts that make the answer true.
    pub provenance: Value,
}

fn pf_json(f: &PartFacts) -> Value {
    let r = |x: f64| round_to(x, 2);
    json!({
        "mean_speed": r(f.mean_speed),
        "net": [r(f.net[0]), r(f.net[1])],
        "directional": {"up": r(f.directional[0]), "right": r(f.directional[1]), "down": r(f.directional[2]), "left": r(f.directional[3])},
    })
}

/// A part moves steadily when its net displacement is at least this share of its path.
const STEADY_SHARE: f64 = 0.5;

/// A motion runs mainly along an axis when that axis carries at least this share of its four components.
pub const MAIN_AXIS_SHARE: f64 = 2.0 / 3.0;

/// Every clear-cut candidate of the four yes/no tasks, from the clip's facts.
pub fn candidates(f: &ClipFacts) -> Vec<Candidate> {
    let mut out = Vec::new();
    // Over the whole clip only the dominant parts are asked about: the clip's main motion.
    let dominant: Vec<usize> = f
        .dominant
        .iter()
        .filter_map(|d| PARTS.iter().position(|p| p == d))
        .collect();
    for phase in f.phases.iter().chain(std::iter::once(&f.whole)) {
        let whole = phase.name == WHOLE;
        let asked = |i: usize| !whole || dominant.contains(&i);
        direction_candidates(phase, &f.thresholds, asked, &mut out);
        for a in (0..PART_COUNT).filter(|&a| asked(a)) {
            for b in (a + 1..PART_COUNT).filter(|&b| asked(b)) {
                if !adjacent(a, b) {
                    pair_candidates(phase, (a, b), &f.thresholds, &mut out);
                }
            }
        }
    }
    whole_clip_still_candidates(f, &dominant, &mut out);
    main_axis_candidates(f, &dominant, &mut out);
    proximity_candidates(f, &mut out);
    order_candidates(f, &mut out);
    out
}

/// SAD: each asked part's motion in each direction over `phase`.
fn direction_candidates(
    phase: &PhaseFacts,
    t: &Thresholds,
    asked: impl Fn(usize) -> bool,
    out: &mut Vec<Candidate>,
) {
    let w = window_json(phase);
    let p = &phase.parts;
    for (i, pf) in p.iter().enumerate().filter(|(i, _)| asked(*i)) {
        for (d, dir) in DIRECTIONS.iter().enumerate() {
            let Some(answer) = pf.directions[d].answer() else {
                continue;
            };
            out.push(Candidate {
                claim: Claim::Moves { part: PARTS[i].into(), phase: phase.name.clone(), direction: (*dir).into() },
                answer,
                provenance: json!({"phase": w, "part": PARTS[i], "facts": pf_json(pf),
                    "rule": format!("yes if the mean {dir} component >= {:.3} px/frame and >= {:.0}% of the speed; no if <= {:.3}", t.yes_speed, 100.0 * t.direction_share, t.no_speed)}),
            });
        }
    }
}

/// MAD over `phase` for two parts not on one limb: both move, one moves
/// while the other is still (both ways round), and their directions agree.
fn pair_candidates(
    phase: &PhaseFacts,
    (a, b): (usize, usize),
    t: &Thresholds,
    out: &mut Vec<Candidate>,
) {
    let whole = phase.name == WHOLE;
    let w = window_json(phase);
    let p = &phase.parts;
    let moving = |x: &PartFacts| x.moves == Verdict::Yes;
    let still = |x: &PartFacts| x.moves == Verdict::No;
    let (fa, fb) = (&p[a], &p[b]);
    let provenance = |rule: String| json!({"phase": w, "parts": [PARTS[a], PARTS[b]], "facts": [pf_json(fa), pf_json(fb)], "rule": rule});
    // Over the whole clip among the dominant parts, "both move" and "one moves while the other is
    // still" would hold a part's brief motion against its stillness the rest of the time: only the
    // direction is asked there (and, below, a dominant part against a part still over the clip).
    if !whole
        && let Some(answer) = Verdict::of(
            moving(fa) && moving(fb),
            (moving(fa) && still(fb)) || (still(fa) && moving(fb)),
        )
        .answer()
    {
        out.push(Candidate {
            claim: Claim::BothMove {
                a: PARTS[a].into(),
                b: PARTS[b].into(),
                phase: phase.name.clone(),
            },
            answer,
            provenance: provenance(format!(
                "moving: mean speed >= {:.3}; still: <= {:.3}",
                t.yes_speed, t.no_speed
            )),
        });
    }
    // "a moves while b stays still", asked both ways round.
    for (x, y, fx, fy) in [(a, b, fa, fb), (b, a, fb, fa)]
        .into_iter()
        .filter(|_| !whole)
    {
        let Some(answer) = Verdict::of(moving(fx) && still(fy), still(fx) || moving(fy)).answer()
        else {
            continue;
        };
        out.push(Candidate {
            claim: Claim::MovesWhileStill { a: PARTS[x].into(), b: PARTS[y].into(), phase: phase.name.clone() },
            answer,
            provenance: json!({"phase": w, "parts": [PARTS[x], PARTS[y]], "facts": [pf_json(fx), pf_json(fy)],
                "rule": format!("yes if the first moves (mean speed >= {:.3}) and the second is still (<= {:.3}); no if the first is still or the second moves", t.yes_speed, t.no_speed)}),
        });
    }
    let steady = |x: &PartFacts| moving(x) && x.net[0].hypot(x.net[1]) >= STEADY_SHARE * x.path;
    if steady(fa) && steady(fb) {
        let angle = angle_between(fa.net, fb.net);
        let Some(answer) = Verdict::of(angle <= 45.0, angle >= 120.0).answer() else {
            return;
        };
        out.push(Candidate {
            claim: Claim::SameDirection { a: PARTS[a].into(), b: PARTS[b].into(), phase: phase.name.clone() },
            answer,
            provenance: provenance(format!("angle between net displacements {angle:.0}°: yes if <= 45°, no if >= 120° (both moving steadily)")),
        });
    }
}

/// MAD over the whole clip: a dominant part that moves over the clip while a part outside the
/// dominant ones stays still over it. Only parts outside the dominant ones are asked still: the
/// clip-wide sentences of a description name the dominant parts as moving.
fn whole_clip_still_candidates(f: &ClipFacts, dominant: &[usize], out: &mut Vec<Candidate>) {
    let t = &f.thresholds;
    for &a in dominant {
        let fa = &f.whole.parts[a];
        if fa.moves != Verdict::Yes {
            continue;
        }
        for b in (0..PART_COUNT).filter(|b| !dominant.contains(b) && !adjacent(a, *b)) {
            let fb = &f.whole.parts[b];
            let Some(answer) =
                Verdict::of(fb.moves == Verdict::No, fb.moves == Verdict::Yes).answer()
            else {
                continue;
            };
            out.push(Candidate {
                claim: Claim::MovesWhileStill { a: PARTS[a].into(), b: PARTS[b].into(), phase: WHOLE.into() },
                answer,
                provenance: json!({"phase": window_json(&f.whole), "parts": [PARTS[a], PARTS[b]], "facts": [pf_json(fa), pf_json(fb)],
                    "rule": format!("over the whole clip: the first moves (mean speed >= {:.3}); yes if the second is still (<= {:.3}), no if it moves", t.yes_speed, t.no_speed)}),
            });
        }
    }
}

/// SAD over the whole clip: the axis of each dominant part's motion.
fn main_axis_candidates(f: &ClipFacts, dominant: &[usize], out: &mut Vec<Candidate>) {
    for &i in dominant {
        let pf = &f.whole.parts[i];
        if pf.moves != Verdict::Yes {
            continue;
        }
        let (v, h) = (
            pf.directional[0] + pf.directional[2],
            pf.directional[1] + pf.directional[3],
        );
        let share = v / (v + h).max(1e-12);
        for (axis, answer) in [
            (
                "vertical",
                Verdict::of(share >= MAIN_AXIS_SHARE, share <= 1.0 - MAIN_AXIS_SHARE),
            ),
            (
                "horizontal",
                Verdict::of(share <= 1.0 - MAIN_AXIS_SHARE, share >= MAIN_AXIS_SHARE),
            ),
        ] {
            let Some(answer) = answer.answer() else {
                continue;
            };
            out.push(Candidate {
                claim: Claim::MainAxis { part: PARTS[i].into(), axis: axis.into() },
                answer,
                provenance: json!({"phase": window_json(&f.whole), "part": PARTS[i], "facts": pf_json(pf), "vertical_share": round_to(share, 3),
                    "rule": format!("vertical when up + down is >= {MAIN_AXIS_SHARE:.2} of all four components, horizontal when <= {:.2}", 1.0 - MAIN_AXIS_SHARE)}),
            });
        }
    }
}

/// PPR: pairs of parts not on one limb, the one that moves more named first.
fn proximity_candidates(f: &ClipFacts, out: &mut Vec<Candidate>) {
    for x in &f.proximity {
        let phase = f.phase(&x.phase).expect("proximity names a phase");
        let [start, closest, farthest, end] = x.distance;
        let facts = json!({"start": start, "closest": closest, "farthest": farthest, "end": end});
        let forms = [
            (
                x.approaches,
                Claim::Approaches {
                    a: x.a.clone(),
                    b: x.b.clone(),
                    phase: x.phase.clone(),
                },
                "drops",
            ),
            (
                x.moves_away,
                Claim::MovesAway {
                    a: x.a.clone(),
                    b: x.b.clone(),
                    phase: x.phase.clone(),
                },
                "grows",
            ),
        ];
        for (verdict, claim, change) in forms {
            let Some(answer) = verdict.answer() else {
                continue;
            };
            out.push(Candidate {
                claim,
                answer,
                provenance: json!({"phase": window_json(phase), "parts": [x.a, x.b], "distance_px": facts,
                    "rule": format!("yes if the distance {change} by >= {:.1} px (and ends >= {:.1} px so); no if it never {change} by more than {:.1} px", x.need, x.need / 2.0, x.need / 4.0)}),
            });
        }
    }
}

/// MAS: first starts of direction phases, ordered clearly apart in time.
fn order_candidates(f: &ClipFacts, out: &mut Vec<Candidate>) {
    let t = &f.thresholds;
    for x in &f.starts {
        for y in &f.starts {
            let gap = y.start - x.start;
            if gap.abs() < t.order_gap_s || (x.part == y.part && x.direction == y.direction) {
                continue;
            }
            // Both starts inside one phase: the question may name it.
            let shared = f
                .phases
                .iter()
                .find(|p| p.start <= x.start.min(y.start) && x.start.max(y.start) < p.end)
                .map(|p| p.name.clone());
            for within in std::iter::once(None).chain(shared.map(Some)) {
                out.push(Candidate {
                    claim: Claim::Before { a: x.part.clone(), dir_a: x.direction.clone(), b: y.part.clone(), dir_b: y.direction.clone(), within },
                    answer: gap > 0.0,
                    provenance: json!({"first": {"part": x.part, "direction": x.direction, "start_s": x.start},
                        "second": {"part": y.part, "direction": y.direction, "start_s": y.start},
                        "rule": format!("the first start of each direction phase (>= {:.3} px/frame, >= {} s); asked only when >= {} s apart", t.yes_speed, t.min_phase_s, t.order_gap_s)}),
                });
            }
        }
    }
}

fn window_json(w: &PhaseFacts) -> Value {
    json!({"name": w.name, "start_s": w.start, "end_s": w.end})
}

/// Angle in degrees between two vectors.
pub fn angle_between(a: [f64; 2], b: [f64; 2]) -> f64 {
    let dot = a[0] * b[0] + a[1] * b[1];
    let norm = a[0].hypot(a[1]) * b[0].hypot(b[1]);
    if norm == 0.0 {
        90.0
    } else {
        (dot / norm).clamp(-1.0, 1.0).acos().to_degrees()
    }
}
