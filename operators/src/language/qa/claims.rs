//! The yes/no claims of SAD, MAD, MAS and PPR, their candidates with the
//! facts that make each answer true, and their questions.
//!
//! A candidate is made only when its answer is clear-cut by a margin: a
//! "yes" needs motion well above the noise floor, a "no" needs the claimed
//! motion to be clearly absent. Anything in between is never asked.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::super::clip_motion::{ClipMotion, secs, spoken};
use super::super::facts::{DIRECTIONS, PartWindow, Window, part_window, windows};
use super::Thresholds;
use crate::common::body::PARTS;
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
    pub fn question(&self, m: &ClipMotion) -> String {
        let phase_words = |name: &str| {
            let w = windows(m).into_iter().find(|w| w.name == name).expect("claims name known phases");
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

/// A claim's answer when it is clear-cut: yes when `yes` holds, else no when
/// `no` holds, else undecided (the claim is not asked).
fn verdict(yes: bool, no: bool) -> Option<bool> {
    match (yes, no) {
        (true, _) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
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

fn pw_json(f: &PartWindow) -> Value {
    let r = |x: f64| round_to(x, 2);
    json!({
        "mean_speed": r(f.mean_speed),
        "net": [r(f.net[0]), r(f.net[1])],
        "directional": {"up": r(f.directional[0]), "right": r(f.directional[1]), "down": r(f.directional[2]), "left": r(f.directional[3])},
    })
}

/// Every clear-cut candidate of the four yes/no tasks.
pub fn candidates(m: &ClipMotion, t: &Thresholds) -> Vec<Candidate> {
    let t = &t.for_clip(m);
    let mut out = Vec::new();
    let ws = windows(m);
    let facts: Vec<Vec<PartWindow>> = ws.iter().map(|w| (0..PARTS.len()).map(|i| part_window(m, i, w)).collect()).collect();
    for (k, w) in ws.iter().enumerate() {
        let f = &facts[k];
        // SAD.
        for (i, pf) in f.iter().enumerate() {
            for (d, dir) in DIRECTIONS.iter().enumerate() {
                let value = pf.directional[d];
                let Some(answer) = verdict(value >= t.yes_speed && value >= 0.35 * pf.mean_speed, value <= t.no_speed) else {
                    continue;
                };
                out.push(Candidate {
                    claim: Claim::Moves { part: PARTS[i].into(), phase: w.name.into(), direction: (*dir).into() },
                    answer,
                    provenance: json!({"phase": window_json(w), "part": PARTS[i], "facts": pw_json(pf),
                        "rule": format!("yes if the mean {dir} component >= {} px/frame and >= 35% of the speed; no if <= {}", t.yes_speed, t.no_speed)}),
                });
            }
        }
        // MAD.
        for a in 0..PARTS.len() {
            for b in a + 1..PARTS.len() {
                if super::adjacent(a, b) {
                    continue;
                }
                let (fa, fb) = (&f[a], &f[b]);
                let moving = |x: &PartWindow| x.mean_speed >= t.yes_speed;
                let still = |x: &PartWindow| x.mean_speed <= t.no_speed;
                let both = verdict(moving(fa) && moving(fb), (moving(fa) && still(fb)) || (still(fa) && moving(fb)));
                let provenance = |rule: String| {
                    json!({"phase": window_json(w), "parts": [PARTS[a], PARTS[b]], "facts": [pw_json(fa), pw_json(fb)], "rule": rule})
                };
                if let Some(answer) = both {
                    out.push(Candidate {
                        claim: Claim::BothMove { a: PARTS[a].into(), b: PARTS[b].into(), phase: w.name.into() },
                        answer,
                        provenance: provenance(format!("moving: mean speed >= {}; still: <= {}", t.yes_speed, t.no_speed)),
                    });
                }
                // "a moves while b stays still", asked both ways round.
                for (x, y, fx, fy) in [(a, b, fa, fb), (b, a, fb, fa)] {
                    let Some(answer) = verdict(moving(fx) && still(fy), still(fx) || moving(fy)) else {
                        continue;
                    };
                    out.push(Candidate {
                        claim: Claim::MovesWhileStill { a: PARTS[x].into(), b: PARTS[y].into(), phase: w.name.into() },
                        answer,
                        provenance: json!({"phase": window_json(w), "parts": [PARTS[x], PARTS[y]], "facts": [pw_json(fx), pw_json(fy)],
                            "rule": format!("yes if the first moves (mean speed >= {}) and the second is still (<= {}); no if the first is still or the second moves", t.yes_speed, t.no_speed)}),
                    });
                }
                let steady = |x: &PartWindow| moving(x) && x.net[0].hypot(x.net[1]) >= 0.5 * x.path;
                if steady(fa) && steady(fb) {
                    let angle = angle_between(fa.net, fb.net);
                    let Some(answer) = verdict(angle <= 45.0, angle >= 120.0) else {
                        continue;
                    };
                    out.push(Candidate {
                        claim: Claim::SameDirection { a: PARTS[a].into(), b: PARTS[b].into(), phase: w.name.into() },
                        answer,
                        provenance: provenance(format!(
                            "angle between net displacements {angle:.0}°: yes if <= 45°, no if >= 120° (both moving steadily)"
                        )),
                    });
                }
            }
        }
        // PPR: every pair of parts not on one limb, the one that moves more named first.
        for i in 0..PARTS.len() {
            for j in i + 1..PARTS.len() {
                if super::adjacent(i, j) {
                    continue;
                }
                let (a, b) = if f[i].path >= f[j].path { (i, j) } else { (j, i) };
                let d = distances(m, a, b, w.from..w.to);
                let (Some(&start), Some(&end)) = (d.first(), d.last()) else { continue };
                let (closest, farthest) = d.iter().fold((f64::INFINITY, 0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
                let need = t.approach_px.max(t.approach_fraction * start);
                let r = |x: f64| round_to(x, 2);
                let facts = json!({"start": r(start), "closest": r(closest), "farthest": r(farthest), "end": r(end)});
                let clear_change = |change: f64, net: f64| verdict(change >= need && net >= need / 2.0, change <= need / 4.0);
                let forms = [
                    (clear_change(start - closest, start - end), Claim::Approaches { a: PARTS[a].into(), b: PARTS[b].into(), phase: w.name.into() }, "drops"),
                    (clear_change(farthest - start, end - start), Claim::MovesAway { a: PARTS[a].into(), b: PARTS[b].into(), phase: w.name.into() }, "grows"),
                ];
                for (answer, claim, change) in forms {
                    let Some(answer) = answer else { continue };
                    out.push(Candidate {
                        claim,
                        answer,
                        provenance: json!({"phase": window_json(w), "parts": [PARTS[a], PARTS[b]], "distance_px": facts,
                            "rule": format!("yes if the distance {change} by >= {need:.1} px (and ends >= {:.1} px so); no if it never {change} by more than {:.1} px", need / 2.0, need / 4.0)}),
                    });
                }
            }
        }
    }
    // MAS: first starts of direction phases, ordered clearly apart in time.
    let mut starts: Vec<(usize, String, f64)> = Vec::new();
    for (i, (_, s)) in m.summary.parts.iter().enumerate() {
        for p in &s.phases {
            // Times are rounded to 0.1 s: compare with a tolerance, or 0.3 − 0.2 falls short of 0.1.
            if p.mean_speed >= t.yes_speed && p.end - p.start >= 0.1 - 1e-9 && !starts.iter().any(|(j, d, _)| *j == i && *d == p.direction) {
                starts.push((i, p.direction.clone(), p.start));
            }
        }
    }
    for x in &starts {
        for y in &starts {
            let gap = y.2 - x.2;
            if gap.abs() < t.order_gap_s || (x.0 == y.0 && x.1 == y.1) {
                continue;
            }
            out.push(Candidate {
                claim: Claim::Before { a: PARTS[x.0].into(), dir_a: x.1.clone(), b: PARTS[y.0].into(), dir_b: y.1.clone() },
                answer: gap > 0.0,
                provenance: json!({"first": {"part": PARTS[x.0], "direction": x.1, "start_s": x.2},
                    "second": {"part": PARTS[y.0], "direction": y.1, "start_s": y.2},
                    "rule": format!("the first start of each direction phase (>= {} px/frame, >= 0.1 s); asked only when >= {} s apart", t.yes_speed, t.order_gap_s)}),
            });
        }
    }
    out
}

/// Distance in pixels between two parts' anchors over frames.
fn distances(m: &ClipMotion, a: usize, b: usize, frames: std::ops::Range<usize>) -> Vec<f64> {
    let (w, h) = (f64::from(m.width), f64::from(m.height));
    frames
        .filter(|&t| t < m.num_frames)
        .map(|t| {
            let (p, q) = (m.coords[a][t], m.coords[b][t]);
            (f64::from(p[0] - q[0]) * w).hypot(f64::from(p[1] - q[1]) * h)
        })
        .collect()
}

fn window_json(w: &Window) -> Value {
    json!({"name": w.name, "start_s": w.start, "end_s": w.end})
}

/// Angle in degrees between two vectors.
pub fn angle_between(a: [f64; 2], b: [f64; 2]) -> f64 {
    let dot = a[0] * b[0] + a[1] * b[1];
    let norm = a[0].hypot(a[1]) * b[0].hypot(b[1]);
    if norm == 0.0 { 90.0 } else { (dot / norm).clamp(-1.0, 1.0).acos().to_degrees() }
}
