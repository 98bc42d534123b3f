//! What a clip's part motion amounts to, in facts a caption can state.
//!
//! From each part's per-frame vectors (pixels/frame, vy > 0 upward): path
//! length, net displacement, energy, peak and mean speed, the main active
//! periods in seconds, the sequence of direction phases (8 compass
//! directions), the order in which parts start moving, and distances
//! between parts over time (for proximity questions).

use serde::{Deserialize, Serialize};

use crate::common::body::PARTS;
use crate::common::rounding::round_to as round;

/// Thresholds of the summary.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryParams {
    /// Speeds below this (pixels/frame) are noise, never activity.
    pub noise_floor: f32,
    /// A part is active when its smoothed speed reaches this fraction of its peak.
    pub relative_threshold: f32,
    /// Active periods closer than this (seconds) are merged.
    pub merge_gap: f64,
    /// Active periods shorter than this (seconds) are dropped.
    pub min_period: f64,
}

/// One part's summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartSummary {
    /// Sum of speeds over the clip (pixels).
    pub path_length: f64,
    /// Sum of vectors [x, y] (pixels, y up).
    pub net_displacement: [f64; 2],
    /// Sum of squared speeds (pixels²/frame²): how much the part moved overall.
    pub energy: f64,
    /// Highest speed (pixels/frame).
    pub peak_speed: f64,
    /// Mean speed over frame pairs (pixels/frame).
    pub mean_speed: f64,
    /// Active periods [start, end] in seconds, one decimal.
    pub active_periods: Vec<[f64; 2]>,
    /// Direction phases within active periods.
    pub phases: Vec<Phase>,
}

/// A run of frames moving in one compass direction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// `up`, `up-right`, `right`, `down-right`, `down`, `down-left`, `left` or `up-left`.
    pub direction: String,
    /// Start in seconds, one decimal.
    pub start: f64,
    /// End in seconds, one decimal.
    pub end: f64,
    /// Mean speed in the phase (pixels/frame).
    pub mean_speed: f64,
}

/// Distances between two parts' anchors over time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairDistance {
    /// The two parts.
    pub parts: [String; 2],
    /// Per frame, in pixels.
    pub distance: Vec<f64>,
}

/// The whole clip's summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MotionSummary {
    /// Per part, in [`PARTS`] order (a JSON object keyed by part name).
    #[serde(
        serialize_with = "parts_as_object",
        deserialize_with = "parts_from_object"
    )]
    pub parts: Vec<(String, PartSummary)>,
    /// Parts ordered by the start of their first active period (parts that never move are left out).
    pub onset_order: Vec<String>,
    /// Parts ordered by energy, largest first.
    pub by_energy: Vec<String>,
    /// Distances of the pairs proximity questions ask about.
    pub distances: Vec<PairDistance>,
}

fn parts_as_object<S: serde::Serializer>(
    parts: &[(String, PartSummary)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(parts.iter().map(|(k, v)| (k, v)))
}

fn parts_from_object<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<(String, PartSummary)>, D::Error> {
    // Maps keep their order (serde_json's `preserve_order`), so the part order survives.
    let map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
    map.into_iter()
        .map(|(k, v)| {
            serde_json::from_value(v)
                .map(|p| (k, p))
                .map_err(serde::de::Error::custom)
        })
        .collect()
}

/// Pairs whose distance is tracked: hands to the head, torso and each other, legs and feet.
const PAIRS: [(&str, &str); 8] = [
    ("Left_Hand", "Head"),
    ("Right_Hand", "Head"),
    ("Left_Hand", "Torso"),
    ("Right_Hand", "Torso"),
    ("Left_Hand", "Right_Hand"),
    ("Left_Hand", "Left_Upper_Leg"),
    ("Right_Hand", "Right_Upper_Leg"),
    ("Left_Foot", "Right_Foot"),
];

/// The compass name of a vector with y up.
pub fn compass(vx: f32, vy: f32) -> &'static str {
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
    let angle = vy.atan2(vx).to_degrees();
    let sector = ((angle + 360.0 + 22.5) / 45.0).floor() as usize % 8;
    NAMES[sector]
}

/// Summarises per-part vectors and anchors (`vectors[p][t]`, `coords[p][t]`
/// normalised) of a `width × height` clip at `fps`.
pub fn summarise(
    vectors: &[Vec<[f32; 2]>],
    coords: &[Vec<[f32; 2]>],
    width: u32,
    height: u32,
    fps: f64,
    p: &SummaryParams,
) -> MotionSummary {
    let mut parts = Vec::new();
    let mut onsets: Vec<(f64, usize)> = Vec::new();
    let mut energies: Vec<(f64, usize)> = Vec::new();
    for (i, v) in vectors.iter().enumerate() {
        let speed: Vec<f32> = v.iter().map(|[x, y]| x.hypot(*y)).collect();
        let periods = active_periods(&speed, fps, p);
        let phases = direction_phases(v, &speed, &periods, p);
        let (summary, energy) = part_summary(v, &speed, &periods, &phases, fps);
        if let Some(&(a, _)) = periods.first() {
            onsets.push((a as f64, i));
        }
        energies.push((energy, i));
        parts.push((PARTS[i].to_string(), summary));
    }
    onsets.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    energies.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    MotionSummary {
        parts,
        onset_order: onsets.iter().map(|&(_, i)| PARTS[i].to_string()).collect(),
        by_energy: energies
            .iter()
            .map(|&(_, i)| PARTS[i].to_string())
            .collect(),
        distances: pair_distances(coords, width, height),
    }
}

/// The frame spans (first, last) in which a part's speed holds above the noise.
fn active_periods(speed: &[f32], fps: f64, p: &SummaryParams) -> Vec<(usize, usize)> {
    let n = speed.len();
    // Three-frame moving average: one noisy frame neither starts nor ends a period.
    let smooth: Vec<f32> = (0..n)
        .map(|t| {
            let (a, b) = (t.saturating_sub(1), (t + 1).min(n.saturating_sub(1)));
            speed[a..=b].iter().sum::<f32>() / (b - a + 1) as f32
        })
        .collect();
    let threshold = p
        .noise_floor
        .max(p.relative_threshold * smooth.iter().copied().fold(0f32, f32::max));
    let mut periods: Vec<(usize, usize)> = Vec::new();
    for t in 0..n {
        if smooth[t] < threshold || speed[t] < p.noise_floor {
            continue;
        }
        match periods.last_mut() {
            Some((_, end)) if (t - *end) as f64 / fps <= p.merge_gap => *end = t,
            _ => periods.push((t, t)),
        }
    }
    periods.retain(|&(a, b)| (b - a + 1) as f64 / fps >= p.min_period);
    periods
}

/// Within the active periods, the spans of one compass direction (first, last, direction).
fn direction_phases(
    v: &[[f32; 2]],
    speed: &[f32],
    periods: &[(usize, usize)],
    p: &SummaryParams,
) -> Vec<(usize, usize, &'static str)> {
    let mut phases: Vec<(usize, usize, &'static str)> = Vec::new();
    for &(a, b) in periods {
        for t in a..=b {
            if speed[t] < p.noise_floor {
                continue;
            }
            let dir = compass(v[t][0], v[t][1]);
            match phases.last_mut() {
                Some((_, end, d)) if *d == dir && t - *end <= 2 => *end = t,
                _ => phases.push((t, t, dir)),
            }
        }
    }
    // A phase of a single frame is a wobble, not a phase; what it split is one phase again.
    phases.retain(|&(a, b, _)| b > a);
    phases.dedup_by(|next, prev| {
        let joined = next.2 == prev.2 && periods.iter().any(|&(a, b)| a <= prev.0 && next.1 <= b);
        if joined {
            prev.1 = next.1;
        }
        joined
    });
    phases
}

/// A part's summary from its vectors, speeds, periods and phases, and its energy.
fn part_summary(
    v: &[[f32; 2]],
    speed: &[f32],
    periods: &[(usize, usize)],
    phases: &[(usize, usize, &str)],
    fps: f64,
) -> (PartSummary, f64) {
    let seconds = |t: usize| round(t as f64 / fps, 1);
    let n = speed.len();
    let peak = speed.iter().copied().fold(0f32, f32::max);
    let energy: f64 = speed.iter().map(|s| f64::from(*s).powi(2)).sum();
    let pairs = n.saturating_sub(1).max(1);
    let summary = PartSummary {
        path_length: round(speed.iter().map(|s| f64::from(*s)).sum(), 2),
        net_displacement: [
            round(v.iter().map(|x| f64::from(x[0])).sum(), 2),
            round(v.iter().map(|x| f64::from(x[1])).sum(), 2),
        ],
        energy: round(energy, 2),
        peak_speed: round(f64::from(peak), 2),
        mean_speed: round(
            speed.iter().skip(1).map(|s| f64::from(*s)).sum::<f64>() / pairs as f64,
            3,
        ),
        active_periods: periods
            .iter()
            .map(|&(a, b)| [seconds(a), seconds(b)])
            .collect(),
        phases: phases
            .iter()
            .map(|&(a, b, d)| Phase {
                direction: d.to_string(),
                start: seconds(a),
                end: seconds(b),
                mean_speed: round(
                    speed[a..=b].iter().map(|s| f64::from(*s)).sum::<f64>() / (b - a + 1) as f64,
                    2,
                ),
            })
            .collect(),
    };
    (summary, energy)
}

/// The distance of each of [`PAIRS`] in every frame, in pixels.
fn pair_distances(coords: &[Vec<[f32; 2]>], width: u32, height: u32) -> Vec<PairDistance> {
    let index = |name: &str| {
        PARTS
            .iter()
            .position(|p| *p == name)
            .expect("pairs name known parts")
    };
    PAIRS
        .iter()
        .map(|&(a, b)| {
            let (ca, cb) = (&coords[index(a)], &coords[index(b)]);
            let distance = ca
                .iter()
                .zip(cb)
                .map(|(p, q)| {
                    round(
                        f64::from((p[0] - q[0]) * width as f32)
                            .hypot(f64::from((p[1] - q[1]) * height as f32)),
                        1,
                    )
                })
                .collect();
            PairDistance {
                parts: [a.to_string(), b.to_string()],
                distance,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::body::PART_COUNT;

    const P: SummaryParams = SummaryParams {
        noise_floor: 0.3,
        relative_threshold: 0.3,
        merge_gap: 0.2,
        min_period: 0.1,
    };

    #[test]
    fn compass_uses_y_up() {
        assert_eq!(compass(0.0, 1.0), "up");
        assert_eq!(compass(1.0, -1.0), "down-right");
        assert_eq!(compass(-1.0, 0.1), "left");
        assert_eq!(compass(-1.0, 1.0), "up-left");
    }

    #[test]
    fn a_nod_is_one_period_of_alternating_phases_and_leads_the_onsets() {
        // 30 fps, 60 frames: the head still for 0.5 s, then nods (up 5 frames, down 5) twice, then still.
        let mut head = vec![[0.0f32, 0.0]; 60];
        for (t, v) in head.iter_mut().enumerate().take(35).skip(15) {
            *v = [0.0, if (t - 15) / 5 % 2 == 0 { 2.0 } else { -2.0 }];
        }
        let mut hand = vec![[0.0f32, 0.0]; 60];
        hand[40..50].fill([1.0, 0.0]);
        let mut vectors = vec![vec![[0.0f32, 0.05]; 60]; PART_COUNT];
        vectors[0] = head;
        vectors[6] = hand;
        let coords = vec![vec![[0.5f32, 0.5]; 60]; PART_COUNT];
        let s = summarise(&vectors, &coords, 1080, 1296, 30.0, &P);
        let head = &s.parts[0].1;
        assert_eq!(head.active_periods, vec![[0.5, 1.1]]);
        let dirs: Vec<&str> = head.phases.iter().map(|p| p.direction.as_str()).collect();
        assert_eq!(dirs, ["up", "down", "up", "down"]);
        assert_eq!(s.onset_order, ["Head", "Left_Hand"]);
        assert_eq!(s.by_energy[0], "Head");
        assert_eq!(head.peak_speed, 2.0);
        // Noise below the floor is never activity.
        assert!(s.parts[1].1.active_periods.is_empty());
        assert_eq!(s.distances.len(), PAIRS.len());
        assert!(s.distances[0].distance.iter().all(|d| *d == 0.0));
    }
}
