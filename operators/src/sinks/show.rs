//! `show`: one picture per clip to look at before trusting its descriptor.
//!
//! For a few evenly spaced frames from the second on (the first has no flow
//! into it): the frame with the area outside the human mask dimmed and
//! tinted, the skeleton's bones, and each part's motion vector as an arrow
//! from its anchor (scaled by `arrow_scale`, vy > 0 drawn upward); under
//! each, the flow into that frame on the colour wheel (hue = direction,
//! saturation = speed), then the wheel's key with its scale written out
//! (`max_speed` px/frame at full colour, the same for every clip). Below,
//! every part's speed over the whole clip, with its axes labelled (px/frame,
//! a tick every second) and a legend of part names. The same plot is also
//! written as `<clip>.svg`, with real text.

use maflow_kernels::draw::Canvas;
use maflow_kernels::flow::color::{KEY_STRIP_HEIGHT, flow_to_rgb, key_strip, speed_label};
use maflow_kernels::flow::cpu::resize_flow;
use maflow_kernels::font::text_width;
use maflow_kernels::resize::{ImageView, resize_area};

use crate::common::body::{Joints, PARTS, Skeleton};
use crate::common::picture_grid::sample_indices;
use crate::frame::align::PartsFrame;
use crate::frame::flow::FlowProduct;
use crate::frame::segment::Mask;
use crate::prelude::*;
use maflow_kernels::png_io::encode_rgb_png;

/// Writes `<out>/<spec>/<id>/<clip>.png`: sampled frames with the mask, the skeleton and each part's
/// motion arrow, the flow colour wheel under each, and every part's speed over the clip.
/// Inputs: frames (RGB), skeletons, masks, flow, parts.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowConfig {
    /// Frames drawn.
    #[default(4)]
    pub frames: usize,
    /// Width of each frame picture in pixels.
    #[default(270)]
    pub thumb_width: usize,
    /// Arrow length per px/frame of motion, in frame pixels.
    #[default(40.0)]
    pub arrow_scale: f32,
    /// Speed (px/frame) drawn at full colour on the flow wheel.
    #[default(2.0)]
    pub max_speed: f32,
}

/// One colour per part, in [`crate::common::body::PARTS`] order (left and right in related hues).
const PART_COLOURS: [[u8; 3]; PART_COUNT] = [
    [230, 25, 75],
    [60, 60, 60],
    [0, 130, 200],
    [70, 240, 240],
    [0, 90, 160],
    [100, 200, 255],
    [145, 30, 180],
    [240, 50, 230],
    [60, 180, 75],
    [170, 255, 120],
    [0, 120, 50],
    [210, 245, 60],
    [245, 130, 48],
    [255, 200, 60],
];

/// Input: each frame's skeleton.
const SKELETON: FrameIn<Skeleton> = FrameIn::new(1, "skeleton");
/// Input: each frame's human mask.
const MASK: FrameIn<Mask> = FrameIn::new(2, "mask");
/// Input: the flow into each frame from the one before.
const FLOW: FrameIn<FlowProduct> = FrameIn::new(3, "flow");
/// Input: each frame's body-part vectors and anchors.
const PARTS_IN: FrameIn<PartsFrame> = FrameIn::new(4, "parts");

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "show",
    section: Section::Sinks,
    version: 3,
    doc: ShowConfig::DOC,
    inputs: &[
        Port::new("frames", PortType::Frames)
            .hint("connect it to a frame producer such as `decode`"),
        SKELETON.port("connect it to a `pose` operator or a `skeleton` reader"),
        MASK.port("connect it to a `segment` operator"),
        FLOW.port("connect it to a `flow` operator"),
        PARTS_IN.port("connect it to an `align` operator"),
    ],
    output: None,
    params: ShowConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: ShowConfig = parse_params(params)?;
    let mut errors = Vec::new();
    if !(1..=16).contains(&config.frames) {
        errors.push(param_error(
            params,
            "frames",
            "`frames` must be between 1 and 16",
        ));
    }
    if !(32..=1080).contains(&config.thumb_width) {
        errors.push(param_error(
            params,
            "thumb_width",
            "`thumb_width` must be between 32 and 1080",
        ));
    }
    if config.max_speed.is_nan() || config.max_speed <= 0.0 {
        errors.push(param_error(
            params,
            "max_speed",
            "`max_speed` must be positive",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Built::new(
        &config,
        Runtime::FrameConsumer(Arc::new(Show {
            config: config.clone(),
        })),
    ))
}

struct Show {
    config: ShowConfig,
}

impl FrameConsumer for Show {
    fn start(&self, _clip: &Clip, info: &VideoInfo) -> Result<Box<dyn FrameTask>, String> {
        let tw = self.config.thumb_width.min(info.width as usize);
        let th =
            ((tw as f64 * f64::from(info.height) / f64::from(info.width)).round() as usize).max(1);
        Ok(Box::new(ShowTask {
            config: self.config.clone(),
            info: info.clone(),
            thumb: (tw, th),
            // From the second frame on: the first has no flow into it.
            targets: info.declared_frames.map(|n| {
                sample_indices(n.saturating_sub(1), self.config.frames)
                    .into_iter()
                    .map(|i| i + 1)
                    .collect()
            }),
            pictures: Vec::new(),
            speeds: Vec::new(),
        }))
    }
}

struct ShowTask {
    config: ShowConfig,
    info: VideoInfo,
    thumb: (usize, usize),
    targets: Option<Vec<u64>>,
    /// (frame overlay, flow wheel) per drawn frame.
    pictures: Vec<(Vec<u8>, Vec<u8>)>,
    /// Per frame, per part speed (px/frame).
    speeds: Vec<[f32; PART_COUNT]>,
}

/// Bones drawn, as pairs of joints.
fn bones(j: &Joints) -> Vec<((f32, f32), (f32, f32))> {
    let p = |q: crate::common::body::Joint| (q.x, q.y);
    let mut out = vec![
        (p(j.shoulder[0]), p(j.shoulder[1])),
        (p(j.hip[0]), p(j.hip[1])),
        (p(j.head), p(j.nose)),
    ];
    for s in 0..2 {
        out.extend([
            (p(j.shoulder[s]), p(j.elbow[s])),
            (p(j.elbow[s]), p(j.wrist[s])),
            (p(j.wrist[s]), p(j.hand[s])),
            (p(j.shoulder[s]), p(j.hip[s])),
            (p(j.hip[s]), p(j.knee[s])),
            (p(j.knee[s]), p(j.ankle[s])),
            (p(j.ankle[s]), p(j.toe[s])),
        ]);
    }
    out
}

impl ShowTask {
    fn overlay(
        &self,
        frame: &Frame,
        skeleton: Option<&Skeleton>,
        mask: Option<&Mask>,
        parts: Option<&PartsFrame>,
    ) -> Vec<u8> {
        let (tw, th) = self.thumb;
        let (fw, fh) = (frame.width as usize, frame.height as usize);
        let small = match mask {
            Some(mask) => mask.overlay(frame, tw, th),
            None => resize_area(
                ImageView {
                    data: &frame.data,
                    width: fw,
                    height: fh,
                    stride: fw * 3,
                    channels: 3,
                },
                tw,
                th,
            ),
        };
        let k = tw as f32 / fw as f32;
        let mut canvas = Canvas {
            width: tw,
            height: th,
            rgb: small,
        };
        if let Some(j) = skeleton.and_then(Joints::of) {
            for (a, b) in bones(&j) {
                canvas.line((a.0 * k, a.1 * k), (b.0 * k, b.1 * k), 1.5, [255, 255, 255]);
            }
        }
        if let Some(parts) = parts {
            for ((coord, &[vx, vy]), &colour) in
                parts.coord.iter().zip(&parts.vector).zip(&PART_COLOURS)
            {
                let a = (coord[0] * tw as f32, coord[1] * th as f32);
                let s = self.config.arrow_scale * k;
                // vy > 0 is up: drawn toward smaller y.
                let b = (a.0 + vx * s, a.1 - vy * s);
                canvas.disc(a, 2.0, colour);
                canvas.arrow(a, b, 2.0, 8.0, colour);
            }
        }
        canvas.rgb
    }

    fn wheel(&self, flow: Option<&FlowProduct>) -> Vec<u8> {
        let (tw, th) = self.thumb;
        match flow {
            Some(f) => {
                let small = resize_flow(&f.whole(), tw, th);
                // Resizing scales the vectors too: full colour at max_speed input px/frame,
                // i.e. max_speed / to_input field px, times thumbnail px per field px.
                let max = self.config.max_speed / f.to_input * tw as f32 / f.work_size.0 as f32;
                flow_to_rgb(&small, Some(max))
            }
            None => vec![255; tw * th * 3],
        }
    }

    /// Every part's speed over the clip, `width` pixels wide, with labelled axes and a legend of part names.
    fn plot(&self, width: usize) -> Canvas {
        const INK: [u8; 3] = [20, 20, 20];
        let names: Vec<String> = PARTS
            .iter()
            .map(|p| p.to_lowercase().replace('_', " "))
            .collect();
        let column = names.iter().map(|n| text_width(n, 1)).max().unwrap_or(0) + 24;
        let (left, top, plot_h) = (44.0f32, 18.0f32, 120.0f32);
        let columns = ((width as f32 - left) as usize / column).clamp(1, PART_COUNT);
        let legend_top = (top + plot_h) as usize + 26;
        let height = legend_top + PART_COUNT.div_ceil(columns) * 12 + 4;
        let mut c = Canvas::new(width, height, [255, 255, 255]);
        let n = self.speeds.len().max(2);
        let peak = f64::from(self.speeds.iter().flatten().copied().fold(0.5f32, f32::max));
        let step = nice_step(peak / 4.0);
        let y_max = ((peak / step).ceil() * step) as f32;
        let right = width as f32 - 8.0;
        let bottom = top + plot_h;
        let x_of = |t: usize| left + (right - left) * t as f32 / (n - 1) as f32;
        let y_of = |v: f32| bottom - plot_h * v / y_max;
        c.text(4, 4, "speed (px/frame)", 1, INK);
        let mut v = 0.0f32;
        while v <= y_max + 1e-6 {
            let (y, label) = (y_of(v), speed_label(v));
            c.line((left, y), (right, y), 1.0, [225, 225, 225]);
            c.text(
                (left - 5.0) as isize - text_width(&label, 1) as isize,
                y as isize - 3,
                &label,
                1,
                INK,
            );
            v += step as f32;
        }
        c.line((left, top), (left, bottom), 1.0, INK);
        c.line((left, bottom), (right, bottom), 1.0, INK);
        // A labelled tick each second.
        let fps = self.info.fps.max(1.0);
        let mut second = 0usize;
        while ((second as f64 * fps) as usize) < n {
            let x = x_of((second as f64 * fps) as usize);
            c.line((x, bottom), (x, bottom + 4.0), 1.0, INK);
            let label = format!("{second} s");
            c.text(
                x as isize - text_width(&label, 1) as isize / 2,
                bottom as isize + 7,
                &label,
                1,
                INK,
            );
            second += 1;
        }
        for p in 0..PART_COUNT {
            let points: Vec<(f32, f32)> = self
                .speeds
                .iter()
                .enumerate()
                .map(|(t, s)| (x_of(t), y_of(s[p])))
                .collect();
            c.polyline(&points, 1.5, PART_COLOURS[p]);
            let (x, y) = (
                left as usize + (p % columns) * column,
                legend_top + (p / columns) * 12,
            );
            c.line(
                (x as f32, y as f32 + 3.5),
                (x as f32 + 12.0, y as f32 + 3.5),
                5.0,
                PART_COLOURS[p],
            );
            c.text(x as isize + 17, y as isize, &names[p], 1, INK);
        }
        c
    }

    /// Every part's speed over the clip as SVG: seconds on x, px/frame on y, labelled ticks, a legend of part names.
    fn plot_svg(&self) -> String {
        let (left, top, plot_w, plot_h): (f64, f64, f64, f64) = (56.0, 12.0, 640.0, 200.0);
        let (width, legend_top) = (left + plot_w + 150.0, top + plot_h + 44.0);
        let height = legend_top.max(top + 14.0 * PART_COUNT as f64 + 8.0);
        let n = self.speeds.len().max(2);
        let peak = f64::from(self.speeds.iter().flatten().copied().fold(0.5f32, f32::max));
        let step = nice_step(peak / 4.0);
        let y_max = (peak / step).ceil() * step;
        let x_of = |t: f64| left + plot_w * t / (n - 1) as f64;
        let y_of = |v: f64| top + plot_h * (1.0 - v / y_max);
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
        );
        let mut v = 0.0;
        while v <= y_max + 1e-9 {
            let y = y_of(v);
            s.push_str(&format!(
                "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                left + plot_w,
                left - 6.0,
                y + 4.0,
                (v * 1000.0).round() / 1000.0
            ));
            v += step;
        }
        let fps = self.info.fps.max(1.0);
        let mut second = 0.0;
        while second * fps <= (n - 1) as f64 + 1e-9 {
            let x = x_of(second * fps);
            s.push_str(&format!(
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#222\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{second} s</text>",
                top + plot_h,
                top + plot_h + 5.0,
                top + plot_h + 18.0
            ));
            second += 1.0;
        }
        s.push_str(&format!(
            "<path d=\"M{left} {top}V{:.1}H{:.1}\" stroke=\"#222\" fill=\"none\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">time</text>\
             <text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">speed (px/frame)</text>",
            top + plot_h,
            left + plot_w,
            left + plot_w / 2.0,
            top + plot_h + 34.0,
            top + plot_h / 2.0
        ));
        for (p, name) in PARTS.iter().enumerate() {
            let [r, g, b] = PART_COLOURS[p];
            let points: Vec<String> = self
                .speeds
                .iter()
                .enumerate()
                .map(|(t, sp)| format!("{:.1},{:.1}", x_of(t as f64), y_of(f64::from(sp[p]))))
                .collect();
            s.push_str(&format!("<polyline fill=\"none\" stroke=\"rgb({r},{g},{b})\" stroke-width=\"1.5\" points=\"{}\"><title>{name}</title></polyline>", points.join(" ")));
            let y = top + 14.0 * p as f64;
            s.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"12\" height=\"8\" fill=\"rgb({r},{g},{b})\"/><text x=\"{:.1}\" y=\"{:.1}\">{name}</text>",
                left + plot_w + 14.0,
                left + plot_w + 30.0,
                y + 8.0
            ));
        }
        s.push_str("</svg>\n");
        s
    }
}

/// A round tick step (1, 2 or 5 × a power of ten) near `raw`.
fn nice_step(raw: f64) -> f64 {
    let power = 10f64.powf(raw.max(1e-6).log10().floor());
    let m = raw / power;
    power
        * if m <= 1.0 {
            1.0
        } else if m <= 2.0 {
            2.0
        } else if m <= 5.0 {
            5.0
        } else {
            10.0
        }
}

impl FrameTask for ShowTask {
    fn push(
        &mut self,
        frame: &Frame,
        inputs: &FrameInputs<'_>,
    ) -> Result<Option<FrameProduct>, String> {
        let parts = inputs.get(&PARTS_IN);
        self.speeds
            .push(parts.map_or([0.0; PART_COUNT], |p| p.vector.map(|[x, y]| x.hypot(y))));
        let wanted = match &self.targets {
            Some(at) => at.binary_search(&frame.index).is_ok(),
            None => frame.index % 15 == 1 && self.pictures.len() < self.config.frames,
        };
        if wanted {
            if frame.format != PixelFormat::Rgb {
                return Err(
                    "show needs RGB frames: set `format: rgb` on the decode operator".into(),
                );
            }
            let overlay = self.overlay(frame, inputs.get(&SKELETON), inputs.get(&MASK), parts);
            let wheel = self.wheel(inputs.get(&FLOW));
            self.pictures.push((overlay, wheel));
        }
        Ok(None)
    }

    fn finish(self: Box<Self>) -> Result<Output, String> {
        let (tw, th) = self.thumb;
        let gap = 4;
        let n = self.pictures.len().max(1);
        let width = n * tw + (n + 1) * gap;
        let plot = self.plot(width - 2 * gap);
        let height = 2 * th + KEY_STRIP_HEIGHT + plot.height + 5 * gap;
        let mut c = Canvas::new(width, height, [40, 40, 40]);
        for (i, (overlay, wheel)) in self.pictures.iter().enumerate() {
            let x = gap + i * (tw + gap);
            c.blit(overlay, tw, th, x, gap);
            c.blit(wheel, tw, th, x, 2 * gap + th);
        }
        // The wheels' scale, the same for every clip drawn with these params.
        c.blit(
            &key_strip(width - 2 * gap, self.config.max_speed, ""),
            width - 2 * gap,
            KEY_STRIP_HEIGHT,
            gap,
            3 * gap + 2 * th,
        );
        c.blit(
            &plot.rgb,
            plot.width,
            plot.height,
            gap,
            4 * gap + 2 * th + KEY_STRIP_HEIGHT,
        );
        let png = encode_rgb_png(&c.rgb, width, height)?;
        let svg = self.plot_svg().into_bytes();
        Ok(Output {
            record: serde_json::json!({"frames": self.pictures.len(), "width": width, "height": height}),
            blobs: vec![
                Blob {
                    ext: "png".into(),
                    bytes: png,
                },
                Blob {
                    ext: "svg".into(),
                    bytes: svg,
                },
            ],
            pictures: None,
        })
    }
}
