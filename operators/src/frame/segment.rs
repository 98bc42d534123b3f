//! `segment`: the human region of each frame.
//!
//! Methods: `selfie` runs the selfie segmentation model on a crop around the
//! person (it was trained on close-up people, so the whole frame would
//! make the body too small) and maps the result back; `skeleton` is the
//! union of the 14 parts' capsules, with no model; `both` is their
//! intersection (the selfie mask cut to the body's neighbourhood); `none`
//! keeps every pixel. Masks are made at `resolution` × the frame size. The
//! record holds per-frame area and box; the PNG shows the mask over a few
//! frames.

use std::path::PathBuf;

use maflow_kernels::crop::{Cropper, RotatedRect};
use maflow_kernels::resize::{ImageView, resize_area};

use crate::common::body::{Joints, PartShape, Skeleton, part_shapes};
use crate::common::onnx::{ModelBuffers, SessionPool, find_model, run};
use crate::common::picture_grid::{Grid, sample_indices};
use crate::common::rounding::round_to;
use crate::prelude::*;
use maflow_kernels::png_io::encode_rgb_png;

/// Human mask per frame: `selfie` (segmentation model on the person crop), `skeleton` (union of the
/// parts' capsules), `both` (their intersection) or `none`. Inputs: frames and skeletons.
/// Record: per-frame mask area (fraction of the frame) and box. Blob: a PNG of the mask over a few frames.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    /// `selfie`, `skeleton`, `both` (their intersection) or `none` (every pixel).
    #[serde(default)]
    pub method: Method,
    /// Mask size as a fraction of the frame size.
    #[default(0.25)]
    pub resolution: f32,
    /// Selfie model probability above which a pixel is the person.
    #[default(0.5)]
    pub threshold: f32,
    /// Skeleton capsules are widened by this factor (for `skeleton` and `both`).
    #[default(1.3)]
    pub margin: f32,
    /// Folder holding the model files (default: $MAFLOW_MODELS, ../shared/models, .maflow/models).
    #[serde(default)]
    pub models: Option<PathBuf>,
    /// Frames drawn in the overlay PNG (0: none).
    #[default(4)]
    pub viz_frames: usize,
}

/// Segmentation methods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Selfie segmentation model on the person crop.
    Selfie,
    /// Union of the body parts' capsules.
    Skeleton,
    /// Selfie ∩ skeleton.
    #[default]
    Both,
    /// Every pixel.
    None,
}

/// Selfie model input side.
const SELFIE_SIZE: usize = 256;

/// Input: each frame's skeleton.
const SKELETON: FrameIn<Skeleton> = FrameIn::new(1, "skeleton");

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "segment",
    section: Section::Operators,
    version: 2,
    doc: SegmentConfig::DOC,
    inputs: &[
        Port::new("frames", PortType::Frames)
            .hint("connect it to a frame producer such as `decode`"),
        SKELETON.port("connect it to a `pose` operator or a `skeleton` reader"),
    ],
    output: Some(PortType::PerFrame(Mask::PRODUCT)),
    params: SegmentConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: SegmentConfig = parse_params(params)?;
    let mut errors = Vec::new();
    if !(config.resolution > 0.0 && config.resolution <= 1.0) {
        errors.push(param_error(
            params,
            "resolution",
            "`resolution` must be in (0, 1]",
        ));
    }
    if !(0.0..=1.0).contains(&config.threshold) {
        errors.push(param_error(
            params,
            "threshold",
            "`threshold` must be in [0, 1]",
        ));
    }
    if config.margin.is_nan() || config.margin <= 0.0 {
        errors.push(param_error(params, "margin", "`margin` must be positive"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let selfie = match config.method {
        Method::Selfie | Method::Both => Some(Arc::new(
            find_model("selfie_segmentation.onnx", config.models.as_deref())
                .and_then(|p| SessionPool::open(p, &[]))
                .map_err(|why| vec![param_error(params, "method", why)])?,
        )),
        Method::Skeleton | Method::None => None,
    };
    Ok(Built::drawing(
        &config,
        &["viz_frames"],
        config.viz_frames > 0,
        Runtime::FrameConsumer(Arc::new(SegmentOperator {
            config: config.clone(),
            selfie,
        })),
    ))
}

/// A binary human mask at a fraction of the frame size.
#[derive(Clone, Debug)]
pub struct Mask {
    /// Width in mask pixels.
    pub width: usize,
    /// Height in mask pixels.
    pub height: usize,
    /// Mask pixels per frame pixel.
    pub scale: f32,
    /// Row-major, 1 = person.
    pub data: Vec<u8>,
}

impl FrameProductType for Mask {
    const PRODUCT: ProductType = ProductType {
        name: "mask",
        description: "per-frame masks",
    };
}

impl Mask {
    /// A `width × height` thumbnail of an RGB frame with everything off the
    /// person dimmed and tinted blue, so the mask's edge is plain to see.
    pub fn overlay(&self, frame: &Frame, width: usize, height: usize) -> Vec<u8> {
        let (fw, fh) = (frame.width as usize, frame.height as usize);
        let view = ImageView {
            data: &frame.data,
            width: fw,
            height: fh,
            stride: fw * 3,
            channels: 3,
        };
        let mut small = resize_area(view, width, height);
        let (kx, ky) = (fw as f32 / width as f32, fh as f32 / height as f32);
        for (i, px) in small.chunks_exact_mut(3).enumerate() {
            let (x, y) = (
                ((i % width) as f32 + 0.5) * kx,
                ((i / width) as f32 + 0.5) * ky,
            );
            if !self.contains(x, y) {
                px[0] /= 3;
                px[1] /= 3;
                px[2] = px[2] / 3 + 80;
            }
        }
        small
    }

    /// Whether the frame point (x, y) is on the person.
    pub fn contains(&self, x: f32, y: f32) -> bool {
        let (mx, my) = ((x * self.scale) as isize, (y * self.scale) as isize);
        mx >= 0
            && my >= 0
            && (mx as usize) < self.width
            && (my as usize) < self.height
            && self.data[my as usize * self.width + mx as usize] != 0
    }
}

struct SegmentOperator {
    config: SegmentConfig,
    selfie: Option<Arc<SessionPool>>,
}

impl FrameConsumer for SegmentOperator {
    fn start(&self, _clip: &Clip, info: &VideoInfo) -> Result<Box<dyn FrameTask>, String> {
        let scale = self.config.resolution;
        let size = (
            ((info.width as f32 * scale).round() as usize).max(1),
            ((info.height as f32 * scale).round() as usize).max(1),
        );
        let viz_at = info
            .declared_frames
            .map(|n| sample_indices(n, self.config.viz_frames));
        Ok(Box::new(SegmentTask {
            config: self.config.clone(),
            selfie: self.selfie.clone(),
            size,
            scale: size.0 as f32 / info.width as f32,
            stats: Vec::new(),
            viz_at,
            viz: Vec::new(),
            cropper: Cropper::new(),
            selfie_io: ModelBuffers::new(SELFIE_SIZE * SELFIE_SIZE * 3, 1),
        }))
    }
}

struct SegmentTask {
    config: SegmentConfig,
    selfie: Option<Arc<SessionPool>>,
    size: (usize, usize),
    scale: f32,
    /// Per frame: area fraction and box (x0, y0, x1, y1) normalised.
    stats: Vec<(f32, [f32; 4])>,
    viz_at: Option<Vec<u64>>,
    viz: Vec<Vec<u8>>,
    /// The crop's scratch and the selfie model's tensors, reused frame after frame.
    cropper: Cropper,
    selfie_io: ModelBuffers,
}

impl SegmentTask {
    fn skeleton_mask(&self, shapes: Option<&[PartShape; PART_COUNT]>) -> Vec<u8> {
        let (w, h) = self.size;
        let mut mask = vec![0u8; w * h];
        let Some(shapes) = shapes else { return mask };
        for s in shapes {
            let widened = PartShape {
                radius: s.radius * self.config.margin,
                ..*s
            };
            let (x0, y0, x1, y1) = widened.bounds();
            let clamp = |v: f32, n: usize| ((v * self.scale).floor().max(0.0) as usize).min(n);
            let columns = clamp(x0, w)..clamp(x1, w).saturating_add(1).min(w);
            for my in clamp(y0, h)..clamp(y1, h).saturating_add(1).min(h) {
                let y = (my as f32 + 0.5) / self.scale;
                let row = &mut mask[my * w..(my + 1) * w];
                // Pixels an earlier part already covers are not measured again.
                for (mx, m) in row[columns.clone()]
                    .iter_mut()
                    .enumerate()
                    .filter(|(_, m)| **m == 0)
                {
                    let x = ((columns.start + mx) as f32 + 0.5) / self.scale;
                    *m = u8::from(widened.reach_squared(x, y) <= 1.0);
                }
            }
        }
        mask
    }

    /// Clears the pixels of `mask` that the selfie model does not see as
    /// the person (all of them outside its crop); only set pixels are looked at.
    fn cut_to_selfie(
        &mut self,
        frame: &Frame,
        skeleton: Option<&Skeleton>,
        mask: &mut [u8],
    ) -> Result<(), String> {
        // Nobody's capsules on this frame: nothing for the model to cut.
        if !mask.contains(&1) {
            return Ok(());
        }
        let pool = self.selfie.as_ref().expect("selfie methods open the model");
        let (fw, fh) = (frame.width as usize, frame.height as usize);
        let rgb = ImageView {
            data: &frame.data,
            width: fw,
            height: fh,
            stride: fw * 3,
            channels: 3,
        };
        let region = skeleton
            .and_then(person_square)
            .unwrap_or_else(|| RotatedRect::letterbox(fw, fh, 1.0));
        self.cropper.crop(
            rgb,
            &region,
            SELFIE_SIZE,
            SELFIE_SIZE,
            1.0 / 255.0,
            0.0,
            &mut self.selfie_io.input,
        );
        let ModelBuffers { input, outputs } = &mut self.selfie_io;
        pool.with(|s| run(s, input, [1, SELFIE_SIZE, SELFIE_SIZE, 3], outputs))?;
        let prob = outputs
            .first()
            .filter(|p| p.len() == SELFIE_SIZE * SELFIE_SIZE)
            .ok_or("selfie model: unexpected output")?;
        // Each mask pixel takes the model's pixel under its centre; the
        // crop's coordinates are linear along a mask row.
        let (w, h) = self.size;
        let n = SELFIE_SIZE as f32;
        let (u0, v0) = region.to_rect(0.5 / self.scale, 0.5 / self.scale);
        let (u1, v1) = region.to_rect(1.5 / self.scale, 0.5 / self.scale);
        let (u2, v2) = region.to_rect(0.5 / self.scale, 1.5 / self.scale);
        let (du_x, dv_x, du_y, dv_y) = (u1 - u0, v1 - v0, u2 - u0, v2 - v0);
        for (my, row) in mask.chunks_exact_mut(w).take(h).enumerate() {
            let (ru, rv) = (u0 + my as f32 * du_y, v0 + my as f32 * dv_y);
            for (mx, m) in row.iter_mut().enumerate().filter(|(_, m)| **m != 0) {
                let (u, v) = (ru + mx as f32 * du_x, rv + mx as f32 * dv_x);
                *m = u8::from(
                    (0.0..1.0).contains(&u)
                        && (0.0..1.0).contains(&v)
                        && prob[(v * n) as usize * SELFIE_SIZE + (u * n) as usize]
                            > self.config.threshold,
                );
            }
        }
        Ok(())
    }
}

/// An upright square around the confident keypoints, padded so the whole body fits.
fn person_square(s: &Skeleton) -> Option<RotatedRect> {
    let seen: Vec<_> = s.keypoints.iter().filter(|k| k.score > 0.3).collect();
    if seen.len() < 4 {
        return None;
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for k in &seen {
        (x0, y0, x1, y1) = (x0.min(k.x), y0.min(k.y), x1.max(k.x), y1.max(k.y));
    }
    let side = (x1 - x0).max(y1 - y0) * 1.35;
    Some(RotatedRect {
        cx: (x0 + x1) / 2.0,
        cy: (y0 + y1) / 2.0,
        width: side,
        height: side,
        rotation: 0.0,
    })
}

impl FrameTask for SegmentTask {
    fn push(
        &mut self,
        frame: &Frame,
        inputs: &FrameInputs<'_>,
    ) -> Result<Option<FrameProduct>, String> {
        let skeleton = inputs.get(&SKELETON);
        let shapes = skeleton.and_then(Joints::of).map(|j| part_shapes(&j));
        let needs_rgb = matches!(self.config.method, Method::Selfie | Method::Both)
            || self.config.viz_frames > 0;
        if needs_rgb && frame.format != PixelFormat::Rgb {
            return Err(
                "segment needs RGB frames: set `format: rgb` on the decode operator".into(),
            );
        }
        let (w, h) = self.size;
        let data = match self.config.method {
            Method::None => vec![1u8; w * h],
            Method::Skeleton => self.skeleton_mask(shapes.as_ref()),
            Method::Selfie => {
                let mut mask = vec![1u8; w * h];
                self.cut_to_selfie(frame, skeleton, &mut mask)?;
                mask
            }
            // The body's neighbourhood first: the model's output is read only there.
            Method::Both => {
                let mut mask = self.skeleton_mask(shapes.as_ref());
                self.cut_to_selfie(frame, skeleton, &mut mask)?;
                mask
            }
        };
        let (mut area, mut bx) = (0usize, [usize::MAX, usize::MAX, 0, 0]);
        for (i, _) in data.iter().enumerate().filter(|(_, m)| **m != 0) {
            let (x, y) = (i % w, i / w);
            area += 1;
            bx = [
                bx[0].min(x),
                bx[1].min(y),
                bx[2].max(x + 1),
                bx[3].max(y + 1),
            ];
        }
        let bbox = if area == 0 {
            [0.0; 4]
        } else {
            [
                bx[0] as f32 / w as f32,
                bx[1] as f32 / h as f32,
                bx[2] as f32 / w as f32,
                bx[3] as f32 / h as f32,
            ]
        };
        self.stats.push((area as f32 / (w * h) as f32, bbox));
        let wanted = match &self.viz_at {
            Some(at) => at.binary_search(&frame.index).is_ok(),
            None => frame.index.is_multiple_of(15) && self.viz.len() < self.config.viz_frames,
        };
        let mask = Mask {
            width: w,
            height: h,
            scale: self.scale,
            data,
        };
        if wanted && self.config.viz_frames > 0 {
            self.viz.push(mask.overlay(frame, w, h));
        }
        Ok(Some(Arc::new(mask)))
    }

    fn finish(self: Box<Self>) -> Result<Output, String> {
        let round = |v: f32| round_to(f64::from(v), 4);
        let record = serde_json::json!({
            "method": self.config.method,
            "size": [self.size.0, self.size.1],
            "area": self.stats.iter().map(|s| round(s.0)).collect::<Vec<_>>(),
            "box": self.stats.iter().map(|s| s.1.map(round)).collect::<Vec<_>>(),
        });
        let mut output = Output::record(record);
        if !self.viz.is_empty() {
            let thumbs: Vec<&[u8]> = self.viz.iter().map(Vec::as_slice).collect();
            let (canvas, w, h) = Grid {
                thumb: self.size,
                channels: 3,
                columns: thumbs.len(),
                gap: 4,
            }
            .tile(&thumbs);
            output = output.with_pictures(Pictures {
                note: serde_json::json!({"frames": thumbs.len()}),
                blobs: vec![Blob {
                    ext: "png".into(),
                    bytes: encode_rgb_png(&canvas, w, h)?,
                }],
            });
        }
        Ok(output)
    }
}
