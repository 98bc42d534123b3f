//! A seated, textured, articulated figure in 2D, and its exact motion.
//!
//! The 14 body parts are rigid shapes (capsules; a disc for the head) on a
//! kinematic tree rooted at the pelvis. A [`Pose`] gives each part a
//! rotation about its pivot joint and a translation, composed down the
//! tree. Every part carries a texture fixed to its own coordinates, so it
//! moves rigidly and optical flow has something to lock on to; the wall
//! behind has a static texture. Because each part's transform is known,
//! the displacement of every visible pixel between two frames is known
//! exactly: that is the ground truth the descriptor is checked against.

use maflow_kernels::geometry::within_segment;

use maflow_operators::common::body::{Keypoint, Layout, PART_COUNT, Skeleton};

/// Frame size the rest pose is drawn for (MA-52 geometry).
pub const BASE: (f32, f32) = (1080.0, 1296.0);

/// Joints of the figure, in rest-pose pixels at [`BASE`] size. Sides are the subject's own
/// (facing the camera: the subject's left is the image's right).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum J {
    /// Centre of the head.
    HeadCenter,
    /// Nose tip.
    Nose,
    /// Base of the neck.
    Neck,
    /// Centre of the hips.
    Pelvis,
    /// Shoulder.
    Shoulder(Side),
    /// Elbow.
    Elbow(Side),
    /// Wrist.
    Wrist(Side),
    /// Centre of the hand.
    Hand(Side),
    /// Hip.
    Hip(Side),
    /// Knee.
    Knee(Side),
    /// Ankle.
    Ankle(Side),
    /// Toe tip.
    Toe(Side),
}

/// Body side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The subject's left.
    Left,
    /// The subject's right.
    Right,
}

impl Side {
    /// +1 for the subject's left (image right), −1 for the right.
    fn sign(self) -> f32 {
        match self {
            Side::Left => 1.0,
            Side::Right => -1.0,
        }
    }
}

/// Rest position of a joint.
pub fn rest(j: J) -> (f32, f32) {
    let c = 540.0;
    let at = |s: Side, dx: f32, y: f32| (c + s.sign() * dx, y);
    match j {
        J::HeadCenter => (c, 340.0),
        J::Nose => (c, 360.0),
        J::Neck => (c, 450.0),
        J::Pelvis => (c, 760.0),
        J::Shoulder(s) => at(s, 140.0, 480.0),
        J::Elbow(s) => at(s, 175.0, 640.0),
        J::Wrist(s) => at(s, 130.0, 775.0),
        J::Hand(s) => at(s, 115.0, 830.0),
        J::Hip(s) => at(s, 80.0, 760.0),
        J::Knee(s) => at(s, 105.0, 885.0),
        J::Ankle(s) => at(s, 110.0, 1110.0),
        J::Toe(s) => at(s, 120.0, 1175.0),
    }
}

/// One rigid part: its shape in rest coordinates, where it hangs, and its colour.
#[derive(Clone, Copy, Debug)]
pub struct PartDef {
    /// Capsule ends (equal for a disc), rest pixels.
    pub a: (f32, f32),
    /// Second end.
    pub b: (f32, f32),
    /// Radius in rest pixels.
    pub radius: f32,
    /// Parent part (index into [`parts`]); `None` for the root.
    pub parent: Option<usize>,
    /// Joint it turns about.
    pub pivot: (f32, f32),
    /// Base colour (RGB).
    pub colour: [f32; 3],
    /// Drawing order: higher is nearer the camera.
    pub depth: u8,
}

const SKIN: [f32; 3] = [196.0, 150.0, 120.0];
const SHIRT: [f32; 3] = [70.0, 110.0, 170.0];
const TROUSERS: [f32; 3] = [150.0, 140.0, 110.0];
const SHOES: [f32; 3] = [60.0, 50.0, 45.0];

/// The 14 parts in [`maflow_operators::common::body::PARTS`] order. The drawn shapes are a
/// little wider than the capsules `align` uses, so the capsule regions lie
/// on the figure.
pub fn parts() -> [PartDef; PART_COUNT] {
    use J::*;
    use Side::{Left as L, Right as R};
    let capsule = |a: J, b: J, radius: f32, parent: Option<usize>, colour, depth| PartDef {
        a: rest(a),
        b: rest(b),
        radius,
        parent,
        pivot: rest(a),
        colour,
        depth,
    };
    let head = PartDef {
        a: rest(HeadCenter),
        b: rest(HeadCenter),
        radius: 125.0,
        parent: Some(1),
        pivot: rest(Neck),
        colour: SKIN,
        depth: 3,
    };
    let torso = PartDef {
        a: (540.0, 470.0),
        b: rest(Pelvis),
        radius: 150.0,
        parent: None,
        pivot: rest(Pelvis),
        colour: SHIRT,
        depth: 2,
    };
    [
        head,
        torso,
        capsule(Shoulder(L), Elbow(L), 52.0, Some(1), SHIRT, 4),
        capsule(Shoulder(R), Elbow(R), 52.0, Some(1), SHIRT, 4),
        capsule(Elbow(L), Wrist(L), 44.0, Some(2), SKIN, 5),
        capsule(Elbow(R), Wrist(R), 44.0, Some(3), SKIN, 5),
        capsule(Wrist(L), Hand(L), 52.0, Some(4), SKIN, 6),
        capsule(Wrist(R), Hand(R), 52.0, Some(5), SKIN, 6),
        capsule(Hip(L), Knee(L), 68.0, Some(1), TROUSERS, 1),
        capsule(Hip(R), Knee(R), 68.0, Some(1), TROUSERS, 1),
        capsule(Knee(L), Ankle(L), 52.0, Some(8), TROUSERS, 1),
        capsule(Knee(R), Ankle(R), 52.0, Some(9), TROUSERS, 1),
        capsule(Ankle(L), Toe(L), 46.0, Some(10), SHOES, 2),
        capsule(Ankle(R), Toe(R), 46.0, Some(11), SHOES, 2),
    ]
}

/// A 2D rigid transform: x' = R(angle)·x + t.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rigid {
    /// Rotation in radians (positive turns x toward y, i.e. clockwise on screen).
    pub angle: f32,
    /// Translation.
    pub t: (f32, f32),
}

impl Rigid {
    /// No motion.
    pub const IDENTITY: Rigid = Rigid {
        angle: 0.0,
        t: (0.0, 0.0),
    };

    /// A turn by `angle` about `pivot`, then a shift by `shift`.
    pub fn about(pivot: (f32, f32), angle: f32, shift: (f32, f32)) -> Rigid {
        let (s, c) = angle.sin_cos();
        let (px, py) = pivot;
        Rigid {
            angle,
            t: (
                px - (c * px - s * py) + shift.0,
                py - (s * px + c * py) + shift.1,
            ),
        }
    }

    /// Applies it to a point.
    pub fn apply(&self, p: (f32, f32)) -> (f32, f32) {
        let (s, c) = self.angle.sin_cos();
        (c * p.0 - s * p.1 + self.t.0, s * p.0 + c * p.1 + self.t.1)
    }

    /// The inverse transform.
    pub fn inverse(&self) -> Rigid {
        let (s, c) = self.angle.sin_cos();
        let (tx, ty) = self.t;
        Rigid {
            angle: -self.angle,
            t: (-(c * tx + s * ty), -(-s * tx + c * ty)),
        }
    }

    /// `self` after `inner`: x ↦ self(inner(x)).
    pub fn then_after(&self, inner: &Rigid) -> Rigid {
        let t = self.apply(inner.t);
        Rigid {
            angle: self.angle + inner.angle,
            t,
        }
    }
}

/// Per part: its own turn (radians, about its pivot) and shift (rest pixels), relative to its parent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pose {
    /// Local rotation per part.
    pub angle: [f32; PART_COUNT],
    /// Local translation per part.
    pub shift: [(f32, f32); PART_COUNT],
}

/// World transforms of the parts (rest pixels → rest pixels) for a pose.
pub fn world(pose: &Pose, defs: &[PartDef; PART_COUNT]) -> [Rigid; PART_COUNT] {
    let mut out = [Rigid::IDENTITY; PART_COUNT];
    // Parents come before children in this order.
    for i in [1, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] {
        let local = Rigid::about(defs[i].pivot, pose.angle[i], pose.shift[i]);
        out[i] = match defs[i].parent {
            Some(p) => out[p].then_after(&local),
            None => local,
        };
    }
    out
}

/// Smooth value noise in [0, 1] on a lattice of `period` pixels, keyed by `seed`.
fn noise(x: f32, y: f32, period: f32, seed: u32) -> f32 {
    let (gx, gy) = (x / period, y / period);
    let (x0, y0) = (gx.floor(), gy.floor());
    let (fx, fy) = (gx - x0, gy - y0);
    let smooth = |t: f32| t * t * (3.0 - 2.0 * t);
    let (sx, sy) = (smooth(fx), smooth(fy));
    let h = |i: i32, j: i32| {
        let mut v = (i as u32).wrapping_mul(0x9E37_79B1)
            ^ (j as u32).wrapping_mul(0x85EB_CA77)
            ^ seed.wrapping_mul(0xC2B2_AE3D);
        v ^= v >> 15;
        v = v.wrapping_mul(0x2C1B_3C6D);
        v ^= v >> 12;
        (v & 0xFFFF) as f32 / 65535.0
    };
    let (i, j) = (x0 as i32, y0 as i32);
    let top = h(i, j) * (1.0 - sx) + h(i + 1, j) * sx;
    let bottom = h(i, j + 1) * (1.0 - sx) + h(i + 1, j + 1) * sx;
    top * (1.0 - sy) + bottom * sy
}

/// The texture of part `k` (or the wall, `k = 14`) at rest coordinates (x, y).
fn texture(k: usize, colour: [f32; 3], x: f32, y: f32) -> [u8; 3] {
    let seed = k as u32 + 1;
    let v = 0.6 * noise(x, y, 7.0, seed) + 0.4 * noise(x, y, 19.0, seed + 101) - 0.5;
    let amplitude = if k == 14 { 30.0 } else { 110.0 };
    colour.map(|c| (c + amplitude * v).clamp(0.0, 255.0) as u8)
}

/// A rendered frame: RGB pixels and, per pixel, the visible part (14 = wall).
pub struct Rendered {
    /// RGB, row-major (empty when not textured).
    pub rgb: Vec<u8>,
    /// Visible part per pixel.
    pub owner: Vec<u8>,
}

/// Draws the figure in `pose` into a `width × height` frame (the rest pose
/// scaled to fit); without `textured`, only which part each pixel shows.
pub fn render(pose: &Pose, width: usize, height: usize, textured: bool) -> Rendered {
    let defs = parts();
    let transforms = world(pose, &defs);
    let inverse: Vec<Rigid> = transforms.iter().map(Rigid::inverse).collect();
    let scale = BASE.1 / height as f32;
    let mut order: Vec<usize> = (0..PART_COUNT).collect();
    order.sort_by_key(|&i| (defs[i].depth, std::cmp::Reverse(i)));
    // Parts are painted back to front, each over the pixels of its bounding
    // box; its capsule is where it is now (transforms are rigid, so the
    // radius holds). A pixel belongs to the part whose capsule holds its centre.
    let mut owner = vec![14u8; width * height];
    let span = |lo: f32, hi: f32, n: usize| {
        let first = (lo / scale - 0.5).floor().max(0.0) as usize;
        let last = ((hi / scale - 0.5).ceil().max(0.0) as usize).min(n.saturating_sub(1));
        first..=last
    };
    for &i in &order {
        let (a, b, r) = (
            transforms[i].apply(defs[i].a),
            transforms[i].apply(defs[i].b),
            defs[i].radius,
        );
        for y in span(a.1.min(b.1) - r, a.1.max(b.1) + r, height) {
            for x in span(a.0.min(b.0) - r, a.0.max(b.0) + r, width) {
                if within_segment(
                    ((x as f32 + 0.5) * scale, (y as f32 + 0.5) * scale),
                    a,
                    b,
                    r,
                ) {
                    owner[y * width + x] = i as u8;
                }
            }
        }
    }
    let mut rgb = Vec::new();
    if textured {
        rgb.reserve_exact(width * height * 3);
        for (n, &k) in owner.iter().enumerate() {
            // Rest-pose pixel coordinates of this pixel's centre.
            let p = (
                ((n % width) as f32 + 0.5) * scale,
                ((n / width) as f32 + 0.5) * scale,
            );
            let colour = match k as usize {
                14 => texture(14, [225.0, 222.0, 215.0], p.0, p.1),
                i => {
                    let q = inverse[i].apply(p);
                    texture(i, defs[i].colour, q.0, q.1)
                }
            };
            rgb.extend_from_slice(&colour);
        }
    }
    Rendered { rgb, owner }
}

/// Per part, the true motion from `before` to `after` of its pixels visible
/// in `before` (`owner` of that frame): the median displacement [vx, vy]
/// in frame pixels with y up, and the number of pixels; `None` when hidden.
pub fn true_motion(
    before: &Pose,
    after: &Pose,
    owner: &[u8],
    width: usize,
    height: usize,
) -> [Option<[f32; 2]>; PART_COUNT] {
    let defs = parts();
    let (t0, t1) = (world(before, &defs), world(after, &defs));
    let back: Vec<Rigid> = t0.iter().map(Rigid::inverse).collect();
    let scale = BASE.1 / height as f32;
    let mut samples: Vec<(Vec<f32>, Vec<f32>)> = vec![(Vec::new(), Vec::new()); PART_COUNT];
    for y in 0..height {
        for x in 0..width {
            let k = owner[y * width + x] as usize;
            if k == 14 {
                continue;
            }
            let p = ((x as f32 + 0.5) * scale, (y as f32 + 0.5) * scale);
            let q = t1[k].apply(back[k].apply(p));
            samples[k].0.push((q.0 - p.0) / scale);
            samples[k].1.push(-(q.1 - p.1) / scale);
        }
    }
    std::array::from_fn(|k| {
        let (u, v) = &mut samples[k];
        // Tiny slivers are not "visible parts".
        if u.len() < 50 {
            return None;
        }
        let median = |s: &mut Vec<f32>| {
            s.sort_unstable_by(f32::total_cmp);
            s[s.len() / 2]
        };
        Some([median(u), median(v)])
    })
}

/// The figure's skeleton in a pose, as 33 BlazePose landmarks in pixels of a
/// frame `height` pixels tall (all sure).
pub fn skeleton(pose: &Pose, height: usize) -> Skeleton {
    use J::*;
    use Side::{Left as L, Right as R};
    let defs = parts();
    let w = world(pose, &defs);
    let scale = height as f32 / BASE.1;
    let at = |part: usize, j: J| {
        let (x, y) = w[part].apply(rest(j));
        Keypoint {
            x: x * scale,
            y: y * scale,
            score: 1.0,
        }
    };
    let off = |part: usize, j: J, dx: f32, dy: f32| {
        let (x, y) = rest(j);
        let (x, y) = w[part].apply((x + dx, y + dy));
        Keypoint {
            x: x * scale,
            y: y * scale,
            score: 1.0,
        }
    };
    let mut k = vec![
        Keypoint {
            x: 0.0,
            y: 0.0,
            score: 1.0
        };
        33
    ];
    k[0] = at(0, Nose);
    // Eyes (inner, centre, outer) and ears around the head centre; left is image right.
    for (i, dx) in [(1, 15.0), (2, 30.0), (3, 45.0)] {
        k[i] = off(0, HeadCenter, dx, -10.0);
        k[i + 3] = off(0, HeadCenter, -dx, -10.0);
    }
    k[7] = off(0, HeadCenter, 70.0, 0.0);
    k[8] = off(0, HeadCenter, -70.0, 0.0);
    k[9] = off(0, HeadCenter, 20.0, 50.0);
    k[10] = off(0, HeadCenter, -20.0, 50.0);
    for (side, o) in [(L, 0), (R, 1)] {
        let (ua, la, hand, ul, ll, foot) = (2 + o, 4 + o, 6 + o, 8 + o, 10 + o, 12 + o);
        k[11 + o] = at(ua, Shoulder(side));
        k[13 + o] = at(la, Elbow(side));
        k[15 + o] = at(hand, Wrist(side));
        // Pinky, index and thumb around the hand centre.
        k[17 + o] = off(hand, Hand(side), side.sign() * 15.0, 10.0);
        k[19 + o] = off(hand, Hand(side), -side.sign() * 15.0, 10.0);
        k[21 + o] = off(hand, Hand(side), -side.sign() * 20.0, -15.0);
        k[23 + o] = at(ul, Hip(side));
        k[25 + o] = at(ll, Knee(side));
        k[27 + o] = at(foot, Ankle(side));
        k[29 + o] = off(foot, Ankle(side), 0.0, 15.0);
        k[31 + o] = at(foot, Toe(side));
    }
    Skeleton {
        layout: Layout::Blazepose33,
        keypoints: k,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rigid_transforms_compose_and_invert() {
        let a = Rigid::about((10.0, 20.0), 0.3, (1.0, -2.0));
        let b = Rigid::about((-5.0, 4.0), -0.7, (3.0, 0.5));
        let p = (7.0, -3.0);
        let ab = a.then_after(&b);
        let (x, y) = ab.apply(p);
        let (ex, ey) = a.apply(b.apply(p));
        assert!((x - ex).abs() < 1e-4 && (y - ey).abs() < 1e-4);
        let back = a.inverse().apply(a.apply(p));
        assert!((back.0 - p.0).abs() < 1e-4 && (back.1 - p.1).abs() < 1e-4);
        // A turn about a pivot leaves the pivot in place.
        let pivot = Rigid::about((10.0, 20.0), 1.0, (0.0, 0.0)).apply((10.0, 20.0));
        assert!((pivot.0 - 10.0).abs() < 1e-4 && (pivot.1 - 20.0).abs() < 1e-4);
    }

    #[test]
    fn a_shifted_head_moves_exactly_by_the_shift() {
        let still = Pose::default();
        let mut moved = Pose::default();
        moved.shift[0] = (2.0, -1.0); // right and up, in rest pixels
        let (w, h) = (270, 324); // quarter size: rest pixels are 4 frame pixels
        let r = render(&still, w, h, true);
        let m = true_motion(&still, &moved, &r.owner, w, h);
        let head = m[0].unwrap();
        assert!(
            (head[0] - 0.5).abs() < 1e-4 && (head[1] - 0.25).abs() < 1e-4,
            "{head:?}"
        );
        // The arms hang from the torso, not the head: they stay.
        assert_eq!(m[2].unwrap(), [0.0, 0.0]);
        // The child follows its parent: turning the left upper arm moves the left hand.
        let mut arm = Pose::default();
        arm.angle[2] = 0.05;
        let m = true_motion(&still, &arm, &r.owner, w, h);
        assert!(m[6].unwrap()[0].abs() > 1.0);
        assert_eq!(m[7].unwrap(), [0.0, 0.0]);
    }

    #[test]
    fn the_skeleton_follows_the_parts() {
        let mut pose = Pose::default();
        pose.shift[0] = (10.0, 0.0);
        let s = skeleton(&pose, 1296);
        assert_eq!((s.keypoints[0].x, s.keypoints[0].y), (550.0, 360.0));
        // Subject's left shoulder on the image's right.
        assert!(s.keypoints[11].x > s.keypoints[12].x);
    }
}
