//! `flow`: dense optical flow (DIS) between consecutive frames of each clip.
//!
//! Runs inside the clip's frame stage: each frame is turned to luma (and
//! scaled by `scale`), the flow from the previous frame is computed, and
//! only small things are kept: per-pair motion statistics (the record) and
//! colour-wheel pictures of a few evenly spaced pairs (a PNG, each picture
//! labelled with its two frames, over one speed scale for the clip that is
//! written under them with the wheel's key). Vectors are in pixels per frame
//! at the input resolution, x right, y down. With `region: person` only a
//! box around the person is computed ([`super::flow_region`]).

use maflow_kernels::draw::Canvas;
use maflow_kernels::flow::Backend;
use maflow_kernels::flow::color::{KEY_STRIP_HEIGHT, flow_to_rgb, key_strip};
use maflow_kernels::flow::cpu::resize_flow;
use maflow_kernels::flow::field::FlowField;
use maflow_kernels::flow::image::{GrayImage, Window, area_resize_f32, block_mean_window};
use maflow_kernels::flow::params::{DisParams, Preset};
use maflow_kernels::flow::{FlowBackend, FlowEstimator};
use maflow_kernels::resize::ImageView;

use crate::common::body::Skeleton;
use crate::common::picture_grid::{Grid, sample_indices};
use crate::common::rounding::round_to;
use crate::frame::flow_region::person_box;
use crate::prelude::*;
use maflow_kernels::png_io::encode_rgb_png;

/// Input: each frame's skeleton, which places the region (optional).
const SKELETON: FrameIn<Skeleton> = FrameIn::new(1, "skeleton");

/// The per-frame product of `flow`: the flow from the previous frame to this one.
#[derive(Clone, Debug)]
pub struct FlowProduct {
    /// The field over the computed box of the working image (the whole
    /// working image without a region), x right, y down.
    pub field: FlowField,
    /// The box's top-left corner in the working image; the flow is zero outside the box.
    pub origin: (usize, usize),
    /// The working image's size (`scale` × input size).
    pub work_size: (usize, usize),
    /// Multiply positions at input size by `1 / to_input` to index the
    /// working image, and vectors by `to_input` to get pixels/frame at input size.
    pub to_input: f32,
}

impl FlowProduct {
    /// The vector at working pixel (x, y): zero outside the computed box.
    #[inline]
    pub fn at(&self, x: usize, y: usize) -> (f32, f32) {
        let (dx, dy) = (x.wrapping_sub(self.origin.0), y.wrapping_sub(self.origin.1));
        if dx < self.field.width && dy < self.field.height {
            let i = dy * self.field.width + dx;
            (self.field.u[i], self.field.v[i])
        } else {
            (0.0, 0.0)
        }
    }

    /// The field over the whole working image, zero outside the computed box.
    pub fn whole(&self) -> FlowField {
        let (w, h) = self.work_size;
        if (self.field.width, self.field.height) == (w, h) {
            return self.field.clone();
        }
        let mut full = FlowField::zeros(w, h);
        let (x, y) = self.origin;
        for row in 0..self.field.height {
            let (from, to) = (row * self.field.width, (y + row) * w + x);
            let n = self.field.width;
            full.u[to..to + n].copy_from_slice(&self.field.u[from..from + n]);
            full.v[to..to + n].copy_from_slice(&self.field.v[from..from + n]);
        }
        full
    }
}

impl FrameProductType for FlowProduct {
    const PRODUCT: ProductType = ProductType {
        name: "flow",
        description: "per-frame flow",
    };
}

/// Dense optical flow (DIS) between consecutive frames, computed inside the clip's frame stage.
/// Record: per-pair frame means of u, v, speed and the up/right/down/left components
/// (positive parts of -v, u, v, -u), in pixels/frame at input size, y down.
/// Blob: a PNG of colour-wheel pictures of evenly spaced pairs (hue = direction, saturation = speed).
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowConfig {
    /// Operating point: `ultrafast`, `fast` or `medium` (OpenCV's meanings).
    #[default(Preset::Medium)]
    pub preset: Preset,
    /// Where to compute: `auto` (CUDA when available, else CPU), `cpu` or `cuda`.
    #[serde(default)]
    pub backend: Backend,
    /// Compute at this fraction of the frame size; vectors are rescaled to the input size.
    #[default(1.0)]
    pub scale: f64,
    /// Coarsest pyramid level; absent picks it from the frame size.
    #[serde(default)]
    pub levels: Option<usize>,
    /// Overrides the preset's patch size.
    #[serde(default)]
    pub patch_size: Option<usize>,
    /// Overrides the preset's patch stride.
    #[serde(default)]
    pub patch_stride: Option<usize>,
    /// Overrides the preset's search iterations.
    #[serde(default)]
    pub iterations: Option<usize>,
    /// Overrides the preset's variational refinement iterations.
    #[serde(default)]
    pub refinement_iterations: Option<usize>,
    /// Start each pair from the previous pair's flow (videos are temporally coherent).
    #[default(true)]
    pub temporal_init: bool,
    /// Where to compute: `frame` (all of it) or `person` (a box around the person, from the
    /// first frame with a skeleton on the second input, kept for the clip; the field is zero
    /// outside it, where `align` reads nothing).
    #[serde(default)]
    pub region: FlowRegion,
    /// With `region: person`: the box is widened on each side by this fraction of its size.
    /// At 0.5 the descriptors of the MA-52 sample clips stay within 0.02 px/frame of the whole
    /// frame's (mean per clip) and the rendered-truth error does not grow (README, Optical flow).
    #[default(0.5)]
    pub margin: f64,
    /// Frame pairs drawn in the visualisation PNG (0: none).
    #[default(4)]
    pub viz_pairs: usize,
    /// Speed (pixels/frame at input size) drawn at full colour; `~` scales to the 99th
    /// percentile of the drawn pairs. The default, 2, suits micro-actions (0.1–3 px/frame)
    /// and leaves sub-pixel background noise nearly white.
    #[default(Some(2.0))]
    pub viz_max_speed: Option<f32>,
}

/// Where `flow` computes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowRegion {
    /// The whole frame.
    #[default]
    Frame,
    /// A box around the person (needs a skeleton input).
    Person,
}

impl FlowConfig {
    /// The algorithm settings this config asks for.
    pub fn dis_params(&self) -> DisParams {
        let mut p = DisParams::preset(self.preset);
        p.coarsest_scale = self.levels.or(p.coarsest_scale);
        p.patch_size = self.patch_size.unwrap_or(p.patch_size);
        p.patch_stride = self.patch_stride.unwrap_or(p.patch_stride);
        p.iterations = self.iterations.unwrap_or(p.iterations);
        p.refinement_iterations = self
            .refinement_iterations
            .unwrap_or(p.refinement_iterations);
        p
    }
}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "flow",
    section: Section::Operators,
    version: 4,
    doc: FlowConfig::DOC,
    inputs: &[
        Port::new("frames", PortType::Frames)
            .hint("connect it to a frame producer such as `decode`"),
        SKELETON
            .port("with `region: person`, connect a `pose` operator or a `skeleton` reader")
            .optional(),
    ],
    output: Some(PortType::PerFrame(FlowProduct::PRODUCT)),
    params: FlowConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: FlowConfig = parse_params(params)?;
    let mut errors = Vec::new();
    if !(config.scale > 0.0 && config.scale <= 1.0) {
        errors.push(param_error(params, "scale", "`scale` must be in (0, 1]"));
    }
    if config.patch_size.is_some_and(|p| !(4..=64).contains(&p)) {
        errors.push(param_error(
            params,
            "patch_size",
            "`patch_size` must be between 4 and 64",
        ));
    }
    if config
        .patch_stride
        .is_some_and(|s| s == 0 || s > config.patch_size.unwrap_or(8))
    {
        errors.push(param_error(
            params,
            "patch_stride",
            "`patch_stride` must be between 1 and the patch size",
        ));
    }
    if !(0.0..=2.0).contains(&config.margin) {
        errors.push(param_error(
            params,
            "margin",
            "`margin` must be between 0 and 2",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let backend = match FlowBackend::open(config.backend, config.dis_params()) {
        Ok(backend) => backend,
        Err(why) => {
            return Err(vec![param_error(
                params,
                "backend",
                format!("backend `cuda`: {why}; use `cpu` or `auto`"),
            )]);
        }
    };
    if let Some(why) = backend.fallback() {
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| tracing::info!("flow: backend auto runs on the CPU ({why})"));
    } else if backend.is_gpu() {
        tracing::info!("flow: running on {}", backend.device());
    }
    Ok(Built::drawing(
        &config,
        &["viz_pairs", "viz_max_speed"],
        config.viz_pairs > 0,
        Runtime::FrameConsumer(Arc::new(FlowOperator {
            config: config.clone(),
            backend,
        })),
    ))
}

struct FlowOperator {
    config: FlowConfig,
    backend: FlowBackend,
}

impl FrameConsumer for FlowOperator {
    fn start(&self, _clip: &Clip, info: &VideoInfo) -> Result<Box<dyn FrameTask>, String> {
        let (w, h) = (info.width as usize, info.height as usize);
        let sw = ((w as f64 * self.config.scale).round() as usize).max(16);
        let sh = ((h as f64 * self.config.scale).round() as usize).max(16);
        let params = self.config.dis_params();
        if sw < params.patch_size || sh < params.patch_size {
            return Err(format!(
                "frames of {w}x{h} at scale {} are smaller than a patch",
                self.config.scale
            ));
        }
        let viz_at = info
            .declared_frames
            .map(|n| sample_indices(n.saturating_sub(1), self.config.viz_pairs));
        Ok(Box::new(FlowTask {
            config: self.config.clone(),
            estimator: self.backend.estimator(),
            size: (w, h),
            work_size: (sw, sh),
            previous: None,
            previous_flow: None,
            region: None,
            pairs: Vec::new(),
            viz_at,
            viz: Vec::new(),
            spare: Vec::new(),
        }))
    }
}

struct FlowTask {
    config: FlowConfig,
    /// The clip's estimator: on the CPU, its working planes serve all the clip's pairs.
    estimator: Box<dyn FlowEstimator>,
    size: (usize, usize),
    work_size: (usize, usize),
    /// The last frame's working image (its region's pixels once the region is placed).
    previous: Option<GrayImage>,
    previous_flow: Option<Arc<FlowProduct>>,
    /// With `region: person`, once a skeleton placed it.
    region: Option<Window>,
    /// Per pair: mean u, v, speed, then mean up, right, down, left components.
    pairs: Vec<[f32; 7]>,
    /// Pair indices to draw, when the frame count is known.
    viz_at: Option<Vec<u64>>,
    viz: Vec<(u64, FlowField)>,
    /// Storage for the next working image (the last one's, once its pair is done).
    spare: Vec<f32>,
}

impl FlowTask {
    /// The frame's luma at the working size, as a float image, inside the
    /// region once it is placed. RGB is converted with BT.601 weights; a
    /// whole-number shrink is one pass of block means over the region's
    /// bytes, into the storage of the image two frames back.
    fn work_image(&mut self, frame: &Frame) -> GrayImage {
        let (w, h) = (frame.width as usize, frame.height as usize);
        let channels = match frame.format {
            PixelFormat::Gray => 1,
            PixelFormat::Rgb => 3,
        };
        let view = ImageView {
            data: &frame.data,
            width: w,
            height: h,
            stride: w * channels,
            channels,
        };
        let (sw, sh) = self.work_size;
        let whole = Window {
            x: 0,
            y: 0,
            width: sw,
            height: sh,
        };
        let window = self.region.unwrap_or(whole);
        let storage = std::mem::take(&mut self.spare);
        if w % sw == 0 && h % sh == 0 && w / sw == h / sh {
            return block_mean_window(view, w / sw, window, storage);
        }
        let full = Window {
            x: 0,
            y: 0,
            width: w,
            height: h,
        };
        let luma = block_mean_window(view, 1, full, storage);
        let work = if self.work_size == self.size {
            luma
        } else {
            area_resize_f32(&luma, sw, sh)
        };
        match self.region {
            Some(region) => work.window(region),
            None => work,
        }
    }
}

impl FlowTask {
    /// Places the region around the person from this frame's skeleton, if one is sure enough.
    fn place_region(&mut self, inputs: &FrameInputs<'_>) -> Result<(), String> {
        let skeleton = inputs.get(&SKELETON).ok_or(
            "`region: person` needs a skeleton on flow's second input: write `inputs: [decode, pose]`",
        )?;
        let min_side = 4 * self.config.dis_params().patch_size;
        self.region = person_box(
            skeleton,
            self.config.scale,
            self.work_size,
            self.config.margin,
            min_side,
        );
        Ok(())
    }

    /// Whether the picture shows `pair`: the chosen pairs, or the first `viz_pairs`.
    fn shows(&self, pair: u64) -> bool {
        match &self.viz_at {
            Some(at) => at.binary_search(&pair).is_ok(),
            None => pair < self.config.viz_pairs as u64,
        }
    }
}

impl FrameTask for FlowTask {
    fn push(
        &mut self,
        frame: &Frame,
        inputs: &FrameInputs<'_>,
    ) -> Result<Option<FrameProduct>, String> {
        if self.config.region == FlowRegion::Person && self.region.is_none() {
            self.place_region(inputs)?;
        }
        let image = self.work_image(frame);
        if let Some(prev) = self.previous.take() {
            // The frame before the region was placed came whole: its region's pixels.
            let prev = match self.region {
                Some(region) if prev.width != region.width || prev.height != region.height => {
                    prev.window(region)
                }
                _ => prev,
            };
            let init = self.previous_flow.as_ref().map(|p| &p.field).filter(|f| {
                self.config.temporal_init && f.width == image.width && f.height == image.height
            });
            let computed = self
                .estimator
                .flow(&prev, &image, init)
                .map_err(|e| e.to_string())?;
            self.pairs
                .push(pair_summary(&computed, 1.0 / self.config.scale as f32));
            let flow = FlowProduct {
                field: computed,
                origin: self.region.map_or((0, 0), |r| (r.x, r.y)),
                work_size: self.work_size,
                to_input: 1.0 / self.config.scale as f32,
            };
            let pair = self.pairs.len() as u64 - 1;
            if self.shows(pair) {
                self.viz.push((pair, flow.whole()));
            }
            // The last pair's field, when no later stage kept it, takes the next result.
            if let Some(last) = self
                .previous_flow
                .replace(Arc::new(flow))
                .and_then(|p| Arc::try_unwrap(p).ok())
            {
                self.estimator.recycle(last.field);
            }
            self.spare = prev.data;
        }
        self.previous = Some(image);
        Ok(self.previous_flow.clone().map(|p| p as FrameProduct))
    }

    fn finish(self: Box<Self>) -> Result<Output, String> {
        let round = |x: f32| round_to(f64::from(x), 4);
        let record = serde_json::json!({
            "pairs": self.pairs.len(),
            "work_size": [self.work_size.0, self.work_size.1],
            // With `region: person`, the box computed (working pixels); the means are over it.
            "region": self.region.map(|r| [r.x, r.y, r.width, r.height]),
            "mean_u": self.pairs.iter().map(|p| round(p[0])).collect::<Vec<_>>(),
            "mean_v": self.pairs.iter().map(|p| round(p[1])).collect::<Vec<_>>(),
            "mean_speed": self.pairs.iter().map(|p| round(p[2])).collect::<Vec<_>>(),
            "mean_up": self.pairs.iter().map(|p| round(p[3])).collect::<Vec<_>>(),
            "mean_right": self.pairs.iter().map(|p| round(p[4])).collect::<Vec<_>>(),
            "mean_down": self.pairs.iter().map(|p| round(p[5])).collect::<Vec<_>>(),
            "mean_left": self.pairs.iter().map(|p| round(p[6])).collect::<Vec<_>>(),
        });
        let mut output = Output::record(record);
        if !self.viz.is_empty() {
            let (png, max_speed) = self.viz_sheet()?;
            output = output.with_pictures(Pictures {
                note: serde_json::json!({
                    "viz_pairs": self.viz.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
                    "viz_max_speed": round(max_speed),
                }),
                blobs: vec![Blob {
                    ext: "png".into(),
                    bytes: png,
                }],
            });
        }
        Ok(output)
    }
}

/// Frame means of u, v, speed and the four directional components, scaled by `k` to input pixels.
/// One pass, no buffers; each sum runs in pixel order, as [`FlowField::directional_components`] would give.
fn pair_summary(flow: &FlowField, k: f32) -> [f32; 7] {
    let n = flow.u.len() as f32;
    let mut sums = [0f32; 7];
    for (&u, &v) in flow.u.iter().zip(&flow.v) {
        let parts = [
            u,
            v,
            (u * u + v * v).sqrt(),
            (-v).max(0.0),
            u.max(0.0),
            v.max(0.0),
            (-u).max(0.0),
        ];
        for (s, p) in sums.iter_mut().zip(parts) {
            *s += p;
        }
    }
    sums.map(|s| s / n * k)
}

impl FlowTask {
    /// Colour-wheel pictures of the kept pairs side by side over one speed scale, stated under them;
    /// and that scale (input px/frame at full colour).
    fn viz_sheet(&self) -> Result<(Vec<u8>, f32), String> {
        let k = 1.0 / self.config.scale as f32;
        // Auto scale: the 99th percentile of speed, so a few wild pixels do not wash the rest out.
        let max = self.config.viz_max_speed.map(|m| m / k).unwrap_or_else(|| {
            let mut speeds: Vec<f32> = self
                .viz
                .iter()
                .flat_map(|(_, f)| f.u.iter().zip(&f.v).map(|(u, v)| u.hypot(*v)))
                .collect();
            let last = speeds.len() - 1;
            let at = ((speeds.len() as f64 * 0.99) as usize).min(last);
            speeds
                .select_nth_unstable_by(at, f32::total_cmp)
                .1
                .max(1e-3)
        });
        // Thumbnails 216 pixels wide in one row, like the contact sheets.
        let tw = 216.min(self.work_size.0);
        let th = ((tw as f64 * self.work_size.1 as f64 / self.work_size.0 as f64).round() as usize)
            .max(1);
        let pictures: Vec<Vec<u8>> = self
            .viz
            .iter()
            .map(|(pair, flow)| {
                let rgb = flow_to_rgb(
                    &resize_flow(flow, tw, th),
                    Some(max * tw as f32 / flow.width as f32),
                );
                // Which frames each picture is the flow between.
                let mut c = Canvas {
                    width: tw,
                    height: th,
                    rgb,
                };
                c.text(3, 3, &format!("{pair}-{}", pair + 1), 1, [40, 40, 40]);
                c.rgb
            })
            .collect();
        let thumbs: Vec<&[u8]> = pictures.iter().map(Vec::as_slice).collect();
        let (mut canvas, w, h) = Grid {
            thumb: (tw, th),
            channels: 3,
            columns: thumbs.len(),
            gap: 4,
        }
        .tile(&thumbs);
        // Under the pictures, the key and the scale they share, in input pixels per frame.
        let note = if self.config.viz_max_speed.is_some() {
            ""
        } else {
            ", the clip's 99th percentile"
        };
        canvas.extend(key_strip(w, max * k, note));
        Ok((encode_rgb_png(&canvas, w, h + KEY_STRIP_HEIGHT)?, max * k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field computed in a box reads, and pastes, as zero flow outside it.
    #[test]
    fn a_boxed_field_is_zero_outside_its_box() {
        let inside = FlowField {
            width: 3,
            height: 2,
            u: vec![8.0, 9.0, 10.0, 14.0, 15.0, 16.0],
            v: vec![-8.0, -9.0, -10.0, -14.0, -15.0, -16.0],
        };
        let product = FlowProduct {
            field: inside,
            origin: (2, 1),
            work_size: (6, 4),
            to_input: 2.0,
        };
        let full = product.whole();
        assert_eq!((full.width, full.height), (6, 4));
        for y in 0..4 {
            for x in 0..6 {
                let i = y * 6 + x;
                let within = (2..5).contains(&x) && (1..3).contains(&y);
                let want = if within { i as f32 } else { 0.0 };
                assert_eq!(product.at(x, y), (want, -want), "{x},{y}");
                assert_eq!((full.u[i], full.v[i]), (want, -want), "{x},{y}");
            }
        }
        assert_eq!(product.at(6, 0), (0.0, 0.0));
        assert_eq!(product.at(0, 4), (0.0, 0.0));
    }
}
