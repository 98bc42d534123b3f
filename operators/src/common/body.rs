//! Skeletons and the 14 body parts built on them.
//!
//! A [`Skeleton`] is one frame's keypoints in pixels with scores, in one of
//! the layouts maflow reads (BlazePose 33 from `pose`, COCO 17, OpenPose
//! BODY_25). Every layout maps to the same named [`Joints`], and the 14
//! parts (left and right are the subject's own sides) are defined once on
//! those joints: an anchor point and a capsule (a segment with a radius
//! proportional to the person's torso length). Hands and feet are capsules
//! around their end points.

use maflow_kernels::geometry::squared_distance_to_segment;
use serde::{Deserialize, Serialize};

/// How many body parts a descriptor has.
pub const PART_COUNT: usize = 14;

/// The 14 parts, in descriptor order.
pub const PARTS: [&str; PART_COUNT] = [
    "Head",
    "Torso",
    "Left_Upper_Arm",
    "Right_Upper_Arm",
    "Left_Lower_Arm",
    "Right_Lower_Arm",
    "Left_Hand",
    "Right_Hand",
    "Left_Upper_Leg",
    "Right_Upper_Leg",
    "Left_Lower_Leg",
    "Right_Lower_Leg",
    "Left_Foot",
    "Right_Foot",
];

/// Keypoint layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// The 33 BlazePose landmarks.
    Blazepose33,
    /// The 17 COCO keypoints.
    Coco17,
    /// OpenPose BODY_25.
    Openpose25,
}

impl Layout {
    /// Keypoints per skeleton.
    pub fn keypoints(self) -> usize {
        match self {
            Layout::Blazepose33 => 33,
            Layout::Coco17 => 17,
            Layout::Openpose25 => 25,
        }
    }
}

/// One keypoint: position in pixels (x right, y down) and confidence in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Keypoint {
    /// x in pixels.
    pub x: f32,
    /// y in pixels.
    pub y: f32,
    /// Confidence (visibility) in [0, 1].
    pub score: f32,
}

/// One frame's skeleton; no keypoints means no person was found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Skeleton {
    /// The layout of `keypoints`.
    pub layout: Layout,
    /// Keypoints in layout order (empty: nobody).
    pub keypoints: Vec<Keypoint>,
}

impl maflow_engine::registry::FrameProductType for Skeleton {
    const PRODUCT: maflow_engine::registry::ProductType = maflow_engine::registry::ProductType {
        name: "skeleton",
        description: "per-frame skeletons",
    };
}

/// A point with a confidence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Joint {
    /// x in pixels.
    pub x: f32,
    /// y in pixels.
    pub y: f32,
    /// Confidence in [0, 1].
    pub score: f32,
}

impl Joint {
    fn mid(a: Joint, b: Joint) -> Joint {
        Joint {
            x: (a.x + b.x) / 2.0,
            y: (a.y + b.y) / 2.0,
            score: a.score.min(b.score),
        }
    }
    fn dist(a: Joint, b: Joint) -> f32 {
        (a.x - b.x).hypot(a.y - b.y)
    }
}

/// The joints the parts are built on, whatever the layout. Sides are the subject's.
#[derive(Clone, Copy, Debug)]
pub struct Joints {
    /// Nose.
    pub nose: Joint,
    /// Centre of the head (between the ears when seen, else the nose).
    pub head: Joint,
    /// Shoulders (left, right).
    pub shoulder: [Joint; 2],
    /// Elbows.
    pub elbow: [Joint; 2],
    /// Wrists.
    pub wrist: [Joint; 2],
    /// Hand centres (between wrist and finger base when known, else the wrist).
    pub hand: [Joint; 2],
    /// Hips.
    pub hip: [Joint; 2],
    /// Knees.
    pub knee: [Joint; 2],
    /// Ankles.
    pub ankle: [Joint; 2],
    /// Toe tips (the ankle when unknown).
    pub toe: [Joint; 2],
}

impl Joints {
    /// The joints of a skeleton; `None` when it is empty or too short for its layout.
    pub fn of(s: &Skeleton) -> Option<Joints> {
        let k = &s.keypoints;
        if k.len() < s.layout.keypoints() {
            return None;
        }
        let j = |i: usize| Joint {
            x: k[i].x,
            y: k[i].y,
            score: k[i].score,
        };
        let mean = |idx: &[usize]| {
            let n = idx.len() as f32;
            Joint {
                x: idx.iter().map(|&i| k[i].x).sum::<f32>() / n,
                y: idx.iter().map(|&i| k[i].y).sum::<f32>() / n,
                score: idx.iter().map(|&i| k[i].score).fold(1.0, f32::min),
            }
        };
        Some(match s.layout {
            // BlazePose: 0 nose, 7/8 ears, 11/12 shoulders, 13/14 elbows, 15/16 wrists,
            // 17-22 pinky/index/thumb, 23/24 hips, 25/26 knees, 27/28 ankles, 31/32 toes.
            Layout::Blazepose33 => Joints {
                nose: j(0),
                head: mean(&[0, 7, 8]),
                shoulder: [j(11), j(12)],
                elbow: [j(13), j(14)],
                wrist: [j(15), j(16)],
                hand: [mean(&[15, 17, 19]), mean(&[16, 18, 20])],
                hip: [j(23), j(24)],
                knee: [j(25), j(26)],
                ankle: [j(27), j(28)],
                toe: [j(31), j(32)],
            },
            // COCO: 0 nose, 3/4 ears, 5/6 shoulders, 7/8 elbows, 9/10 wrists, 11/12 hips,
            // 13/14 knees, 15/16 ankles. No hands or toes: the wrist and ankle stand in.
            Layout::Coco17 => Joints {
                nose: j(0),
                head: mean(&[0, 3, 4]),
                shoulder: [j(5), j(6)],
                elbow: [j(7), j(8)],
                wrist: [j(9), j(10)],
                hand: [j(9), j(10)],
                hip: [j(11), j(12)],
                knee: [j(13), j(14)],
                ankle: [j(15), j(16)],
                toe: [j(15), j(16)],
            },
            // BODY_25: 0 nose, 2-4 right arm, 5-7 left arm, 9-11 right leg, 12-14 left leg,
            // 17/18 right/left ear, 19/20 left big/small toe, 22/23 right big/small toe.
            Layout::Openpose25 => Joints {
                nose: j(0),
                head: mean(&[0, 17, 18]),
                shoulder: [j(5), j(2)],
                elbow: [j(6), j(3)],
                wrist: [j(7), j(4)],
                hand: [j(7), j(4)],
                hip: [j(12), j(9)],
                knee: [j(13), j(10)],
                ankle: [j(14), j(11)],
                toe: [mean(&[19, 20]), mean(&[22, 23])],
            },
        })
    }

    /// Torso length in pixels (shoulder centre to hip centre): the person's scale.
    pub fn scale(&self) -> f32 {
        let neck = Joint::mid(self.shoulder[0], self.shoulder[1]);
        let pelvis = Joint::mid(self.hip[0], self.hip[1]);
        Joint::dist(neck, pelvis)
            .max(Joint::dist(self.shoulder[0], self.shoulder[1]))
            .max(1.0)
    }
}

/// A part's geometry in one frame: a segment `a`–`b` (a disc when equal)
/// with a radius, its anchor, and the confidence of the joints it rests on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PartShape {
    /// Segment start (x, y) in pixels.
    pub a: (f32, f32),
    /// Segment end.
    pub b: (f32, f32),
    /// Radius in pixels.
    pub radius: f32,
    /// The part's position: its `coord` in the descriptor.
    pub anchor: (f32, f32),
    /// The lowest confidence of its joints.
    pub score: f32,
}

impl PartShape {
    /// The square of (x, y)'s distance to the segment over the radius: ≤ 1
    /// inside, and ordered as the distances over the radii are, without a
    /// square root per pixel.
    pub fn reach_squared(&self, x: f32, y: f32) -> f32 {
        squared_distance_to_segment((x, y), self.a, self.b) / (self.radius * self.radius)
    }

    /// The bounding box (x0, y0, x1, y1) of the capsule.
    pub fn bounds(&self) -> (f32, f32, f32, f32) {
        let r = self.radius;
        (
            self.a.0.min(self.b.0) - r,
            self.a.1.min(self.b.1) - r,
            self.a.0.max(self.b.0) + r,
            self.a.1.max(self.b.1) + r,
        )
    }
}

/// Capsule radii as fractions of the torso length, per part kind.
const HEAD_RADIUS: f32 = 0.42;
const TORSO_RADIUS: f32 = 0.38;
const UPPER_ARM_RADIUS: f32 = 0.17;
const LOWER_ARM_RADIUS: f32 = 0.14;
const HAND_RADIUS: f32 = 0.17;
const UPPER_LEG_RADIUS: f32 = 0.22;
const LOWER_LEG_RADIUS: f32 = 0.17;
const FOOT_RADIUS: f32 = 0.15;

/// The 14 parts' shapes, in [`PARTS`] order.
pub fn part_shapes(j: &Joints) -> [PartShape; PART_COUNT] {
    let s = j.scale();
    let p = |q: Joint| (q.x, q.y);
    let mid = |a: Joint, b: Joint| ((a.x + b.x) / 2.0, (a.y + b.y) / 2.0);
    let capsule = |a: Joint, b: Joint, r: f32, anchor: (f32, f32)| PartShape {
        a: p(a),
        b: p(b),
        radius: r * s,
        anchor,
        score: a.score.min(b.score),
    };
    let neck = Joint::mid(j.shoulder[0], j.shoulder[1]);
    let pelvis = Joint::mid(j.hip[0], j.hip[1]);
    let head = PartShape {
        a: p(j.head),
        b: p(j.head),
        radius: HEAD_RADIUS * s,
        anchor: p(j.nose),
        score: j.nose.score.min(j.head.score),
    };
    let torso_top = Joint {
        x: neck.x * 0.85 + pelvis.x * 0.15,
        y: neck.y * 0.85 + pelvis.y * 0.15,
        score: neck.score,
    };
    let torso = capsule(torso_top, pelvis, TORSO_RADIUS, mid(neck, pelvis));
    let side = |i: usize| {
        [
            capsule(
                j.shoulder[i],
                j.elbow[i],
                UPPER_ARM_RADIUS,
                mid(j.shoulder[i], j.elbow[i]),
            ),
            capsule(
                j.elbow[i],
                j.wrist[i],
                LOWER_ARM_RADIUS,
                mid(j.elbow[i], j.wrist[i]),
            ),
            capsule(j.wrist[i], j.hand[i], HAND_RADIUS, p(j.hand[i])),
            capsule(
                j.hip[i],
                j.knee[i],
                UPPER_LEG_RADIUS,
                mid(j.hip[i], j.knee[i]),
            ),
            capsule(
                j.knee[i],
                j.ankle[i],
                LOWER_LEG_RADIUS,
                mid(j.knee[i], j.ankle[i]),
            ),
            capsule(j.ankle[i], j.toe[i], FOOT_RADIUS, mid(j.ankle[i], j.toe[i])),
        ]
    };
    let (l, r) = (side(0), side(1));
    [
        head, torso, l[0], r[0], l[1], r[1], l[2], r[2], l[3], r[3], l[4], r[4], l[5], r[5],
    ]
}

/// The part owning pixel (x, y): the one whose capsule reaches it most
/// closely (smallest [`PartShape::reach_squared`] ≤ 1, the lowest index on
/// a tie), so overlapping capsules (a hand on the torso) give each pixel to
/// one part. For many points of a row, [`RowClaims`] does the same at once.
pub fn owner(shapes: &[PartShape; PART_COUNT], x: f32, y: f32) -> Option<usize> {
    let mut claims = RowClaims::default();
    claims.push(x);
    for (p, shape) in shapes.iter().enumerate() {
        claims.claim(shape, p, y, 0..1);
    }
    claims.owner(0)
}

/// [`owner`] for many points of one row at once: every part claims the
/// points it reaches, in ascending part order, and a point goes to the
/// closest claim. The points' reaches are computed part by part over runs
/// of points in plain loops, which the compiler vectorises; the arithmetic
/// is [`PartShape::reach_squared`]'s, so the owners are those of [`owner`].
#[derive(Debug, Default)]
pub struct RowClaims {
    xs: Vec<f32>,
    /// Per point, the closest reach claimed so far (∞: none).
    best: Vec<f32>,
    /// Per point, its part, or [`RowClaims::NONE`].
    part: Vec<u32>,
}

impl RowClaims {
    const NONE: u32 = u32::MAX;

    /// Starts a new row, with no points.
    pub fn clear(&mut self) {
        self.xs.clear();
        self.best.clear();
        self.part.clear();
    }

    /// Adds a point at `x` (in any order), unclaimed.
    pub fn push(&mut self, x: f32) {
        self.xs.push(x);
        self.best.push(f32::INFINITY);
        self.part.push(Self::NONE);
    }

    /// The points' x, in the order they were added.
    pub fn xs(&self) -> &[f32] {
        &self.xs
    }

    /// Part `p` (claims must come in ascending `p`) claims the points of
    /// `range` at height `y` that its capsule reaches more closely than an
    /// earlier part.
    pub fn claim(&mut self, shape: &PartShape, p: usize, y: f32, range: std::ops::Range<usize>) {
        let p = p as u32;
        let xs = &self.xs[range.clone()];
        let best = &mut self.best[range.clone()];
        let part = &mut self.part[range];
        for ((&x, b), o) in xs.iter().zip(best).zip(part) {
            let r = shape.reach_squared(x, y);
            let closer = r <= 1.0 && r < *b;
            *b = if closer { r } else { *b };
            *o = if closer { p } else { *o };
        }
    }

    /// The owner of point `i`, if some part reached it.
    pub fn owner(&self, i: usize) -> Option<usize> {
        let p = self.part[i];
        (p != Self::NONE).then_some(p as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seated figure, facing the camera: the subject's left is the image's right.
    fn blazepose_figure() -> Skeleton {
        let mut k = vec![
            Keypoint {
                x: 0.0,
                y: 0.0,
                score: 0.9
            };
            33
        ];
        let mut set = |i: usize, x: f32, y: f32| k[i] = Keypoint { x, y, score: 0.9 };
        set(0, 500.0, 300.0);
        set(7, 530.0, 290.0);
        set(8, 470.0, 290.0);
        set(11, 580.0, 420.0);
        set(12, 420.0, 420.0);
        set(13, 600.0, 560.0);
        set(14, 400.0, 560.0);
        set(15, 590.0, 680.0);
        set(16, 410.0, 680.0);
        for (i, x) in [(17, 595.0), (19, 590.0), (18, 405.0), (20, 410.0)] {
            set(i, x, 720.0);
        }
        set(23, 550.0, 700.0);
        set(24, 450.0, 700.0);
        set(25, 560.0, 900.0);
        set(26, 440.0, 900.0);
        set(27, 560.0, 1100.0);
        set(28, 440.0, 1100.0);
        set(31, 570.0, 1150.0);
        set(32, 430.0, 1150.0);
        Skeleton {
            layout: Layout::Blazepose33,
            keypoints: k,
        }
    }

    #[test]
    fn parts_sit_where_the_joints_are_and_own_their_bones() {
        let j = Joints::of(&blazepose_figure()).unwrap();
        let shapes = part_shapes(&j);
        let at = |name: &str| PARTS.iter().position(|p| *p == name).unwrap();
        assert_eq!(owner(&shapes, 500.0, 295.0), Some(at("Head")));
        assert_eq!(owner(&shapes, 500.0, 560.0), Some(at("Torso")));
        // Subject's left elbow is on the image's right.
        assert_eq!(owner(&shapes, 590.0, 490.0), Some(at("Left_Upper_Arm")));
        assert_eq!(owner(&shapes, 405.0, 620.0), Some(at("Right_Lower_Arm")));
        assert_eq!(owner(&shapes, 592.0, 705.0), Some(at("Left_Hand")));
        assert_eq!(owner(&shapes, 440.0, 1000.0), Some(at("Right_Lower_Leg")));
        assert_eq!(owner(&shapes, 566.0, 1130.0), Some(at("Left_Foot")));
        assert_eq!(owner(&shapes, 100.0, 100.0), None);
        assert_eq!(shapes[at("Head")].anchor, (500.0, 300.0));
    }

    #[test]
    fn row_claims_give_each_point_its_closest_reaching_part() {
        let shapes = part_shapes(&Joints::of(&blazepose_figure()).unwrap());
        // By definition: the smallest reach ≤ 1, the lowest part on a tie.
        let closest = |x: f32, y: f32| {
            let mut best: Option<(usize, f32)> = None;
            for (p, s) in shapes.iter().enumerate() {
                let r = s.reach_squared(x, y);
                if r <= 1.0 && best.is_none_or(|(_, b)| r < b) {
                    best = Some((p, r));
                }
            }
            best.map(|(p, _)| p)
        };
        let xs: Vec<f32> = (0..240).map(|i| 300.0 + 1.25 * i as f32).collect();
        let mut claims = RowClaims::default();
        let (mut owned, mut shared) = (0, 0);
        for y in (200..1200).step_by(7).map(|y| y as f32 + 0.5) {
            claims.clear();
            xs.iter().for_each(|&x| claims.push(x));
            for (p, s) in shapes.iter().enumerate() {
                claims.claim(s, p, y, 0..xs.len());
            }
            for (i, &x) in xs.iter().enumerate() {
                assert_eq!(claims.owner(i), closest(x, y), "({x}, {y})");
                assert_eq!(owner(&shapes, x, y), closest(x, y), "({x}, {y})");
                owned += usize::from(claims.owner(i).is_some());
                let reaching = shapes
                    .iter()
                    .filter(|s| s.reach_squared(x, y) <= 1.0)
                    .count();
                shared += usize::from(reaching > 1);
            }
        }
        // The rows cross the figure, and its overlaps, where the closest part must win.
        assert!(
            owned > 5_000 && shared > 500,
            "owned {owned}, shared {shared}"
        );
    }

    #[test]
    fn every_layout_maps_sides_the_same_way() {
        // COCO and BODY_25 skeletons built from the BlazePose figure's joints.
        let b = blazepose_figure().keypoints;
        let coco_from = [
            0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28,
        ];
        let coco = Skeleton {
            layout: Layout::Coco17,
            keypoints: coco_from.iter().map(|&i| b[i]).collect(),
        };
        let mut op = vec![
            Keypoint {
                x: 0.0,
                y: 0.0,
                score: 0.0
            };
            25
        ];
        for (o, i) in [
            (0, 0),
            (2, 12),
            (3, 14),
            (4, 16),
            (5, 11),
            (6, 13),
            (7, 15),
            (9, 24),
            (10, 26),
            (11, 28),
            (12, 23),
            (13, 25),
            (14, 27),
            (17, 8),
            (18, 7),
            (19, 31),
            (20, 31),
            (22, 32),
            (23, 32),
        ] {
            op[o] = b[i];
        }
        let op = Skeleton {
            layout: Layout::Openpose25,
            keypoints: op,
        };
        let reference = Joints::of(&blazepose_figure()).unwrap();
        for s in [coco, op] {
            let j = Joints::of(&s).unwrap();
            for (a, r) in [
                (j.shoulder, reference.shoulder),
                (j.elbow, reference.elbow),
                (j.knee, reference.knee),
                (j.ankle, reference.ankle),
            ] {
                for side in 0..2 {
                    assert_eq!(
                        (a[side].x, a[side].y),
                        (r[side].x, r[side].y),
                        "{:?}",
                        s.layout
                    );
                }
            }
        }
    }

    #[test]
    fn an_empty_skeleton_has_no_joints() {
        assert!(
            Joints::of(&Skeleton {
                layout: Layout::Coco17,
                keypoints: vec![]
            })
            .is_none()
        );
    }
}
