//! The independent checker: recomputes a claim's answer from the raw
//! descriptor frames, with its own windowing and arithmetic, and says
//! whether it is clear-cut. An item is kept only when the checker agrees
//! with the generator; disagreement or doubt rejects it.

use super::super::clip_motion::ClipMotion;
use super::super::facts::Thresholds;
use super::claims::Claim;
use crate::common::body::PARTS;

fn part(name: &str) -> Option<usize> {
    PARTS.iter().position(|p| *p == name)
}

/// Frame range of a phase name: thirds of the clip, or all of it (`whole`).
fn frames(m: &ClipMotion, phase: &str) -> Option<std::ops::Range<usize>> {
    let n = m.num_frames;
    if phase == "whole" {
        return Some(0..n);
    }
    let k = ["initial", "middle", "late"]
        .iter()
        .position(|p| *p == phase)?;
    Some(n * k / 3..n * (k + 1) / 3)
}

/// Mean velocity, mean speed and mean positive projection on `dir` (unit, y up) over frames.
fn stats(
    m: &ClipMotion,
    p: usize,
    r: std::ops::Range<usize>,
    dir: [f64; 2],
) -> ([f64; 2], f64, f64) {
    let (mut vx, mut vy, mut speed, mut along) = (0.0, 0.0, 0.0, 0.0);
    let n = r.len().max(1) as f64;
    for v in &m.vectors[p][r] {
        let (x, y) = (f64::from(v[0]), f64::from(v[1]));
        vx += x;
        vy += y;
        speed += (x * x + y * y).sqrt();
        along += (x * dir[0] + y * dir[1]).max(0.0);
    }
    ([vx / n, vy / n], speed / n, along / n)
}

fn direction_unit(d: &str) -> Option<[f64; 2]> {
    let s = std::f64::consts::FRAC_1_SQRT_2;
    Some(match d {
        "up" => [0.0, 1.0],
        "down" => [0.0, -1.0],
        "left" => [-1.0, 0.0],
        "right" => [1.0, 0.0],
        "up-left" => [-s, s],
        "up-right" => [s, s],
        "down-left" => [-s, -s],
        "down-right" => [s, -s],
        _ => return None,
    })
}

/// The first time (s) the part moves within 45° of `dir` for two frames
/// running, at >= `speed` and at >= 40% of its peak speed (so that
/// jitter before a motion does not count as its start).
fn onset(m: &ClipMotion, p: usize, dir: [f64; 2], speed: f64) -> Option<f64> {
    let peak = m.vectors[p]
        .iter()
        .map(|v| f64::from(v[0]).hypot(f64::from(v[1])))
        .fold(0.0, f64::max);
    let speed = speed.max(0.4 * peak);
    let ok = |t: usize| {
        let v = m.vectors[p][t];
        let (x, y) = (f64::from(v[0]), f64::from(v[1]));
        let s = x.hypot(y);
        s >= speed && (x * dir[0] + y * dir[1]) / s >= std::f64::consts::FRAC_1_SQRT_2 - 1e-9
    };
    (1..m.num_frames)
        .find(|&t| ok(t - 1) && ok(t))
        .map(|t| (t - 1) as f64 / m.fps)
}

/// The checker's own margins, inside the generator's: a generated answer
/// near a threshold is doubted, never silently flipped.
struct Margins {
    /// Moving at or above this mean speed.
    yes: f64,
    /// Still at or below this one.
    no: f64,
    /// A direction's least share of the speed.
    share: f64,
}

/// `Some(answer)` when the claim is clearly true or false, `None` when in
/// doubt. `t` are the clip's thresholds (already scaled to it, as the facts
/// record states them).
pub fn check(m: &ClipMotion, claim: &Claim, t: &Thresholds) -> Option<bool> {
    let k = Margins {
        yes: t.yes_speed * 0.8,
        no: t.no_speed * 1.5,
        share: t.direction_share * 0.85,
    };
    match claim {
        Claim::Moves {
            part: p,
            phase,
            direction,
        } => moves(m, p, phase, direction, &k),
        Claim::MainAxis { part: p, axis } => main_axis(m, p, axis),
        Claim::BothMove { a, b, phase } => both_move(m, (a, b), phase, &k),
        Claim::MovesWhileStill { a, b, phase } => moves_while_still(m, (a, b), phase, &k),
        Claim::SameDirection { a, b, phase } => same_direction(m, (a, b), phase, &k),
        Claim::Before {
            a, dir_a, b, dir_b, ..
        } => before(m, (a, dir_a), (b, dir_b), t, &k),
        Claim::Approaches { a, b, phase } => distance(m, (a, b), phase, true, t),
        Claim::MovesAway { a, b, phase } => distance(m, (a, b), phase, false, t),
    }
}

/// [`Claim::Moves`]: the mean component along the direction.
fn moves(m: &ClipMotion, p: &str, phase: &str, direction: &str, k: &Margins) -> Option<bool> {
    let (yes, no, share) = (k.yes, k.no, k.share);
    let (_, speed, along) = stats(m, part(p)?, frames(m, phase)?, direction_unit(direction)?);
    if along >= yes && along >= share * speed {
        Some(true)
    } else if along <= no {
        Some(false)
    } else {
        None
    }
}

/// [`Claim::MainAxis`]: the vertical share of the part's motion over the clip.
fn main_axis(m: &ClipMotion, p: &str, axis: &str) -> Option<bool> {
    let p = part(p)?;
    let (mut v, mut h) = (0.0, 0.0);
    for x in &m.vectors[p] {
        v += f64::from(x[1]).abs();
        h += f64::from(x[0]).abs();
    }
    let share = v / (v + h).max(1e-12);
    let vertical = if share >= 0.6 {
        true
    } else if share <= 0.4 {
        false
    } else {
        return None;
    };
    Some(vertical == (axis == "vertical"))
}

/// [`Claim::BothMove`]: both parts' mean speeds.
fn both_move(m: &ClipMotion, (a, b): (&str, &str), phase: &str, k: &Margins) -> Option<bool> {
    let (yes, no) = (k.yes, k.no);
    let r = frames(m, phase)?;
    let (_, sa, _) = stats(m, part(a)?, r.clone(), [0.0, 0.0]);
    let (_, sb, _) = stats(m, part(b)?, r, [0.0, 0.0]);
    let (moving, still) = (|s: f64| s >= yes, |s: f64| s <= no);
    if moving(sa) && moving(sb) {
        Some(true)
    } else if (moving(sa) && still(sb)) || (still(sa) && moving(sb)) {
        Some(false)
    } else {
        None
    }
}

/// [`Claim::MovesWhileStill`]: the first part's speed and the second's.
fn moves_while_still(
    m: &ClipMotion,
    (a, b): (&str, &str),
    phase: &str,
    k: &Margins,
) -> Option<bool> {
    let (yes, no) = (k.yes, k.no);
    let r = frames(m, phase)?;
    let (_, sa, _) = stats(m, part(a)?, r.clone(), [0.0, 0.0]);
    let (_, sb, _) = stats(m, part(b)?, r, [0.0, 0.0]);
    if sa >= yes && sb <= no {
        Some(true)
    } else if sa <= no || sb >= yes {
        Some(false)
    } else {
        None
    }
}

/// [`Claim::SameDirection`]: the angle between the parts' mean vectors.
fn same_direction(m: &ClipMotion, (a, b): (&str, &str), phase: &str, k: &Margins) -> Option<bool> {
    let yes = k.yes;
    let r = frames(m, phase)?;
    let (va, sa, _) = stats(m, part(a)?, r.clone(), [0.0, 0.0]);
    let (vb, sb, _) = stats(m, part(b)?, r, [0.0, 0.0]);
    if sa < yes || sb < yes {
        return None;
    }
    let cos =
        (va[0] * vb[0] + va[1] * vb[1]) / (va[0].hypot(va[1]) * vb[0].hypot(vb[1])).max(1e-12);
    if cos >= 60f64.to_radians().cos() {
        Some(true)
    } else if cos <= 100f64.to_radians().cos() {
        Some(false)
    } else {
        None
    }
}

/// [`Claim::Before`]: the onsets of the two motions.
fn before(
    m: &ClipMotion,
    (a, dir_a): (&str, &str),
    (b, dir_b): (&str, &str),
    t: &Thresholds,
    k: &Margins,
) -> Option<bool> {
    let yes = k.yes;
    let ta = onset(m, part(a)?, direction_unit(dir_a)?, yes)?;
    let tb = onset(m, part(b)?, direction_unit(dir_b)?, yes)?;
    let gap = tb - ta;
    if gap.abs() < t.order_gap_s * 2.0 / 3.0 {
        None
    } else {
        Some(gap > 0.0)
    }
}

/// [`Claim::Approaches`] (`approach`) or [`Claim::MovesAway`]: how far the
/// distance moves the claimed way from its start.
fn distance(
    m: &ClipMotion,
    (a, b): (&str, &str),
    phase: &str,
    approach: bool,
    t: &Thresholds,
) -> Option<bool> {
    let r = frames(m, phase)?;
    let (pa, pb) = (part(a)?, part(b)?);
    let dist: Vec<f64> = r
        .map(|t| {
            let (p, q) = (m.coords[pa][t], m.coords[pb][t]);
            (f64::from(p[0] - q[0]) * f64::from(m.width))
                .hypot(f64::from(p[1] - q[1]) * f64::from(m.height))
        })
        .collect();
    let start = *dist.first()?;
    // How far the distance moves the claimed way from its start.
    let change = if approach {
        start - dist.iter().copied().fold(f64::INFINITY, f64::min)
    } else {
        dist.iter().copied().fold(0.0, f64::max) - start
    };
    let need = t.approach_px.max(t.approach_fraction * start);
    if change >= 0.8 * need {
        Some(true)
    } else if change <= 0.4 * need {
        Some(false)
    } else {
        None
    }
}
