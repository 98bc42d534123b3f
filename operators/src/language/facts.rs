//! Facts about a clip's motion that questions and descriptions state: the
//! three phases (initial, middle, late thirds of the clip) and, per part and
//! phase, mean speed, net displacement and the four directional components
//! (up, right, down, left: the positive parts of vy, vx, -vy, -vx).

use serde::Serialize;

use super::clip_motion::ClipMotion;

/// A third of the clip.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Window {
    /// `initial`, `middle` or `late`.
    pub name: &'static str,
    /// First frame.
    pub from: usize,
    /// One past the last frame.
    pub to: usize,
    /// Start in seconds.
    pub start: f64,
    /// End in seconds.
    pub end: f64,
}

/// The three phases of a clip.
pub fn windows(m: &ClipMotion) -> [Window; 3] {
    let n = m.num_frames;
    let cut = |k: usize| (n * k) / 3;
    let w = |name, k: usize| Window {
        name,
        from: cut(k),
        to: cut(k + 1),
        start: (cut(k) as f64 / m.fps * 10.0).round() / 10.0,
        end: (cut(k + 1) as f64 / m.fps * 10.0).round() / 10.0,
    };
    [w("initial", 0), w("middle", 1), w("late", 2)]
}

/// The four directions of the directional components, in their order.
pub const DIRECTIONS: [&str; 4] = ["up", "right", "down", "left"];

/// One part over one window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PartWindow {
    /// Mean speed (px/frame).
    pub mean_speed: f64,
    /// Sum of vectors (px, y up).
    pub net: [f64; 2],
    /// Mean of each directional component (px/frame), in [`DIRECTIONS`] order.
    pub directional: [f64; 4],
    /// Distance travelled (px).
    pub path: f64,
}

/// Part `i` over window `w`.
pub fn part_window(m: &ClipMotion, i: usize, w: &Window) -> PartWindow {
    let frames = &m.vectors[i][w.from.min(m.num_frames)..w.to.min(m.num_frames)];
    let n = frames.len().max(1) as f64;
    let mut out = PartWindow { mean_speed: 0.0, net: [0.0; 2], directional: [0.0; 4], path: 0.0 };
    for v in frames {
        let (x, y) = (f64::from(v[0]), f64::from(v[1]));
        let speed = x.hypot(y);
        out.path += speed;
        out.net[0] += x;
        out.net[1] += y;
        out.directional[0] += y.max(0.0);
        out.directional[1] += x.max(0.0);
        out.directional[2] += (-y).max(0.0);
        out.directional[3] += (-x).max(0.0);
    }
    out.mean_speed = out.path / n;
    for d in &mut out.directional {
        *d /= n;
    }
    out
}

