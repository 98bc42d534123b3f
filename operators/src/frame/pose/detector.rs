//! The person detector: SSD anchors, box decoding, weighted non-maximum
//! suppression, and the region the landmark model looks at.
//!
//! The detector sees the whole frame letterboxed to 224×224 in [-1, 1]. For
//! each of 2,254 anchors it gives a score (logit) and 12 offsets: a box
//! (centre, size) and four alignment points, of which the first two — the
//! hip centre and a point on the circle that holds the whole body — set the
//! landmark region's centre, size and rotation.

use maflow_kernels::crop::{Cropper, RotatedRect};
use maflow_kernels::resize::ImageView;

use crate::common::onnx::{ModelBuffers, SessionPool, run};

/// Input side of the detector.
pub const SIZE: usize = 224;
const ANCHORS: usize = 2254;
/// Feature-map strides and anchors per cell (layers of equal stride merged).
const LAYERS: [(usize, usize); 3] = [(8, 2), (16, 2), (32, 6)];
/// The landmark region is the body circle's square, enlarged by this factor.
pub const REGION_SCALE: f32 = 1.25;

/// One detected person, in frame pixels.
#[derive(Clone, Copy, Debug)]
pub struct Detection {
    /// Score in [0, 1].
    pub score: f32,
    /// Hip centre.
    pub center: (f32, f32),
    /// A point on the circle holding the whole body (above the head when upright).
    pub extent: (f32, f32),
}

/// Anchor centres in normalised coordinates, in the model's output order.
fn anchors() -> Vec<(f32, f32)> {
    let mut out = Vec::with_capacity(ANCHORS);
    for (stride, per_cell) in LAYERS {
        let cells = SIZE / stride;
        for y in 0..cells {
            for x in 0..cells {
                for _ in 0..per_cell {
                    out.push((
                        (x as f32 + 0.5) / cells as f32,
                        (y as f32 + 0.5) / cells as f32,
                    ));
                }
            }
        }
    }
    debug_assert_eq!(out.len(), ANCHORS);
    out
}

/// The detector's outputs: boxes and scores.
pub const OUTPUTS: usize = 2;

/// Buffers for one clip's detector runs.
pub fn buffers() -> ModelBuffers {
    ModelBuffers::new(SIZE * SIZE * 3, OUTPUTS)
}

/// Finds the most confident person in an RGB frame, if any scores above `threshold`.
pub fn detect(
    pool: &SessionPool,
    rgb: ImageView<'_>,
    threshold: f32,
    cropper: &mut Cropper,
    io: &mut ModelBuffers,
) -> Result<Option<Detection>, String> {
    let letterbox = RotatedRect::letterbox(rgb.width, rgb.height, 1.0);
    cropper.crop(
        rgb,
        &letterbox,
        SIZE,
        SIZE,
        2.0 / 255.0,
        -1.0,
        &mut io.input,
    );
    let ModelBuffers { input, outputs } = io;
    pool.with(|s| run(s, input, [1, SIZE, SIZE, 3], outputs))?;
    let [boxes, scores] = &outputs[..] else {
        return Err(format!(
            "detector: expected {OUTPUTS} outputs, got {}",
            outputs.len()
        ));
    };
    if boxes.len() != ANCHORS * 12 || scores.len() != ANCHORS {
        return Err("detector: unexpected output sizes".into());
    }
    let anchors = anchors();
    let mut candidates: Vec<(f32, [f32; 12])> = Vec::new();
    for (i, &(ax, ay)) in anchors.iter().enumerate() {
        let score = sigmoid(scores[i].clamp(-100.0, 100.0));
        if score < threshold {
            continue;
        }
        let raw = &boxes[i * 12..i * 12 + 12];
        let mut decoded = [0f32; 12];
        for k in 0..6 {
            decoded[2 * k] = raw[2 * k] / SIZE as f32 + if k == 1 { 0.0 } else { ax };
            decoded[2 * k + 1] = raw[2 * k + 1] / SIZE as f32 + if k == 1 { 0.0 } else { ay };
        }
        candidates.push((score, decoded));
    }
    let Some(best) = weighted_nms(candidates, 0.3) else {
        return Ok(None);
    };
    let to_frame = |u: f32, v: f32| letterbox.to_image(u, v);
    Ok(Some(Detection {
        score: best.0,
        center: to_frame(best.1[4], best.1[5]),
        extent: to_frame(best.1[6], best.1[7]),
    }))
}

/// The best cluster of overlapping candidates, its members averaged by score
/// (more stable from frame to frame than the single best box).
fn weighted_nms(mut candidates: Vec<(f32, [f32; 12])>, min_iou: f32) -> Option<(f32, [f32; 12])> {
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (top_score, top) = *candidates.first()?;
    let mut sum = [0f32; 12];
    let mut weight = 0.0;
    for (score, c) in &candidates {
        if iou(&top, c) >= min_iou {
            for k in 0..12 {
                sum[k] += c[k] * score;
            }
            weight += score;
        }
    }
    Some((top_score, sum.map(|v| v / weight)))
}

/// Intersection over union of two (cx, cy, w, h, …) boxes.
fn iou(a: &[f32; 12], b: &[f32; 12]) -> f32 {
    let span = |c: f32, s: f32| (c - s / 2.0, c + s / 2.0);
    let (ax0, ax1) = span(a[0], a[2]);
    let (ay0, ay1) = span(a[1], a[3]);
    let (bx0, bx1) = span(b[0], b[2]);
    let (by0, by1) = span(b[1], b[3]);
    let iw = (ax1.min(bx1) - ax0.max(bx0)).max(0.0);
    let ih = (ay1.min(by1) - ay0.max(by0)).max(0.0);
    let inter = iw * ih;
    let union = a[2] * a[3] + b[2] * b[3] - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// The square region around a body given its centre and a point of its
/// enclosing circle, turned so that centre → circle point is "up".
pub fn body_region(center: (f32, f32), extent: (f32, f32)) -> RotatedRect {
    let (dx, dy) = (extent.0 - center.0, extent.1 - center.1);
    let size = 2.0 * dx.hypot(dy) * REGION_SCALE;
    let rotation = normalize_angle(std::f32::consts::FRAC_PI_2 - (-dy).atan2(dx));
    RotatedRect {
        cx: center.0,
        cy: center.1,
        width: size,
        height: size,
        rotation,
    }
}

fn normalize_angle(a: f32) -> f32 {
    use std::f32::consts::PI;
    a - 2.0 * PI * ((a + PI) / (2.0 * PI)).floor()
}

/// The logistic function.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_grid_matches_the_model_output() {
        let a = anchors();
        assert_eq!(a.len(), ANCHORS);
        assert_eq!(a[0], (0.5 / 28.0, 0.5 / 28.0));
        assert_eq!(a[ANCHORS - 1], (6.5 / 7.0, 6.5 / 7.0));
    }

    #[test]
    fn an_upright_body_gives_an_unturned_region() {
        let r = body_region((500.0, 700.0), (500.0, 300.0));
        assert!(r.rotation.abs() < 1e-6);
        assert!((r.width - 1000.0).abs() < 1e-3);
        // The region's top edge centre is above the head.
        let (x, y) = r.to_image(0.5, 0.0);
        assert!((x - 500.0).abs() < 1e-3 && (y - 200.0).abs() < 1e-3);
        // Lying to the right (head to the right): the region turns a quarter.
        let r = body_region((500.0, 700.0), (900.0, 700.0));
        let (x, y) = r.to_image(0.5, 0.0);
        assert!(
            (x - 1000.0).abs() < 1e-2 && (y - 700.0).abs() < 1e-2,
            "({x}, {y})"
        );
    }

    #[test]
    fn nms_averages_the_overlapping_cluster() {
        let mut a = [0f32; 12];
        a[..4].copy_from_slice(&[0.5, 0.5, 0.2, 0.2]);
        let mut b = a;
        b[0] = 0.52;
        let mut far = a;
        far[0] = 0.9;
        let (score, m) = weighted_nms(vec![(0.6, b), (0.9, a), (0.95, far)], 0.3).unwrap();
        assert_eq!(score, 0.95);
        assert_eq!(m[0], 0.9);
        let (_, m) = weighted_nms(vec![(0.6, b), (0.6, a)], 0.3).unwrap();
        assert!((m[0] - 0.51).abs() < 1e-6);
    }
}
