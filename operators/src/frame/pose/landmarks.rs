//! The landmark model: 33 body landmarks from a rotated square crop, and the
//! region to crop in the next frame.
//!
//! The model sees the region resampled to 256×256 RGB in [0, 1]. It returns
//! 39 landmarks (x, y in crop pixels, depth, visibility and presence
//! logits): the 33 of the body, then two alignment points (hip centre and
//! body-circle point, as the detector gives) used for tracking, then four
//! unused ones; and a score that a person is in the crop.

use maflow_kernels::crop::{Cropper, RotatedRect};
use maflow_kernels::resize::ImageView;

use super::detector::{body_region, sigmoid};
use crate::common::body::Keypoint;
use crate::common::onnx::{ModelBuffers, SessionPool, run};

/// Input side of the landmark model.
pub const SIZE: usize = 256;
const LANDMARKS: usize = 39;
/// Body landmarks kept.
pub const BODY: usize = 33;

/// What the landmark model saw in one region.
#[derive(Clone, Debug)]
pub struct Landmarks {
    /// Score that a person fills the region, in [0, 1].
    pub presence: f32,
    /// The 33 body landmarks in frame pixels; score = visibility.
    pub keypoints: Vec<Keypoint>,
    /// The region to look at in the next frame.
    pub next_region: RotatedRect,
}

/// The model outputs read: landmarks and presence (the model is pruned to
/// them; its segmentation, heatmaps and world landmarks are never computed).
pub const OUTPUTS: [usize; 2] = [0, 1];

/// Buffers for one clip's landmark runs.
pub fn buffers() -> ModelBuffers {
    ModelBuffers::new(SIZE * SIZE * 3, OUTPUTS.len())
}

/// Runs the landmark model on `region` of an RGB frame.
pub fn landmarks(
    pool: &SessionPool,
    rgb: ImageView<'_>,
    region: &RotatedRect,
    cropper: &mut Cropper,
    io: &mut ModelBuffers,
) -> Result<Landmarks, String> {
    cropper.crop(rgb, region, SIZE, SIZE, INPUT_SCALE, 0.0, &mut io.input);
    infer(pool, region, io)
}

/// Values per byte of the model's input.
pub const INPUT_SCALE: f32 = 1.0 / 255.0;

/// Runs the landmark model on the crop of `region` already in `io.input`.
pub fn infer(
    pool: &SessionPool,
    region: &RotatedRect,
    io: &mut ModelBuffers,
) -> Result<Landmarks, String> {
    let ModelBuffers { input, outputs } = io;
    pool.with(|s| run(s, input, [1, SIZE, SIZE, 3], outputs))?;
    let [raw, flag] = &outputs[..] else {
        return Err(format!(
            "landmark model: expected 2 outputs, got {}",
            outputs.len()
        ));
    };
    if raw.len() != LANDMARKS * 5 || flag.is_empty() {
        return Err("landmark model: unexpected output sizes".into());
    }
    let point = |i: usize| region.to_image(raw[i * 5] / SIZE as f32, raw[i * 5 + 1] / SIZE as f32);
    let keypoints = (0..BODY)
        .map(|i| {
            let (x, y) = point(i);
            // A landmark counts as seen when it is both visible and present in the crop.
            let score = sigmoid(raw[i * 5 + 3]).min(sigmoid(raw[i * 5 + 4]));
            Keypoint { x, y, score }
        })
        .collect();
    let next_region = body_region(point(BODY), point(BODY + 1));
    Ok(Landmarks {
        presence: flag[0],
        keypoints,
        next_region,
    })
}
