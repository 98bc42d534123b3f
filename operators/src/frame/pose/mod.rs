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

use maflow_kernels::crop::RotatedRect;
use maflow_kernels::resize::ImageView;

use crate::common::body::{Keypoint, Layout, Skeleton};
use crate::common::onnx::{SessionPool, find_model};
use crate::frame::replay::ReplayTask;
use crate::common::rounding::round_to;
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
    version: 1,
    doc: PoseConfig::DOC,
    inputs: &[
        Port::new(0, "frames", PortType::Frames).hint("connect it to a frame producer such as `decode`"),
    ],
    output: Some(PortType::PerFrame(Skeleton::PRODUCT)),
    params: PoseConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: PoseConfig = parse_params(params)?;
    let mut errors = Vec::new();
    for (field, v) in [("detection_threshold", config.detection_threshold), ("presence_threshold", config.presence_threshold)] {
        if !(0.0..=1.0).contains(&v) {
            errors.push(param_error(params, field, format!("`{field}` must be in [0, 1]")));
        }
    }
    if let Some(s) = &config.smoothing
        && !(s.min_cutoff > 0.0 && s.beta >= 0.0 && s.d_cutoff > 0.0)
    {
        errors.push(param_error(params, "smoothing", "smoothing needs min_cutoff > 0, beta ≥ 0 and d_cutoff > 0"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let landmark_file = match config.model {
        PoseModel::Lite => "pose_landmark_lite.onnx",
        PoseModel::Full => "pose_landmark_full.onnx",
    };
    let open = |file: &str| find_model(file, config.models.as_deref()).and_then(SessionPool::open);
    let models = open("pose_detection.onnx").and_then(|d| Ok((d, open(landmark_file)?)));
    let (detector, landmarker) = models.map_err(|why| vec![param_error(params, "model", why)])?;
    let op = PoseOperator { config: config.clone(), detector: Arc::new(detector), landmarker: Arc::new(landmarker) };
    Ok(built(&config, Runtime::FrameConsumer(Arc::new(op))))
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
        }))
    }

    fn can_replay(&self) -> bool {
        true
    }

    fn replay(&self, _clip: &Clip, _info: &VideoInfo, cached: &Output) -> Result<Box<dyn FrameTask>, String> {
        let track: SkeletonTrack =
            serde_json::from_value(cached.record.clone()).map_err(|e| format!("stored skeleton track: {e}"))?;
        let skeletons = track.frames.iter().map(|f| f.skeleton(track.layout)).collect();
        Ok(Box::new(ReplayTask::<Skeleton>::new(skeletons, "skeleton track")))
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
        let keypoints = self.keypoints.iter().map(|&[x, y, score]| Keypoint { x: x as f32, y: y as f32, score: score as f32 });
        Skeleton { layout, keypoints: keypoints.collect() }
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
}

impl PoseTask {
    /// The landmarks in `region`, if the model says a person is there.
    fn look(&self, rgb: ImageView<'_>, region: &RotatedRect) -> Result<Option<landmarks::Landmarks>, String> {
        let found = landmarks::landmarks(&self.landmarker, rgb, region)?;
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
        let Some(d) = detector::detect(&self.detector, rgb, self.config.detection_threshold)? else { return Ok(None) };
        tracing::debug!(score = d.score, "pose: person detected");
        self.look(rgb, &body_region(d.center, d.extent))
    }
}

impl FrameTask for PoseTask {
    fn push(&mut self, frame: &Frame, _inputs: &FrameInputs<'_>) -> Result<Option<FrameProduct>, String> {
        if frame.format != PixelFormat::Rgb {
            return Err("pose needs RGB frames: set `format: rgb` on the decode operator".into());
        }
        let (w, h) = (frame.width as usize, frame.height as usize);
        let rgb = ImageView { data: &frame.data, width: w, height: h, stride: w * 3, channels: 3 };
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
                    keypoints: keypoints.iter().map(|k| [round(k.x, 2), round(k.y, 2), round(k.score, 4)]).collect(),
                }
            }
            None => {
                self.region = None;
                self.filters.iter_mut().flatten().for_each(OneEuroState::reset);
                TrackFrame { presence: 0.0, keypoints: Vec::new() }
            }
        };
        let skeleton = entry.skeleton(Layout::Blazepose33);
        self.track.push(entry);
        Ok(Some(Arc::new(skeleton)))
    }

    fn finish(self: Box<Self>) -> Result<Output, String> {
        let track = SkeletonTrack { layout: Layout::Blazepose33, detections: self.detections, frames: self.track };
        Ok(Output::record(serde_json::to_value(&track).expect("tracks serialise")))
    }
}
