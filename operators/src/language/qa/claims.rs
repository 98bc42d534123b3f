//! The yes/no claims of SAD, MAD, MAS and PPR, their candidates with the
//! facts that make each answer true, and their questions.
//!
//! A candidate is made only when its answer is clear-cut by a margin: a
//! "yes" needs motion well above the noise floor, a "no" needs the claimed
//! motion to be clearly absent. Anything in between is never asked.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::super::clip_motion::{secs, spoken};
use super::super::facts::{ClipFacts, DIRECTIONS, PartFacts, PhaseFacts, Verdict, adjacent};
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
            Claim::Moves { .. } => "SAD",
            Claim::BothMove { .. } | Claim::SameDirection { .. } | Claim::MovesWhileStill { .. } => "MAD",
            Claim::Before { .. } => "MAS",
            Claim::Approaches { .. } | Claim::MovesAway { .. } => "PPR",
        }
    }

    /// The question, in the benchmark's style.
    pub fn question(&self, f: &ClipFacts) -> String {
        let phase_words = |name: &str| {
            let w = f.phase(name).expect("claims name known phases");
            format!("{} phase of the clip ({}–{} s)", w.name, secs(w.start), secs(w.end))
        };
        match self {
            Claim::Moves { part, phase, direction } => {
                format!("In the {}, does the {} move {} noticeably?", phase_words(phase), spoken(part), toward(direction))
            }
            Claim::BothMove { a, b, phase } => {
                format!("During the {}, do both the {} and the {} move noticeably?", phase_words(phase), spoken(a), spoken(b))
            }
            Claim::SameDirection { a, b, phase } => {
                format!("During the {}, do the {} and the {} move in the same direction?", phase_words(phase), spoken(a), spoken(b))
            }
            Claim::MovesWhileStill { a, b, phase } => {
                format!("During the {}, does the {} move noticeably while the {} stays still?", phase_words(phase), spoken(a), spoken(b))
            }
            Claim::Before { a, dir_a, b, dir_b } => {
                let b_words = if a == b { "it".to_string() } else { format!("the {}", spoken(b)) };
                format!("Does the {} move {} before {b_words} moves {}?", spoken(a), toward(dir_a), toward(dir_b))
            }
            Claim::Approaches { a, b, phase } => {
                format!("In the {}, does the {} noticeably approach the {}?", phase_words(phase), spoken(a), spoken(b))
            }
            Claim::MovesAway { a, b, phase } => {
                format!("In the {}, does the {} noticeably move away from the {}?", phase_words(phase), spoken(a), spoken(b))
            }
        }
    }
}

/// `up` → `upward`, `up-left` → `up and to the left`.
fn toward(direction: &str) -> String {
    match direction {
        "up" => "upward".into(),
        "down" => "downward".into(),
        "left" | "right" => format!("to the {direction}"),
        d => {
            let (v, h) = d.split_once('-').unwrap_or((d, ""));
            format!("{v} and to the {h}")
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

/// Every clear-cut candidate of the four yes/no tasks, from the clip's facts.
pub fn candidates(f: &ClipFacts) -> Vec<Candidate> {
    let t = &f.thresholds;
    let mut out = Vec::new();
    for phase in &f.phases {
        let w = window_json(phase);
        let p = &phase.parts;
        // SAD.
        for (i, pf) in p.iter().enumerate() {
            for (d, dir) in DIRECTIONS.iter().enumerate() {
                let Some(answer) = pf.directions[d].answer() else { continue };
                out.push(Candidate {
                    claim: Claim::Moves { part: PARTS[i].into(), phase: phase.name.clone(), direction: (*dir).into() },
                    answer,
                    provenance: json!({"phase": w, "part": PARTS[i], "facts": pf_json(pf),
                        "rule": format!("yes if the mean {dir} component >= {:.3} px/frame and >= {:.0}% of the speed; no if <= {:.3}", t.yes_speed, 100.0 * t.direction_share, t.no_speed)}),
                });
            }
        }
        // MAD.
        let moving = |x: &PartFacts| x.moves == Verdict::Yes;
        let still = |x: &PartFacts| x.moves == Verdict::No;
        for a in 0..PART_COUNT {
            for b in a + 1..PART_COUNT {
                if adjacent(a, b) {
                    continue;
                }
                let (fa, fb) = (&p[a], &p[b]);
                let provenance = |rule: String| json!({"phase": w, "parts": [PARTS[a], PARTS[b]], "facts": [pf_json(fa), pf_json(fb)], "rule": rule});
                if let Some(answer) = Verdict::of(moving(fa) && moving(fb), (moving(fa) && still(fb)) || (still(fa) && moving(fb))).answer() {
                    out.push(Candidate {
                        claim: Claim::BothMove { a: PARTS[a].into(), b: PARTS[b].into(), phase: phase.name.clone() },
                        answer,
                        provenance: provenance(format!("moving: mean speed >= {:.3}; still: <= {:.3}", t.yes_speed, t.no_speed)),
                    });
                }
                // "a moves while b stays still", asked both ways round.
                for (x, y, fx, fy) in [(a, b, fa, fb), (b, a, fb, fa)] {
                    let Some(answer) = Verdict::of(moving(fx) && still(fy), still(fx) || moving(fy)).answer() else { continue };
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
                    let Some(answer) = Verdict::of(angle <= 45.0, angle >= 120.0).answer() else { continue };
                    out.push(Candidate {
                        claim: Claim::SameDirection { a: PARTS[a].into(), b: PARTS[b].into(), phase: phase.name.clone() },
                        answer,
                        provenance: provenance(format!("angle between net displacements {angle:.0}°: yes if <= 45°, no if >= 120° (both moving steadily)")),
                    });
                }
            }
        }
    }
    // PPR: pairs of parts not on one limb, the one that moves more named first.
    for x in &f.proximity {
        let phase = f.phase(&x.phase).expect("proximity names a phase");
        let [start, closest, farthest, end] = x.distance;
        let facts = json!({"start": start, "closest": closest, "farthest": farthest, "end": end});
        let forms = [
            (x.approaches, Claim::Approaches { a: x.a.clone(), b: x.b.clone(), phase: x.phase.clone() }, "drops"),
            (x.moves_away, Claim::MovesAway { a: x.a.clone(), b: x.b.clone(), phase: x.phase.clone() }, "grows"),
        ];
        for (verdict, claim, change) in forms {
            let Some(answer) = verdict.answer() else { continue };
            out.push(Candidate {
                claim,
                answer,
                provenance: json!({"phase": window_json(phase), "parts": [x.a, x.b], "distance_px": facts,
                    "rule": format!("yes if the distance {change} by >= {:.1} px (and ends >= {:.1} px so); no if it never {change} by more than {:.1} px", x.need, x.need / 2.0, x.need / 4.0)}),
            });
        }
    }
    // MAS: first starts of direction phases, ordered clearly apart in time.
    for x in &f.starts {
        for y in &f.starts {
            let gap = y.start - x.start;
            if gap.abs() < t.order_gap_s || (x.part == y.part && x.direction == y.direction) {
                continue;
            }
            out.push(Candidate {
                claim: Claim::Before { a: x.part.clone(), dir_a: x.direction.clone(), b: y.part.clone(), dir_b: y.direction.clone() },
                answer: gap > 0.0,
                provenance: json!({"first": {"part": x.part, "direction": x.direction, "start_s": x.start},
                    "second": {"part": y.part, "direction": y.direction, "start_s": y.start},
                    "rule": format!("the first start of each direction phase (>= {:.3} px/frame, >= {} s); asked only when >= {} s apart", t.yes_speed, t.min_phase_s, t.order_gap_s)}),
            });
        }
    }
    out
}

fn window_json(w: &PhaseFacts) -> Value {
    json!({"name": w.name, "start_s": w.start, "end_s": w.end})
}

/// Angle in degrees between two vectors.
pub fn angle_between(a: [f64; 2], b: [f64; 2]) -> f64 {
    let dot = a[0] * b[0] + a[1] * b[1];
    let norm = a[0].hypot(a[1]) * b[0].hypot(b[1]);
    if norm == 0.0 { 90.0 } else { (dot / norm).clamp(-1.0, 1.0).acos().to_degrees() }
}
