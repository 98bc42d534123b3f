//! `pose`: a 2D skeleton per frame with the MediaPipe BlazePose models.
//!
//! Tracking follows MediaPipe: the detector finds the person once, the
//! landmark model then runs on a rotated square around the body, and the
//! next frame's square comes from this frame's landmarks; the detector runs
//! again only when the landmark model loses the person. Landmarks are
//! smoothed over time with a One Euro filter. The record is the skeleton
//! track (stored, so a later change elsewhere replays it instead of running
//! the models again); each frame's [`Skeleton`] goes to the operators
//! downstream in the stage.

mod detector;
mod landmarks;
pub mod one_euro;

use std::path::PathBuf;

use maflow_kernels::crop::{Cropper, RotatedRect};
use maflow_kernels::resize::ImageView;

use crate::common::body::{Keypoint, Layout, Skeleton};
use crate::common::onnx::{ModelBuffers, SessionPool, find_model};
use crate::common::rounding::round_to;
use crate::frame::replay::ReplayTask;
use one_euro::{OneEuro, OneEuroState};

use crate::prelude::*;

pub use detector::body_region;

/// 2D skeleton per frame (33 BlazePose landmarks, pixels, with visibility) from RGB frames.
/// The detector finds the person; the landmark model then tracks it from frame to frame
/// (detector again only when tracking is lost); landmarks are smoothed with a One Euro filter.
/// Record: the skeleton track. Per frame: a skeleton for `segment` and `align`.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoseConfig {
    /// Landmark model: `full` (more accurate) or `lite` (faster).
    #[serde(default)]
    pub model: PoseModel,
    /// Folder holding the model files; absent searches $MAFLOW_MODELS, ../shared/models, .maflow/models.
    #[serde(default)]
    pub models: Option<PathBuf>,
    /// Minimum detector score to accept a person.
    #[default(0.5)]
    pub detection_threshold: f32,
    /// Below this landmark-model presence score, tracking is lost and the detector runs again.
    #[default(0.5)]
    pub presence_threshold: f32,
    /// One Euro smoothing of the landmarks over time (`~`: none). Values are in units of the body region's size.
    #[default(Some(OneEuro { min_cutoff: 0.05, beta: 80.0, d_cutoff: 1.0 }))]
    #[fields(OneEuro)]
    pub smoothing: Option<OneEuro>,
}

/// Landmark model variants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoseModel {
    /// `pose_landmark_lite.onnx`.
    Lite,
    /// `pose_landmark_full.onnx`.
    #[default]
    Full,
}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "pose",
    section: Section::Operators,
    version: 2,
    doc: PoseConfig::DOC,
    inputs: &[Port::new("frames", PortType::Frames)
        .hint("connect it to a frame producer such as `decode`")],
    output: Some(PortType::PerFrame(Skeleton::PRODUCT)),
    params: PoseConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: PoseConfig = parse_params(params)?;
    let mut errors = Vec::new();
    for (field, v) in [
        ("detection_threshold", config.detection_threshold),
        ("presence_threshold", config.presence_threshold),
    ] {
        if !(0.0..=1.0).contains(&v) {
            errors.push(param_error(
                params,
                field,
                format!("`{field}` must be in [0, 1]"),
            ));
        }
    }
    if let Some(s) = &config.smoothing
        && !(s.min_cutoff > 0.0 && s.beta >= 0.0 && s.d_cutoff > 0.0)
    {
        errors.push(param_error(
            params,
            "smoothing",
            "smoothing needs min_cutoff > 0, beta ≥ 0 and d_cutoff > 0",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let landmark_file = match config.model {
        PoseModel::Lite => "pose_landmark_lite.onnx",
        PoseModel::Full => "pose_landmark_full.onnx",
    };
    let open = |file: &str, outputs: &[usize]| {
        find_model(file, config.models.as_deref()).and_then(|p| SessionPool::open(p, outputs))
    };
    let models = open("pose_detection.onnx", &[])
        .and_then(|d| Ok((d, open(landmark_file, &landmarks::OUTPUTS)?)));
    let (detector, landmarker) = models.map_err(|why| vec![param_error(params, "model", why)])?;
    let op = PoseOperator {
        config: config.clone(),
        detector: Arc::new(detector),
        landmarker: Arc::new(landmarker),
    };
    Ok(Built::new(&config, Runtime::FrameConsumer(Arc::new(op))))
}

/// The built operator: the two models, shared by every clip.
struct PoseOperator {
    config: PoseConfig,
    detector: Arc<SessionPool>,
    landmarker: Arc<SessionPool>,
}

impl FrameConsumer for PoseOperator {
    fn start(&self, _clip: &Clip, info: &VideoInfo) -> Result<Box<dyn FrameTask>, String> {
        Ok(Box::new(PoseTask {
            config: self.config.clone(),
            detector: self.detector.clone(),
            landmarker: self.landmarker.clone(),
            dt: 1.0 / info.fps.max(1.0) as f32,
            region: None,
            filters: vec![[OneEuroState::default(); 2]; landmarks::BODY],
            track: Vec::new(),
            detections: 0,
            cropper: Cropper::new(),
            detector_io: detector::buffers(),
            landmark_io: landmarks::buffers(),
        }))
    }

    fn can_replay(&self) -> bool {
        true
    }

    fn replay(
        &self,
        _clip: &Clip,
        _info: &VideoInfo,
        cached: &Output,
    ) -> Result<Box<dyn FrameTask>, String> {
        let track: SkeletonTrack = serde_json::from_value(cached.record.clone())
            .map_err(|e| format!("stored skeleton track: {e}"))?;
        let skeletons = track
            .frames
            .iter()
            .map(|f| f.skeleton(track.layout))
            .collect();
        Ok(Box::new(ReplayTask::<Skeleton>::new(
            skeletons,
            "skeleton track",
        )))
    }
}

/// The stored record: one entry per frame.
#[derive(Debug, Serialize, Deserialize)]
pub struct SkeletonTrack {
    /// Keypoint layout.
    pub layout: Layout,
    /// Frames where the detector ran (tracking started or was lost).
    pub detections: u64,
    /// Per frame.
    pub frames: Vec<TrackFrame>,
}

/// One frame of a [`SkeletonTrack`].
#[derive(Debug, Serialize, Deserialize)]
pub struct TrackFrame {
    /// Landmark-model presence score (0 when nobody was found).
    pub presence: f64,
    /// Keypoints as `[x, y, score]` (empty when nobody was found).
    pub keypoints: Vec<[f64; 3]>,
}

impl TrackFrame {
    fn skeleton(&self, layout: Layout) -> Skeleton {
        let keypoints = self.keypoints.iter().map(|&[x, y, score]| Keypoint {
            x: x as f32,
            y: y as f32,
            score: score as f32,
        });
        Skeleton {
            layout,
            keypoints: keypoints.collect(),
        }
    }
}

struct PoseTask {
    config: PoseConfig,
    detector: Arc<SessionPool>,
    landmarker: Arc<SessionPool>,
    dt: f32,
    /// Where to look in the next frame; `None`: run the detector.
    region: Option<RotatedRect>,
    filters: Vec<[OneEuroState; 2]>,
    track: Vec<TrackFrame>,
    detections: u64,
    /// The crop's scratch and the models' tensors, reused frame after frame.
    cropper: Cropper,
    detector_io: ModelBuffers,
    landmark_io: ModelBuffers,
}

impl PoseTask {
    /// The landmarks in `region`, if the model says a person is there.
    fn look(
        &mut self,
        rgb: ImageView<'_>,
        region: &RotatedRect,
    ) -> Result<Option<landmarks::Landmarks>, String> {
        let found = landmarks::landmarks(
            &self.landmarker,
            rgb,
            region,
            &mut self.cropper,
            &mut self.landmark_io,
        )?;
        Ok((found.presence >= self.config.presence_threshold).then_some(found))
    }

    /// Tracks from the last frame's region if there is one; runs the detector when that fails.
    fn find(&mut self, rgb: ImageView<'_>) -> Result<Option<landmarks::Landmarks>, String> {
        if let Some(region) = self.region
            && let Some(found) = self.look(rgb, &region)?
        {
            return Ok(Some(found));
        }
        self.detections += 1;
        let Some(d) = detector::detect(
            &self.detector,
            rgb,
            self.config.detection_threshold,
            &mut self.cropper,
            &mut self.detector_io,
        )?
        else {
            return Ok(None);
        };
        tracing::debug!(score = d.score, "pose: person detected");
        self.look(rgb, &body_region(d.center, d.extent))
    }
}

impl FrameTask for PoseTask {
    fn push(
        &mut self,
        frame: &Frame,
        _inputs: &FrameInputs<'_>,
    ) -> Result<Option<FrameProduct>, String> {
        if frame.format != PixelFormat::Rgb {
            return Err("pose needs RGB frames: set `format: rgb` on the decode operator".into());
        }
        let (w, h) = (frame.width as usize, frame.height as usize);
        let rgb = ImageView {
            data: &frame.data,
            width: w,
            height: h,
            stride: w * 3,
            channels: 3,
        };
        let entry = match self.find(rgb)? {
            Some(found) => {
                self.region = Some(found.next_region);
                let scale = found.next_region.width.max(1.0);
                let mut keypoints = found.keypoints;
                if let Some(f) = &self.config.smoothing {
                    for (k, state) in keypoints.iter_mut().zip(&mut self.filters) {
                        k.x = state[0].filter(f, k.x, self.dt, scale);
                        k.y = state[1].filter(f, k.y, self.dt, scale);
                    }
                }
                let round = |v: f32, decimals| round_to(f64::from(v), decimals);
                TrackFrame {
                    presence: round(found.presence, 4),
                    keypoints: keypoints
                        .iter()
                        .map(|k| [round(k.x, 2), round(k.y, 2), round(k.score, 4)])
                        .collect(),
                }
            }
            None => {
                self.region = None;
                self.filters
                    .iter_mut()
                    .flatten()
                    .for_each(OneEuroState::reset);
                TrackFrame {
                    presence: 0.0,
                    keypoints: Vec::new(),
                }
            }
        };
        let skeleton = entry.skeleton(Layout::Blazepose33);
        self.track.push(entry);
        Ok(Some(Arc::new(skeleton)))
    }

    fn finish(self: Box<Self>) -> Result<Output, String> {
        let track = SkeletonTrack {
            layout: Layout::Blazepose33,
            detections: self.detections,
            frames: self.track,
        };
        Ok(Output::record(
            serde_json::to_value(&track).expect("tracks serialise"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use maflow_kernels::crop::supersampled;

    use super::*;
    use crate::frame::decode::{DecodeConfig, open_stream};

    thread_local!(static SIGNED: std::cell::RefCell<(f64, f64)> = const { std::cell::RefCell::new((0.0, 0.0)) });
    /// The landmark model on the sample clips, fed the one-sample warp and
    /// the 16-tap supersampled reference of the same tracked regions. The
    /// model itself moves its landmarks by about 1.7 px on average when its
    /// crop moves by one frame pixel (a quarter of a crop pixel), so that is
    /// the yardstick: the warp may move them by no more than 1.5× that.
    #[test]
    fn the_warped_crop_moves_landmarks_no_more_than_a_one_pixel_shift_does() {
        let model = |file: &str, outputs: &[usize]| {
            SessionPool::open(
                find_model(file, None).expect("models (bash scripts/setup.sh)"),
                outputs,
            )
            .unwrap()
        };
        let (detector, landmarker) = (
            model("pose_detection.onnx", &[]),
            model("pose_landmark_full.onnx", &landmarks::OUTPUTS),
        );
        let config: DecodeConfig =
            serde_json::from_value(serde_json::json!({ "format": "rgb" })).unwrap();
        let repo =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/ma52/videos");
        let (mut cropper, mut io, mut detector_io) =
            (Cropper::new(), landmarks::buffers(), detector::buffers());
        // (sum, count, max) of the distance between visible landmarks: warp vs reference, reference vs shifted reference.
        let mut warp = (0.0f64, 0usize, 0.0f32);
        let mut shift = warp;
        let add =
            |acc: &mut (f64, usize, f32), a: &landmarks::Landmarks, b: &landmarks::Landmarks| {
                for (p, q) in a
                    .keypoints
                    .iter()
                    .zip(&b.keypoints)
                    .filter(|(p, q)| p.score > 0.5 && q.score > 0.5)
                {
                    let d = (p.x - q.x).hypot(p.y - q.y);
                    *acc = (acc.0 + f64::from(d), acc.1 + 1, acc.2.max(d));
                }
            };
        for clip in ["0030_01_0002", "0010_02_0101", "0019_02_0078"] {
            let mut stream = open_stream(&config, &repo.join(format!("{clip}.mp4"))).unwrap();
            let mut region: Option<RotatedRect> = None;
            while let Some(frame) = stream.next_frame().unwrap() {
                let (w, h) = (frame.width as usize, frame.height as usize);
                let rgb = ImageView {
                    data: &frame.data,
                    width: w,
                    height: h,
                    stride: w * 3,
                    channels: 3,
                };
                let r = match region {
                    Some(r) => r,
                    None => {
                        let d =
                            detector::detect(&detector, rgb, 0.5, &mut cropper, &mut detector_io)
                                .unwrap()
                                .expect("a person");
                        body_region(d.center, d.extent)
                    }
                };
                let fast =
                    landmarks::landmarks(&landmarker, rgb, &r, &mut cropper, &mut io).unwrap();
                region = Some(fast.next_region);
                if frame.index % 3 != 0 {
                    continue;
                }
                let mut reference = |rect: &RotatedRect| {
                    supersampled(
                        rgb,
                        rect,
                        landmarks::SIZE,
                        landmarks::SIZE,
                        landmarks::INPUT_SCALE,
                        0.0,
                        &mut io.input,
                    );
                    landmarks::infer(&landmarker, rect, &mut io).unwrap()
                };
                let slow = reference(&r);
                let shifted = reference(&RotatedRect {
                    cx: r.cx + 1.0,
                    ..r
                });
                add(&mut warp, &fast, &slow);
                add(&mut shift, &shifted, &slow);
            }
        }
        let mean = |a: (f64, usize, f32)| a.0 / a.1.max(1) as f64;
        eprintln!(
            "landmarks, warp against the reference: mean {:.2} px, max {:.1} px; the reference shifted 1 px: mean {:.2} px, max {:.1} px ({} landmarks)",
            mean(warp),
            warp.2,
            mean(shift),
            shift.2,
            warp.1
        );
        assert!(warp.1 > 1000, "{} visible landmarks", warp.1);
        assert!(
            mean(warp) < 1.5 * mean(shift) && mean(warp) < 3.0,
            "warp {:.2} px, one-pixel shift {:.2} px",
            mean(warp),
            mean(shift)
        );
        assert!(warp.2 < 30.0, "worst landmark moved {:.1} px", warp.2);
    }
}
