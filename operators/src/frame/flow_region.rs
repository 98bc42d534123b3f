//! Where `flow` computes with `region: person`: a box around the person,
//! taken from the first frame that has a skeleton and kept for the rest of
//! the clip (so consecutive pairs compare the same pixels and each pair can
//! start from the last one's field). `align` reads flow only inside the
//! person's mask, so the rest of the frame is never computed; the field
//! handed on is zero there.

use maflow_kernels::flow::image::Window;

use crate::common::body::Skeleton;

/// Keypoints at least this sure outline the person.
const MIN_SCORE: f32 = 0.3;

/// The box around `skeleton`'s sure keypoints (input pixels), widened on each side by
/// `margin` times its size, at `scale` and within the `work` size, in working pixels;
/// `None` when there is nobody, or when the box would cover most of the frame anyway
/// (then the whole frame is computed, as cheaply).
pub fn person_box(
    skeleton: &Skeleton,
    scale: f64,
    work: (usize, usize),
    margin: f64,
    min_side: usize,
) -> Option<Window> {
    let sure = skeleton
        .keypoints
        .iter()
        .filter(|k| k.score >= MIN_SCORE && k.x.is_finite() && k.y.is_finite());
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    let mut any = false;
    for k in sure {
        let (x, y) = (f64::from(k.x) * scale, f64::from(k.y) * scale);
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        any = true;
    }
    if !any {
        return None;
    }
    let (w, h) = (work.0 as f64, work.1 as f64);
    let (mx, my) = ((x1 - x0) * margin, (y1 - y0) * margin);
    let clamp = |v: f64, hi: f64| v.clamp(0.0, hi);
    let (left, top) = (clamp((x0 - mx).floor(), w), clamp((y0 - my).floor(), h));
    let (right, bottom) = (clamp((x1 + mx).ceil(), w), clamp((y1 + my).ceil(), h));
    let mut region = Window {
        x: left as usize,
        y: top as usize,
        width: (right - left) as usize,
        height: (bottom - top) as usize,
    };
    // Too small for the patches: widen it about its centre, within the frame.
    for (start, size, limit) in [
        (&mut region.x, &mut region.width, work.0),
        (&mut region.y, &mut region.height, work.1),
    ] {
        if *size < min_side {
            let side = min_side.min(limit);
            let centre = *start + *size / 2;
            *start = centre.saturating_sub(side / 2).min(limit - side);
            *size = side;
        }
    }
    let share = (region.width * region.height) as f64 / (w * h);
    (share < 0.8).then_some(region)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::body::{Keypoint, Layout};

    fn skeleton(points: &[(f32, f32, f32)]) -> Skeleton {
        Skeleton {
            layout: Layout::Coco17,
            keypoints: points
                .iter()
                .map(|&(x, y, score)| Keypoint { x, y, score })
                .collect(),
        }
    }

    #[test]
    fn the_box_holds_the_sure_keypoints_with_their_margin_at_the_working_scale() {
        // Input 1000×1000 at scale 0.5: a 500×500 working image.
        let s = skeleton(&[
            (400.0, 200.0, 0.9),
            (600.0, 800.0, 0.9),
            (990.0, 990.0, 0.1),
        ]);
        let r = person_box(&s, 0.5, (500, 500), 0.25, 16).unwrap();
        // Sure points span 200..300 × 100..400; a quarter of that each side.
        assert_eq!(
            r,
            Window {
                x: 175,
                y: 25,
                width: 150,
                height: 450
            }
        );
        assert_eq!(person_box(&skeleton(&[]), 0.5, (500, 500), 0.25, 16), None);
        // A box over most of the frame is no saving: the whole frame is computed.
        let wide = skeleton(&[(10.0, 10.0, 1.0), (990.0, 990.0, 1.0)]);
        assert_eq!(person_box(&wide, 0.5, (500, 500), 0.25, 16), None);
        // One sure point: widened to the smallest side the patches need, inside the frame.
        let one = person_box(&skeleton(&[(996.0, 4.0, 1.0)]), 0.5, (500, 500), 0.25, 64).unwrap();
        assert_eq!(
            one,
            Window {
                x: 436,
                y: 0,
                width: 64,
                height: 64
            }
        );
    }
}
