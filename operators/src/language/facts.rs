//! `facts`: what moved in a clip, decided once, for every text the
//! benchmark derives from it.
//!
//! From the descriptor: the three phases (initial, middle, late thirds of
//! the clip) and, per part and phase, mean speed, net displacement, path and
//! the four directional components (up, right, down, left: the positive
//! parts of vy, vx, -vy, -vx), each with a verdict (`yes`, `no`, or
//! `unclear` between the two thresholds); the first start of each part's
//! direction phases for the dominant parts (the order of motions); which
//! related parts (hands and what they reach, the legs and feet) approach or move
//! away from each other (a hand or foot moving away from the torso extends,
//! toward it retracts); the dominant parts, the motion's tendency, its
//! number of back-and-forth cycles and whether the lead part returns to
//! where it started; where the head, hands and feet are against the body
//! (high or low against the shoulders and hips, across the body's midline,
//! in front of the torso), per phase and over the whole clip; and a
//! magnitude word per part. Captions, descriptions, items and the oracle
//! all read this record, so none of them keeps a threshold of its own: the
//! thresholds are this operator's params, scaled to the clip's height.

use serde_json::Value;

use super::clip_motion::ClipMotion;
use crate::common::record_types::{self as records, record};
use crate::common::rounding::round_to;
use crate::prelude::*;

/// When a motion counts, stated for a 1296-pixel frame height (MA-52's) and scaled to each clip's.
#[configurable(default)]
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// A part moves noticeably at this mean speed (px/frame) or more.
    #[default(0.15)]
    pub yes_speed: f64,
    /// A part is still at this mean speed (px/frame) or less.
    #[default(0.06)]
    pub no_speed: f64,
    /// A direction counts only when its component is at least this share of the part's speed.
    #[default(0.35)]
    pub direction_share: f64,
    /// A distance changes noticeably when it drops (or grows) by this many pixels or more...
    #[default(8.0)]
    pub approach_px: f64,
    /// ...and by this fraction of the starting distance.
    #[default(0.05)]
    pub approach_fraction: f64,
    /// Two motions are ordered only when they start this many seconds apart.
    #[default(0.15)]
    pub order_gap_s: f64,
    /// A direction phase counts toward the order when it lasts this many seconds or more.
    #[default(0.1)]
    pub min_phase_s: f64,
    /// A part's peak speed (px/frame) from which it moves moderately, not slightly.
    #[default(1.0)]
    pub moderate_speed: f64,
    /// A part's peak speed (px/frame) from which it moves strongly.
    #[default(3.0)]
    pub strong_speed: f64,
    /// A part ends where it started when its net displacement over the clip is under this many pixels.
    #[default(1.0)]
    pub return_px: f64,
    /// A hand is near a part when their anchors come within this fraction of the frame height.
    #[default(0.12)]
    pub near_fraction: f64,
    /// A part is dominant when its energy is at least this share of the top part's.
    #[default(0.25)]
    pub dominant_share: f64,
    /// A part has not returned to where it started when its net displacement over the clip is this many pixels or more.
    #[default(4.0)]
    pub away_px: f64,
    /// A part is clearly high, low, across the midline or in front of the torso when it is past the line by this
    /// fraction of the torso's length (neck to hips); within half of it the answer is unclear.
    #[default(0.15)]
    pub body_margin: f64,
}

/// The frame height the pixel thresholds are stated for (MA-52's).
pub const REFERENCE_HEIGHT: f64 = 1296.0;

impl Thresholds {
    /// The thresholds for a clip `height` pixels high: pixel values scale
    /// against MA-52's 1296, so a clip at half size states the same facts.
    pub fn for_height(&self, height: u32) -> Thresholds {
        let k = if height > 0 {
            f64::from(height) / REFERENCE_HEIGHT
        } else {
            1.0
        };
        Thresholds {
            yes_speed: self.yes_speed * k,
            no_speed: self.no_speed * k,
            approach_px: self.approach_px * k,
            return_px: self.return_px * k,
            away_px: self.away_px * k,
            moderate_speed: self.moderate_speed * k,
            strong_speed: self.strong_speed * k,
            ..*self
        }
    }
}

/// Whether a statement holds: clearly, clearly not, or too close to call (never asked, never stated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Clearly true.
    Yes,
    /// Clearly false.
    No,
    /// Between the thresholds.
    Unclear,
}

impl Verdict {
    /// Yes when `yes` holds, else no when `no` holds, else unclear.
    pub fn of(yes: bool, no: bool) -> Verdict {
        if yes {
            Verdict::Yes
        } else if no {
            Verdict::No
        } else {
            Verdict::Unclear
        }
    }

    /// `Some(answer)` when clear-cut.
    pub fn answer(self) -> Option<bool> {
        match self {
            Verdict::Yes => Some(true),
            Verdict::No => Some(false),
            Verdict::Unclear => None,
        }
    }
}

/// The four directions of the directional components, in their order.
pub const DIRECTIONS: [&str; 4] = ["up", "right", "down", "left"];

/// One part over one phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartFacts {
    /// The part.
    pub part: String,
    /// Mean speed (px/frame).
    pub mean_speed: f64,
    /// Sum of vectors (px, y up).
    pub net: [f64; 2],
    /// Distance travelled (px).
    pub path: f64,
    /// Mean of each directional component (px/frame), in [`DIRECTIONS`] order.
    pub directional: [f64; 4],
    /// Whether it moves noticeably.
    pub moves: Verdict,
    /// Whether it moves noticeably each way, in [`DIRECTIONS`] order.
    pub directions: [Verdict; 4],
}

impl PartFacts {
    /// The directions it clearly moves.
    pub fn ways(&self) -> Vec<&'static str> {
        DIRECTIONS
            .iter()
            .zip(&self.directions)
            .filter(|(_, v)| **v == Verdict::Yes)
            .map(|(d, _)| *d)
            .collect()
    }
}

/// A third of the clip and what each part does in it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseFacts {
    /// `initial`, `middle` or `late`.
    pub name: String,
    /// First frame.
    pub from: usize,
    /// One past the last frame.
    pub to: usize,
    /// Start in seconds.
    pub start: f64,
    /// End in seconds.
    pub end: f64,
    /// Per part, in [`PARTS`] order.
    pub parts: Vec<PartFacts>,
}

/// The first time a part moves one way, for the order of motions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Start {
    /// The part.
    pub part: String,
    /// Compass direction (8 directions).
    pub direction: String,
    /// Seconds, one decimal.
    pub start: f64,
}

/// How the distance between two parts changes over one phase (`a` moves more).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Proximity {
    /// The phase.
    pub phase: String,
    /// The part that moves more.
    pub a: String,
    /// The other part.
    pub b: String,
    /// Distance at the start, closest, farthest and at the end (px).
    pub distance: [f64; 4],
    /// The change needed to count (px).
    pub need: f64,
    /// Whether `a` noticeably approaches `b`.
    pub approaches: Verdict,
    /// Whether `a` noticeably moves away from `b`.
    pub moves_away: Verdict,
}

/// One part over the whole clip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartOverall {
    /// The part.
    pub part: String,
    /// Whether it moves noticeably in some phase.
    pub moves: bool,
    /// `slightly`, `moderately` or `strongly`, from its peak speed.
    pub magnitude: String,
}

/// Where a part is against the body over one phase (or the whole clip), read from the part anchors
/// (the person faces the camera, so the subject's left is the image's right):
/// - the hips' line is the upper legs' anchors (seated), the neck's is the torso's anchor mirrored
///   from it, so the torso's length is the distance between the two lines;
/// - `high` is above the neck's line, `low` below the hips' line, `middle` between them, each by
///   [`Thresholds::body_margin`] of the torso's length (`unclear` when near a line);
/// - the body's midline is the torso anchor's x; a left or right part crosses it when it reaches
///   the other side by the margin, and clearly does not when it stays on its own side by the margin;
/// - a hand is in front of the torso when its mean anchor is inside the torso's box (between the
///   upper arms, between the two lines) by the margin, and clearly not when outside it by the margin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// The part: `Head`, `Left_Hand`, `Right_Hand`, `Left_Foot` or `Right_Foot`.
    pub part: String,
    /// `initial`, `middle`, `late` or `whole`.
    pub phase: String,
    /// `high`, `middle`, `low` or `unclear`, from the mean anchor.
    pub height: String,
    /// For a left or right part: whether it crosses the body's midline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crosses_midline: Option<Verdict>,
    /// For a hand: whether it is in front of the torso.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_front: Option<Verdict>,
}

/// The parts whose place against the body is a fact.
pub const PLACED: [&str; 5] = ["Head", "Left_Hand", "Right_Hand", "Left_Foot", "Right_Foot"];

/// Everything the language stages state about a clip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClipFacts {
    /// Seconds.
    pub seconds: f64,
    /// The clip's height over the reference height.
    pub scale: f64,
    /// The thresholds scaled to the clip: the numbers every statement was decided with.
    pub thresholds: Thresholds,
    /// The three phases.
    pub phases: Vec<PhaseFacts>,
    /// The whole clip as one window (`whole`): what the clip's motion does taken as a whole.
    pub whole: PhaseFacts,
    /// Per part, in [`PARTS`] order.
    pub parts: Vec<PartOverall>,
    /// The first start of each dominant part's direction phases that moves noticeably, earliest first.
    pub starts: Vec<Start>,
    /// The [`related_pairs`] whose distance clearly changes, or clearly does not, per phase.
    pub proximity: Vec<Proximity>,
    /// Moving parts carrying at least `dominant_share` of the top part's energy, largest first (at most 3).
    pub dominant: Vec<String>,
    /// Moving parts by energy, largest first.
    pub by_energy: Vec<String>,
    /// The dominant part's share of all motion energy (0–1).
    pub lead_share: f64,
    /// Parts by the start of their first active period, with that start (s).
    pub onsets: Vec<(String, f64)>,
    /// `still`, `single`, `continuous` or `repetitive`.
    pub tendency: String,
    /// Back-and-forth cycles of the lead part when repetitive (reversals / 2 + 1), else 0.
    pub cycles: u32,
    /// Whether the lead part ends where it started (net displacement under `return_px`; clearly
    /// not from `away_px`).
    pub returns: Verdict,
    /// Where the head, hands and feet are against the body, per phase and over the whole clip.
    pub placement: Vec<Placement>,
    /// Per hand (left, right): the parts it comes near (`Head`, `Torso`, `Upper_Leg`, the other hand).
    pub hand_near: [Vec<String>; 2],
}

impl ClipFacts {
    /// Reads a `facts` operator's record.
    pub fn from_record(record: &Value) -> Result<Self, String> {
        serde_json::from_value(record.clone())
            .map_err(|e| format!("the input is not a facts record: {e}"))
    }

    /// The phase called `name` (`whole`: the whole clip).
    pub fn phase(&self, name: &str) -> Option<&PhaseFacts> {
        if name == WHOLE {
            return Some(&self.whole);
        }
        self.phases.iter().find(|p| p.name == name)
    }

    /// Where `part` is in `phase` (`whole`: over the clip).
    pub fn placement(&self, phase: &str, part: &str) -> Option<&Placement> {
        self.placement
            .iter()
            .find(|p| p.phase == phase && p.part == part)
    }

    /// Part `part` in phase `phase`.
    pub fn part(&self, phase: &str, part: &str) -> Option<&PartFacts> {
        self.phase(phase)?.parts.iter().find(|p| p.part == part)
    }

    /// Whether `part` moves noticeably in some phase.
    pub fn moves(&self, part: usize) -> bool {
        self.parts[part].moves
    }
}

/// The name of the window that is the whole clip.
pub const WHOLE: &str = "whole";

/// The phases of a clip of `n` frames at `fps`: thirds, times rounded to 0.1 s.
pub fn phase_bounds(n: usize, fps: f64) -> [(&'static str, usize, usize, f64, f64); 3] {
    let cut = |k: usize| (n * k) / 3;
    let secs = |f: usize| (f as f64 / fps * 10.0).round() / 10.0;
    let w = |name, k: usize| (name, cut(k), cut(k + 1), secs(cut(k)), secs(cut(k + 1)));
    [w("initial", 0), w("middle", 1), w("late", 2)]
}

/// Whether two parts are on the same limb chain (a statement relating them says little).
pub fn adjacent(a: usize, b: usize) -> bool {
    const CHAINS: [[usize; 3]; 4] = [[2, 4, 6], [3, 5, 7], [8, 10, 12], [9, 11, 13]];
    CHAINS.iter().any(|c| c.contains(&a) && c.contains(&b))
}

/// The pairs whose distance is a fact, as the actions relate parts: each hand with the head, the
/// torso, the other hand, the other arm, the legs and the feet (touching, covering, scratching,
/// crossing the arms); the head with the torso (bowing, raising); the left and right leg parts and
/// feet with each other, and each foot with the other lower leg (crossing, spreading or closing
/// the legs). Indices into [`PARTS`], each pair once, lower index first.
pub fn related_pairs() -> Vec<(usize, usize)> {
    let index = |name: &str| PARTS.iter().position(|p| *p == name).expect("listed parts");
    let mut pairs = Vec::new();
    let mut add = |a: &str, b: &str| {
        let (a, b) = (index(a), index(b));
        let pair = (a.min(b), a.max(b));
        if a != b && !pairs.contains(&pair) {
            pairs.push(pair);
        }
    };
    for (side, other) in [("Left", "Right"), ("Right", "Left")] {
        let hand = format!("{side}_Hand");
        for target in [
            "Head",
            "Torso",
            "Left_Upper_Leg",
            "Right_Upper_Leg",
            "Left_Lower_Leg",
            "Right_Lower_Leg",
            "Left_Foot",
            "Right_Foot",
        ] {
            add(&hand, target);
        }
        for target in ["Hand", "Upper_Arm", "Lower_Arm"] {
            add(&hand, &format!("{other}_{target}"));
        }
        add(&format!("{side}_Foot"), &format!("{other}_Lower_Leg"));
    }
    add("Head", "Torso");
    for limb in ["Upper_Leg", "Lower_Leg", "Foot"] {
        add(&format!("Left_{limb}"), &format!("Right_{limb}"));
    }
    pairs
}

/// Distance in pixels between two parts' anchors over frames.
pub fn distances(m: &ClipMotion, a: usize, b: usize, frames: std::ops::Range<usize>) -> Vec<f64> {
    let (w, h) = (f64::from(m.width), f64::from(m.height));
    frames
        .filter(|&t| t < m.num_frames)
        .map(|t| {
            let (p, q) = (m.coords[a][t], m.coords[b][t]);
            (f64::from(p[0] - q[0]) * w).hypot(f64::from(p[1] - q[1]) * h)
        })
        .collect()
}

/// Whether two compass names point opposite ways (within 45°).
pub fn opposite(a: &str, b: &str) -> bool {
    const NAMES: [&str; 8] = [
        "right",
        "up-right",
        "up",
        "up-left",
        "left",
        "down-left",
        "down",
        "down-right",
    ];
    let (Some(i), Some(j)) = (
        NAMES.iter().position(|n| *n == a),
        NAMES.iter().position(|n| *n == b),
    ) else {
        return false;
    };
    let d = (i as i32 - j as i32).rem_euclid(8);
    (3..=5).contains(&d)
}

fn part_facts(
    m: &ClipMotion,
    i: usize,
    frames: std::ops::Range<usize>,
    t: &Thresholds,
) -> PartFacts {
    let r = |x: f64| round_to(x, 4);
    let vectors = &m.vectors[i][frames.start.min(m.num_frames)..frames.end.min(m.num_frames)];
    let n = vectors.len().max(1) as f64;
    let (mut path, mut net, mut directional) = (0.0, [0.0; 2], [0.0; 4]);
    for v in vectors {
        let (x, y) = (f64::from(v[0]), f64::from(v[1]));
        path += x.hypot(y);
        net[0] += x;
        net[1] += y;
        directional[0] += y.max(0.0);
        directional[1] += x.max(0.0);
        directional[2] += (-y).max(0.0);
        directional[3] += (-x).max(0.0);
    }
    let mean_speed = path / n;
    let directional = directional.map(|d| d / n);
    PartFacts {
        part: PARTS[i].to_string(),
        mean_speed: r(mean_speed),
        net: net.map(r),
        path: r(path),
        directional: directional.map(r),
        moves: Verdict::of(mean_speed >= t.yes_speed, mean_speed <= t.no_speed),
        directions: directional.map(|d| {
            Verdict::of(
                d >= t.yes_speed && d >= t.direction_share * mean_speed,
                d <= t.no_speed,
            )
        }),
    }
}

/// Mean anchor of part `i` over frames, in pixels (y down).
fn mean_anchor(m: &ClipMotion, i: usize, frames: &std::ops::Range<usize>) -> Option<[f64; 2]> {
    let r = frames.start.min(m.num_frames)..frames.end.min(m.num_frames);
    let n = r.len();
    if n == 0 {
        return None;
    }
    let (w, h) = (f64::from(m.width), f64::from(m.height));
    let sum = m.coords[i][r].iter().fold([0.0, 0.0], |s, c| {
        [s[0] + f64::from(c[0]) * w, s[1] + f64::from(c[1]) * h]
    });
    Some([sum[0] / n as f64, sum[1] / n as f64])
}

/// Where the [`PLACED`] parts are against the body over `frames` (see [`Placement`]).
fn placements(
    m: &ClipMotion,
    phase: &str,
    frames: std::ops::Range<usize>,
    t: &Thresholds,
) -> Vec<Placement> {
    let at = |name: &str| mean_anchor(m, ClipMotion::index(name), &frames);
    let (Some(torso), Some(hip_l), Some(hip_r), Some(arm_l), Some(arm_r)) = (
        at("Torso"),
        at("Left_Upper_Leg"),
        at("Right_Upper_Leg"),
        at("Left_Upper_Arm"),
        at("Right_Upper_Arm"),
    ) else {
        return Vec::new();
    };
    let hips = (hip_l[1] + hip_r[1]) / 2.0;
    let neck = 2.0 * torso[1] - hips;
    let length = hips - neck;
    if length <= 0.0 {
        return Vec::new();
    }
    let margin = t.body_margin * length;
    let midline = torso[0];
    let (arm_lo, arm_hi) = (arm_l[0].min(arm_r[0]), arm_l[0].max(arm_r[0]));
    PLACED
        .iter()
        .filter_map(|&part| {
            let i = ClipMotion::index(part);
            let [x, y] = mean_anchor(m, i, &frames)?;
            let height = if y < neck - margin {
                "high"
            } else if y > hips + margin {
                "low"
            } else if y > neck + margin / 2.0 && y < hips - margin / 2.0 {
                "middle"
            } else {
                "unclear"
            };
            // The subject's left side is the image's right.
            let own = if part.starts_with("Left") { 1.0 } else { -1.0 };
            let crosses_midline = (part != "Head").then(|| {
                let r = frames.start.min(m.num_frames)..frames.end.min(m.num_frames);
                let w = f64::from(m.width);
                let least = m.coords[i][r]
                    .iter()
                    .map(|c| own * (f64::from(c[0]) * w - midline))
                    .fold(f64::INFINITY, f64::min);
                Verdict::of(least <= -margin, least >= margin)
            });
            let in_front = part.ends_with("Hand").then(|| {
                let inside = x > arm_lo + margin
                    && x < arm_hi - margin
                    && y > neck + margin
                    && y < hips - margin;
                let outside = x < arm_lo - margin
                    || x > arm_hi + margin
                    || y < neck - margin
                    || y > hips + margin;
                Verdict::of(inside, outside)
            });
            Some(Placement {
                part: part.into(),
                phase: phase.into(),
                height: height.into(),
                crosses_midline,
                in_front,
            })
        })
        .collect()
}

/// The facts of a clip, decided with `thresholds` (stated for the reference height).
pub fn facts(m: &ClipMotion, thresholds: &Thresholds) -> ClipFacts {
    let t = thresholds.for_height(m.height);
    let r2 = |x: f64| round_to(x, 2);
    let (phases, whole) = phase_facts(m, &t);
    let mut placement: Vec<Placement> = phases
        .iter()
        .flat_map(|p| placements(m, &p.name, p.from..p.to, &t))
        .collect();
    placement.extend(placements(m, WHOLE, 0..m.num_frames, &t));
    let moving: Vec<bool> = (0..PART_COUNT)
        .map(|i| phases.iter().any(|p| p.parts[i].moves == Verdict::Yes))
        .collect();
    let proximity = phases
        .iter()
        .flat_map(|phase| proximity(m, phase, &t))
        .collect();
    let energy = |i: usize| m.part(i).energy;
    let by_energy: Vec<usize> = m
        .summary
        .by_energy
        .iter()
        .map(|p| ClipMotion::index(p))
        .filter(|&i| moving[i])
        .collect();
    let top = by_energy.first().map_or(0.0, |&i| energy(i));
    let dominant: Vec<usize> = by_energy
        .iter()
        .copied()
        .filter(|&i| energy(i) >= t.dominant_share * top)
        .take(3)
        .collect();
    let total: f64 = (0..PART_COUNT).map(energy).sum::<f64>().max(1e-9);
    let (tendency, cycles, returns) = tendency(m, dominant.first().copied(), &t);
    ClipFacts {
        seconds: r2(m.seconds()),
        scale: round_to(f64::from(m.height) / REFERENCE_HEIGHT, 4),
        parts: overall(m, &moving, &t),
        starts: order(m, &dominant, &t),
        thresholds: t,
        phases,
        whole,
        proximity,
        dominant: dominant.iter().map(|&i| PARTS[i].to_string()).collect(),
        by_energy: by_energy.iter().map(|&i| PARTS[i].to_string()).collect(),
        lead_share: dominant
            .first()
            .map_or(0.0, |&i| round_to(energy(i) / total, 4)),
        onsets: onsets(m),
        tendency: tendency.into(),
        cycles,
        returns,
        placement,
        hand_near: hand_near(m, &t),
    }
}

/// Each part's facts in each phase, and over the whole clip.
fn phase_facts(m: &ClipMotion, t: &Thresholds) -> (Vec<PhaseFacts>, PhaseFacts) {
    let phases = phase_bounds(m.num_frames, m.fps)
        .into_iter()
        .map(|(name, from, to, start, end)| PhaseFacts {
            name: name.into(),
            from,
            to,
            start,
            end,
            parts: (0..PART_COUNT)
                .map(|i| part_facts(m, i, from..to, t))
                .collect(),
        })
        .collect();
    let whole = PhaseFacts {
        name: WHOLE.into(),
        from: 0,
        to: m.num_frames,
        start: 0.0,
        end: round_to(m.seconds(), 2),
        parts: (0..PART_COUNT)
            .map(|i| part_facts(m, i, 0..m.num_frames, t))
            .collect(),
    };
    (phases, whole)
}

/// Whether each part moves in some phase, and how strongly at its peak.
fn overall(m: &ClipMotion, moving: &[bool], t: &Thresholds) -> Vec<PartOverall> {
    (0..PART_COUNT)
        .map(|i| {
            let peak = m.part(i).peak_speed;
            let magnitude = if peak >= t.strong_speed {
                "strongly"
            } else if peak >= t.moderate_speed {
                "moderately"
            } else {
                "slightly"
            };
            PartOverall {
                part: PARTS[i].into(),
                moves: moving[i],
                magnitude: magnitude.into(),
            }
        })
        .collect()
}

/// Which related parts clearly approach or move away from each other in `phase`.
fn proximity(m: &ClipMotion, phase: &PhaseFacts, t: &Thresholds) -> Vec<Proximity> {
    let r2 = |x: f64| round_to(x, 2);
    let mut found = Vec::new();
    for (i, j) in related_pairs() {
        let (a, b) = if phase.parts[i].path >= phase.parts[j].path {
            (i, j)
        } else {
            (j, i)
        };
        let d = distances(m, a, b, phase.from..phase.to);
        let (Some(&start), Some(&end)) = (d.first(), d.last()) else {
            continue;
        };
        let (closest, farthest) = d
            .iter()
            .fold((f64::INFINITY, 0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let need = t.approach_px.max(t.approach_fraction * start);
        let clear = |change: f64, net: f64| {
            Verdict::of(change >= need && net >= need / 2.0, change <= need / 4.0)
        };
        // Only a part that moves approaches: a distance that changes while both stay still is
        // the anchors' noise, and "the foot moves away" would contradict "the foot is still".
        let mover = |v: Verdict| {
            if v == Verdict::Yes && phase.parts[a].moves != Verdict::Yes {
                Verdict::Unclear
            } else {
                v
            }
        };
        let approaches = mover(clear(start - closest, start - end));
        let moves_away = mover(clear(farthest - start, end - start));
        if approaches == Verdict::Unclear && moves_away == Verdict::Unclear {
            continue;
        }
        found.push(Proximity {
            phase: phase.name.clone(),
            a: PARTS[a].into(),
            b: PARTS[b].into(),
            distance: [start, closest, farthest, end].map(r2),
            need: r2(need),
            approaches,
            moves_away,
        });
    }
    found
}

/// The order of motions: the dominant parts' clear, long enough motions by
/// start (a sequence of sub-actions, not every twitch).
fn order(m: &ClipMotion, dominant: &[usize], t: &Thresholds) -> Vec<Start> {
    let mut starts: Vec<Start> = Vec::new();
    for &i in dominant {
        let s = m.part(i);
        for p in &s.phases {
            // Times are rounded to 0.1 s: compare with a tolerance, or 0.3 − 0.2 falls short of 0.1.
            let long = p.end - p.start >= t.min_phase_s - 1e-9;
            if p.mean_speed >= t.yes_speed
                && long
                && !starts
                    .iter()
                    .any(|x| x.part == PARTS[i] && x.direction == p.direction)
            {
                starts.push(Start {
                    part: PARTS[i].into(),
                    direction: p.direction.clone(),
                    start: p.start,
                });
            }
        }
    }
    starts.sort_by(|a, b| a.start.total_cmp(&b.start));
    starts
}

/// The lead part's tendency (still, single, repetitive or continuous), its
/// cycles when repetitive, and whether it returns to where it started.
fn tendency(m: &ClipMotion, lead: Option<usize>, t: &Thresholds) -> (&'static str, u32, Verdict) {
    let reversals = lead.map_or(0, |i| {
        m.part(i)
            .phases
            .windows(2)
            .filter(|w| opposite(&w[0].direction, &w[1].direction))
            .count()
    });
    let tendency = match lead.map(|i| m.part(i)) {
        None => "still",
        Some(_) if reversals >= 2 => "repetitive",
        Some(s) if s.phases.len() <= 1 && s.active_periods.len() <= 1 => "single",
        Some(_) => "continuous",
    };
    let cycles = if tendency == "repetitive" {
        reversals as u32 / 2 + 1
    } else {
        0
    };
    let returns = match lead {
        None => Verdict::Unclear,
        Some(i) => {
            let [x, y] = m.part(i).net_displacement;
            let net = x.hypot(y);
            Verdict::of(net < t.return_px, net >= t.away_px)
        }
    };
    (tendency, cycles, returns)
}

/// When each part first moves, in the summary's onset order.
fn onsets(m: &ClipMotion) -> Vec<(String, f64)> {
    m.summary
        .onset_order
        .iter()
        .map(|p| {
            let i = ClipMotion::index(p);
            (PARTS[i].to_string(), m.part(i).active_periods[0][0])
        })
        .collect()
}

/// What each hand (left, right) comes near at some point.
fn hand_near(m: &ClipMotion, t: &Thresholds) -> [Vec<String>; 2] {
    let close = t.near_fraction * f64::from(m.height);
    ["Left_Hand", "Right_Hand"].map(|hand| {
        let mut near: Vec<String> = Vec::new();
        for d in &m.summary.distances {
            let other = if d.parts[0] == hand {
                &d.parts[1]
            } else if d.parts[1] == hand {
                &d.parts[0]
            } else {
                continue;
            };
            let name = if other.ends_with("Upper_Leg") {
                "Upper_Leg"
            } else {
                other.as_str()
            };
            if d.distance.iter().any(|x| *x < close) && !near.iter().any(|n| n == name) {
                near.push(name.to_string());
            }
        }
        near
    })
}

/// Decides a clip's facts once for every language stage. Record: `seconds`, `scale`, the clip's
/// `thresholds`, `phases` (initial/middle/late: per part mean speed, net, path, directional
/// components and `moves`/`directions` verdicts yes/no/unclear), `parts` (moves, magnitude),
/// `starts` (order of motions), `proximity` (which parts approach which), `dominant`, `by_energy`,
/// `onsets`, `tendency`, `cycles`, `returns`, `placement` (high/low, across the midline, in front of
/// the torso), `hand_near`, and `whole` (the clip as one window, as a phase).
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactsConfig {
    /// When a motion counts (stated for a 1296-pixel frame height, scaled to each clip's).
    #[serde(default)]
    #[fields(Thresholds)]
    pub thresholds: Thresholds,
}

/// Input: the clip's descriptor.
const DESCRIPTOR: RecordIn = RecordIn::new(0, "descriptor", records::DESCRIPTOR);

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "facts",
    section: Section::Operators,
    version: 2,
    doc: FactsConfig::DOC,
    inputs: &[DESCRIPTOR.port()],
    output: Some(record(records::FACTS)),
    params: FactsConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: FactsConfig = parse_params(params)?;
    let t = &config.thresholds;
    let mut diags = Vec::new();
    // Not ordered (a NaN included) is as wrong as the wrong order.
    if t.no_speed.partial_cmp(&t.yes_speed) != Some(std::cmp::Ordering::Less) || t.no_speed < 0.0 {
        diags.push(param_error(
            params,
            "thresholds",
            "`no_speed` must be at least 0 and below `yes_speed`, or answers are not clear-cut",
        ));
    }
    if !(t.moderate_speed > 0.0 && t.moderate_speed < t.strong_speed) {
        diags.push(param_error(
            params,
            "thresholds",
            "`moderate_speed` must be positive and below `strong_speed`",
        ));
    }
    for (name, v) in [
        ("direction_share", t.direction_share),
        ("approach_fraction", t.approach_fraction),
        ("dominant_share", t.dominant_share),
        ("near_fraction", t.near_fraction),
        ("body_margin", t.body_margin),
    ] {
        if !(0.0..=1.0).contains(&v) {
            diags.push(param_error(
                params,
                "thresholds",
                format!("`{name}` must be in [0, 1]"),
            ));
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Built::new(
        &config.clone(),
        Runtime::Record(Arc::new(Facts { config })),
    ))
}

struct Facts {
    config: FactsConfig,
}

impl RecordOperator for Facts {
    fn run(
        &self,
        _clip: &Clip,
        inputs: &[&Value],
        _ctx: &mut RecordContext<'_>,
    ) -> Result<Output, String> {
        let m = ClipMotion::from_record(DESCRIPTOR.read(inputs))?;
        let record =
            serde_json::to_value(facts(&m, &self.config.thresholds)).expect("facts serialise");
        Ok(Output::record(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::motion_summary::{SummaryParams, summarise};

    /// 3 s at 30 fps at `height`: the head moves up at 0.3 px/frame (scaled) through the first third.
    fn head_up(height: u32) -> ClipMotion {
        let n = 90;
        let k = height as f32 / 1296.0;
        let mut vectors = vec![vec![[0.0f32, 0.0]; n]; PART_COUNT];
        for v in vectors[0].iter_mut().take(30) {
            *v = [0.0, 0.3 * k];
        }
        let coords = vec![vec![[0.5f32, 0.5]; n]; PART_COUNT];
        let p = SummaryParams {
            noise_floor: 0.1,
            relative_threshold: 0.3,
            merge_gap: 0.2,
            min_period: 0.1,
        };
        let summary = summarise(&vectors, &coords, 1080, height, 30.0, &p);
        ClipMotion {
            fps: 30.0,
            num_frames: n,
            width: 1080,
            height,
            vectors,
            coords,
            summary,
        }
    }

    #[test]
    fn verdicts_scale_with_the_clip_and_leave_the_margin_unclear() {
        for height in [1296, 648] {
            let f = facts(&head_up(height), &Thresholds::default());
            let head = f.part("initial", "Head").unwrap();
            assert_eq!(head.moves, Verdict::Yes, "at {height}");
            assert_eq!(head.ways(), ["up"]);
            assert_eq!(head.directions[2], Verdict::No);
            assert_eq!(f.part("middle", "Head").unwrap().moves, Verdict::No);
            assert!(f.moves(0) && !f.moves(1));
            assert_eq!(f.dominant, ["Head"]);
            assert_eq!(f.tendency, "single");
        }
        // Half the speed of "yes" and twice "no": neither.
        let mut m = head_up(1296);
        for v in m.vectors[0].iter_mut().take(30) {
            *v = [0.0, 0.1];
        }
        let f = facts(&m, &Thresholds::default());
        assert_eq!(f.part("initial", "Head").unwrap().moves, Verdict::Unclear);
        assert!(opposite("up", "down") && opposite("up", "down-left") && !opposite("up", "left"));
        // Thresholds that cannot give a clear verdict are refused before anything runs.
        let node =
            maflow_engine::spec::tree::parse("thresholds: {yes_speed: 0.05, no_speed: 0.06}", 0, 0)
                .unwrap();
        let errors = build(&node).err().expect("refused");
        assert!(
            errors
                .iter()
                .any(|e| format!("{e:?}").contains("below `yes_speed`")),
            "{errors:?}"
        );
        // The record reads back as it was written.
        assert_eq!(
            ClipFacts::from_record(&serde_json::to_value(&f).unwrap()).unwrap(),
            f
        );
    }

    #[test]
    fn the_head_is_high_and_a_hand_that_sweeps_across_the_torso_crosses_the_midline() {
        let mut m = head_up(1296);
        // A seated figure: torso at the centre, hips (upper legs) below it, shoulders (upper arms) either side.
        let at = |m: &mut ClipMotion, part: &str, xy: [f32; 2]| {
            m.coords[ClipMotion::index(part)] = vec![xy; m.num_frames]
        };
        at(&mut m, "Head", [0.5, 0.2]);
        at(&mut m, "Torso", [0.5, 0.45]);
        for (part, x) in [("Left_Upper_Leg", 0.55), ("Right_Upper_Leg", 0.45)] {
            at(&mut m, part, [x, 0.6]);
        }
        for (part, x) in [("Left_Upper_Arm", 0.62), ("Right_Upper_Arm", 0.38)] {
            at(&mut m, part, [x, 0.4]);
        }
        at(&mut m, "Left_Hand", [0.7, 0.62]);
        at(&mut m, "Left_Foot", [0.55, 0.9]);
        at(&mut m, "Right_Foot", [0.45, 0.9]);
        // The subject's right hand (image left) sweeps from its own side across the midline at chest height.
        let n = m.num_frames;
        m.coords[ClipMotion::index("Right_Hand")] = (0..n)
            .map(|t| [0.3 + 0.4 * t as f32 / n as f32, 0.45])
            .collect();
        let f = facts(&m, &Thresholds::default());
        let place = |part: &str| f.placement(WHOLE, part).unwrap().clone();
        assert_eq!(place("Head").height, "high");
        assert_eq!(place("Left_Foot").height, "low");
        assert_eq!(place("Right_Hand").height, "middle");
        assert_eq!(place("Right_Hand").crosses_midline, Some(Verdict::Yes));
        assert_eq!(place("Right_Hand").in_front, Some(Verdict::Yes));
        assert_eq!(place("Left_Hand").crosses_midline, Some(Verdict::No));
        assert_eq!(place("Left_Hand").in_front, Some(Verdict::No));
        assert_eq!(
            f.placement("initial", "Right_Hand")
                .unwrap()
                .crosses_midline,
            Some(Verdict::No),
            "it crosses later"
        );
        // The whole clip is a window of its own, and the head ends away from where it started.
        assert_eq!((f.whole.from, f.whole.to), (0, n));
        assert_eq!(f.returns, Verdict::No);
        assert_eq!(f.cycles, 0);
    }
}
