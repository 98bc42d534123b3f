//! `align`: per frame, each body part's motion vector and anchor.
//!
//! The flow into frame t starts at frame t−1's pixels, so a part's region is
//! taken from frame t−1: the human mask ∩ the part's capsule, each pixel
//! given to the part whose capsule reaches it most closely. The part's
//! `vector` is a robust average (median, or trimmed mean) of the flow over
//! that region, in pixels/frame at the input size with y flipped (vy > 0 is
//! upward); its `coord` is frame t's anchor normalised to [0, 1] (origin top
//! left). A part whose joints are unsure or whose region is nearly empty is
//! marked unsure; `descriptor` interpolates it. The record is the part track
//! (stored, so a descriptor change replays it instead of computing flow again).

use crate::common::body::{Joints, PARTS, PartShape, RowClaims, Skeleton, part_shapes};
use crate::frame::flow::FlowProduct;
use crate::frame::replay::ReplayTask;
use crate::frame::segment::Mask;
use crate::prelude::*;

/// Per frame and body part (14): the robust average of the flow over the part's region (human mask ∩
/// its capsule on frame t-1) in pixels/frame with vy > 0 upward, and the part's anchor normalised to
/// [0, 1] (origin top-left). Inputs: flow, skeletons, masks. Record: the part track, with per-frame
/// confidence and region size.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlignConfig {
    /// `median` or `trimmed_mean` of the flow over a part's region.
    #[serde(default)]
    pub average: Average,
    /// Fraction cut from each end before a trimmed mean.
    #[default(0.2)]
    pub trim: f32,
    /// A part is unsure when its joints' confidence is below this.
    #[default(0.5)]
    pub min_score: f32,
    /// A part is unsure when its region has fewer flow samples than this.
    #[default(20)]
    pub min_pixels: usize,
}

/// Robust averages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Average {
    /// Per-component median.
    #[default]
    Median,
    /// Per-component mean after cutting `trim` from each end.
    TrimmedMean,
}

/// Input: the flow into each frame from the one before.
const FLOW: FrameIn<FlowProduct> = FrameIn::new(0, "flow");
/// Input: each frame's skeleton.
const SKELETON: FrameIn<Skeleton> = FrameIn::new(1, "skeleton");
/// Input: each frame's human mask.
const MASK: FrameIn<Mask> = FrameIn::new(2, "mask");

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "align",
    section: Section::Operators,
    version: 1,
    doc: AlignConfig::DOC,
    inputs: &[
        FLOW.port("connect it to a `flow` operator"),
        SKELETON.port("connect it to a `pose` operator or a `skeleton` reader"),
        MASK.port("connect it to a `segment` operator"),
    ],
    output: Some(PortType::PerFrame(PartsFrame::PRODUCT)),
    params: AlignConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: AlignConfig = parse_params(params)?;
    let mut errors = Vec::new();
    if !(0.0..0.5).contains(&config.trim) {
        errors.push(param_error(params, "trim", "`trim` must be in [0, 0.5)"));
    }
    if !(0.0..=1.0).contains(&config.min_score) {
        errors.push(param_error(
            params,
            "min_score",
            "`min_score` must be in [0, 1]",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Built::new(
        &config,
        Runtime::FrameConsumer(Arc::new(AlignOperator {
            config: config.clone(),
        })),
    ))
}

/// One frame of the 14 parts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartsFrame {
    /// Per part: [vx, vy] in pixels/frame, vy > 0 upward ([0, 0] on the first frame).
    pub vector: [[f32; 2]; PART_COUNT],
    /// Per part: anchor [x, y] normalised to [0, 1], origin top-left.
    pub coord: [[f32; 2]; PART_COUNT],
    /// Per part: whether the measurement is trustworthy.
    pub sure: [bool; PART_COUNT],
    /// Per part: flow samples averaged.
    pub pixels: [u32; PART_COUNT],
}

impl FrameProductType for PartsFrame {
    const PRODUCT: ProductType = ProductType {
        name: "parts",
        description: "per-frame body parts",
    };
}

/// The stored record of `align`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PartTrack {
    /// Part names, in the order of each frame's arrays.
    pub parts: Vec<String>,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: f64,
    /// Per frame.
    pub frames: Vec<PartsFrame>,
}

struct AlignOperator {
    config: AlignConfig,
}

impl FrameConsumer for AlignOperator {
    fn start(&self, _clip: &Clip, info: &VideoInfo) -> Result<Box<dyn FrameTask>, String> {
        Ok(Box::new(AlignTask {
            config: self.config.clone(),
            info: info.clone(),
            previous: None,
            last_coord: [[0.5, 0.5]; PART_COUNT],
            frames: Vec::new(),
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
        let track: PartTrack = serde_json::from_value(cached.record.clone())
            .map_err(|e| format!("stored part track: {e}"))?;
        Ok(Box::new(ReplayTask::new(track.frames, "part track")))
    }
}

struct AlignTask {
    config: AlignConfig,
    info: VideoInfo,
    /// Frame t−1's part shapes and mask: where this frame's flow starts.
    previous: Option<(Option<[PartShape; PART_COUNT]>, Arc<Mask>)>,
    /// Anchors of the last frame with a skeleton (held while the person is lost).
    last_coord: [[f32; 2]; PART_COUNT],
    frames: Vec<PartsFrame>,
}

impl AlignTask {
    /// Per part, the robust average flow over its region, and the sample count.
    fn measure(
        &self,
        flow: &FlowProduct,
        shapes: &[PartShape; PART_COUNT],
        mask: &Mask,
    ) -> [([f32; 2], u32); PART_COUNT] {
        let (width, height) = flow.work_size;
        let k = flow.to_input;
        let mut samples: Vec<(Vec<f32>, Vec<f32>)> = vec![(Vec::new(), Vec::new()); PART_COUNT];
        // Only pixels inside some capsule's box can belong to a part.
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for s in shapes {
            let b = s.bounds();
            (x0, y0, x1, y1) = (x0.min(b.0), y0.min(b.1), x1.max(b.2), y1.max(b.3));
        }
        let to_field = |v: f32, n: usize| ((v / k).floor().max(0.0) as usize).min(n);
        // A point outside a capsule's box (padded against rounding) is outside the capsule.
        let boxes: [(f32, f32, f32, f32); PART_COUNT] = std::array::from_fn(|p| {
            let (bx0, by0, bx1, by1) = shapes[p].bounds();
            let pad = 1e-3 * (1.0 + shapes[p].radius);
            (bx0 - pad, by0 - pad, bx1 + pad, by1 + pad)
        });
        let columns = to_field(x0, width)..to_field(x1, width).saturating_add(1).min(width);
        let mut fxs = Vec::with_capacity(columns.len());
        let mut claims = RowClaims::default();
        for fy in to_field(y0, height)..to_field(y1, height).saturating_add(1).min(height) {
            let y = (fy as f32 + 0.5) * k;
            let mut rows = [0usize; PART_COUNT];
            let mut in_row = 0;
            for (p, b) in boxes.iter().enumerate() {
                if b.1 <= y && y <= b.3 {
                    rows[in_row] = p;
                    in_row += 1;
                }
            }
            if in_row == 0 {
                continue;
            }
            // The row's masked points, left to right; each part claims the
            // run of them inside its box.
            claims.clear();
            fxs.clear();
            for fx in columns.clone() {
                let x = (fx as f32 + 0.5) * k;
                if mask.contains(x, y) {
                    claims.push(x);
                    fxs.push(fx);
                }
            }
            for &p in &rows[..in_row] {
                let (bx0, bx1) = (boxes[p].0, boxes[p].2);
                let xs = claims.xs();
                let run = xs.partition_point(|&x| x < bx0)..xs.partition_point(|&x| x <= bx1);
                if !run.is_empty() {
                    claims.claim(&shapes[p], p, y, run);
                }
            }
            for (i, &fx) in fxs.iter().enumerate() {
                if let Some(p) = claims.owner(i) {
                    let (u, v) = flow.at(fx, fy);
                    samples[p].0.push(u * k);
                    samples[p].1.push(v * k);
                }
            }
        }
        std::array::from_fn(|p| {
            let (u, v) = &mut samples[p];
            let n = u.len() as u32;
            if u.is_empty() {
                return ([0.0, 0.0], 0);
            }
            let (mu, mv) = (self.average(u), self.average(v));
            // y flipped: vy > 0 is upward.
            ([mu, -mv], n)
        })
    }

    fn average(&self, values: &mut [f32]) -> f32 {
        let n = values.len();
        match self.config.average {
            // Selection, not a sort: the same middle values in linear time.
            Average::Median => {
                let (below, middle, _) = values.select_nth_unstable_by(n / 2, f32::total_cmp);
                match n % 2 {
                    1 => *middle,
                    _ => {
                        (below.iter().copied().max_by(f32::total_cmp).expect("n ≥ 2") + *middle)
                            / 2.0
                    }
                }
            }
            Average::TrimmedMean => {
                values.sort_unstable_by(f32::total_cmp);
                let cut = ((n as f32 * self.config.trim) as usize).min((n - 1) / 2);
                let kept = &values[cut..n - cut];
                kept.iter().sum::<f32>() / kept.len() as f32
            }
        }
    }
}

impl FrameTask for AlignTask {
    fn push(
        &mut self,
        _frame: &Frame,
        inputs: &FrameInputs<'_>,
    ) -> Result<Option<FrameProduct>, String> {
        let mask = inputs
            .shared(&MASK)
            .ok_or("align: no mask for this frame (the `mask` input must be a `segment`)")?;
        let shapes = inputs
            .get(&SKELETON)
            .and_then(Joints::of)
            .map(|j| part_shapes(&j));
        let (w, h) = (self.info.width as f32, self.info.height as f32);
        let mut out = PartsFrame {
            vector: [[0.0; 2]; PART_COUNT],
            coord: self.last_coord,
            sure: [false; PART_COUNT],
            pixels: [0; PART_COUNT],
        };
        if let Some(shapes) = &shapes {
            for (p, s) in shapes.iter().enumerate() {
                // Anchors a model places beyond the frame's edge (a foot out of view) sit on the edge.
                out.coord[p] = [
                    (s.anchor.0 / w).clamp(0.0, 1.0),
                    (s.anchor.1 / h).clamp(0.0, 1.0),
                ];
            }
            self.last_coord = out.coord;
        }
        match (inputs.get(&FLOW), &self.previous) {
            (Some(flow), Some((Some(prev_shapes), prev_mask))) => {
                let measured = self.measure(flow, prev_shapes, prev_mask);
                for p in 0..PART_COUNT {
                    out.vector[p] = measured[p].0;
                    out.pixels[p] = measured[p].1;
                    let score = prev_shapes[p]
                        .score
                        .min(shapes.as_ref().map_or(0.0, |s| s[p].score));
                    out.sure[p] = score >= self.config.min_score
                        && measured[p].1 as usize >= self.config.min_pixels;
                }
            }
            // The first frame has no motion yet: a sure zero where the person is seen.
            (None, None) => {
                for p in 0..PART_COUNT {
                    out.sure[p] = shapes
                        .as_ref()
                        .is_some_and(|s| s[p].score >= self.config.min_score);
                }
            }
            // Nobody on the previous frame: nothing to measure.
            _ => {}
        }
        self.previous = Some((shapes, mask));
        let product = Arc::new(out.clone());
        self.frames.push(out);
        Ok(Some(product))
    }

    fn finish(self: Box<Self>) -> Result<Output, String> {
        let track = PartTrack {
            parts: PARTS.iter().map(|p| (*p).to_string()).collect(),
            width: self.info.width,
            height: self.info.height,
            fps: self.info.fps,
            frames: self.frames,
        };
        Ok(Output::record(
            serde_json::to_value(&track).expect("tracks serialise"),
        ))
    }
}
