//! `decode`: a clip's video stream as frames, one at a time, through libavcodec.
//!
//! Gray frames are the Y plane copied straight out of the decoder's YUV
//! frame (no colour conversion); RGB and resizing go through swscale.
//! Frame threading is on. An optional output rate resamples by nearest
//! timestamp; a variable-rate stream is resampled to its average rate. A
//! clip that cannot be opened, has no video stream, is larger than
//! `max_pixels`, or ends before its declared frame count fails with the
//! cause; nothing partial is passed on as finished.

use std::collections::VecDeque;
use std::sync::{Arc, Once};

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg_next as ffmpeg;

use crate::prelude::*;

/// Decodes a clip's video stream into frames (libavcodec), streamed one at a time.
/// Gray frames are the Y plane without colour conversion; RGB and resizing use swscale.
/// Its per-clip record is the decoded geometry, rate and frame count.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodeConfig {
    /// Pixel format of the frames: `gray` (luma) or `rgb`.
    #[default(PixelFormat::Gray)]
    pub format: PixelFormat,
    /// Output width; with only one of width/height the other keeps the aspect ratio.
    #[serde(default)]
    pub width: Option<u32>,
    /// Output height.
    #[serde(default)]
    pub height: Option<u32>,
    /// Output frame rate (nearest-timestamp resampling); the source rate when absent.
    #[serde(default)]
    pub fps: Option<f64>,
    /// Decoder threads per clip (frame threading); 0 lets libavcodec choose.
    /// The frames are the same at any count, so it is not part of the cache key.
    #[default(2)]
    pub threads: usize,
    /// Largest accepted source frame (width × height); bigger clips fail instead of exhausting memory.
    #[default(4096 * 4096)]
    pub max_pixels: u64,
}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "decode",
    section: Section::Operators,
    version: 2,
    doc: DecodeConfig::DOC,
    inputs: &[Port::new("clips", PortType::Clips)
        .hint("connect it to a source such as `ma52` or `folder`")],
    output: Some(PortType::Frames),
    params: DecodeConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: DecodeConfig = parse_params(params)?;
    let mut errors = Vec::new();
    for (field, value) in [("width", config.width), ("height", config.height)] {
        if matches!(value, Some(v) if v == 0 || v > 16384) {
            errors.push(param_error(
                params,
                field,
                format!("`{field}` must be between 1 and 16384"),
            ));
        }
    }
    if config.fps.is_some_and(|f| !(f > 0.0 && f <= 1000.0)) {
        errors.push(param_error(params, "fps", "`fps` must be in (0, 1000]"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Frame threading gives the same frames at any thread count.
    Ok(Built::new(
        &config,
        Runtime::FrameProducer(Arc::new(Decoder {
            config: config.clone(),
        })),
    )
    .unkeyed(&["threads"]))
}

struct Decoder {
    config: DecodeConfig,
}

/// Initialises FFmpeg once per process (decoding and the synthetic clips' encoding both need it).
pub fn init_ffmpeg() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = ffmpeg::init();
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Fatal);
    });
}

impl FrameProducer for Decoder {
    fn open(&self, clip: &Clip) -> Result<Box<dyn FrameStream>, String> {
        open_stream(&self.config, &clip.path).map(|s| Box::new(s) as Box<dyn FrameStream>)
    }
}

/// Opens a video file as a frame stream (also used by benchmarks).
pub fn open_stream(config: &DecodeConfig, path: &std::path::Path) -> Result<VideoStream, String> {
    init_ffmpeg();
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    if meta.len() == 0 {
        return Err(format!("{} is empty (0 bytes)", path.display()));
    }
    let input = ffmpeg::format::input(path).map_err(|e| format!("not a readable video ({e})"))?;
    let stream = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .ok_or_else(|| "the file has no video stream".to_string())?;
    let index = stream.index();
    let time_base = f64::from(stream.time_base());
    let (average, base) = (f64::from(stream.avg_frame_rate()), f64::from(stream.rate()));
    let rate = [average, base]
        .into_iter()
        .find(|r| r.is_finite() && *r > 0.0)
        .ok_or_else(|| "the video stream has no frame rate".to_string())?;
    // A variable-rate stream (average rate clearly below its base rate) is
    // resampled to its average rate, so that every frame pair spans the same time.
    let variable =
        average.is_finite() && average > 0.0 && base.is_finite() && average < 0.99 * base;
    let declared = u64::try_from(stream.frames()).ok().filter(|&n| n > 0);
    let decoder = open_decoder(&stream, config)?;
    let (src_w, src_h) = (decoder.width(), decoder.height());
    let (width, height) = output_size(src_w, src_h, config.width, config.height);
    let codec = decoder
        .codec()
        .map_or_else(|| "unknown".to_string(), |c| c.name().to_string());
    let out_fps = config.fps.or(variable.then_some(rate));
    let fps = out_fps.unwrap_or(rate);
    let info = VideoInfo {
        width,
        height,
        fps,
        declared_frames: declared.map(|n| {
            if out_fps.is_some() {
                (n as f64 * fps / rate).round() as u64
            } else {
                n
            }
        }),
        codec: codec.clone(),
    };
    Ok(VideoStream {
        input,
        decoder,
        index,
        time_base,
        src_rate: rate,
        src_size: (src_w, src_h),
        declared,
        format: config.format,
        out_fps,
        variable,
        scaler: None,
        converted: ffmpeg::frame::Video::empty(),
        info,
        eof_sent: false,
        finished: false,
        decoded: 0,
        emitted: 0,
        first_time: None,
        held: None,
        ready: VecDeque::new(),
    })
}

/// The stream's decoder with frame threading, refusing an empty or too large frame size.
fn open_decoder(
    stream: &ffmpeg::format::stream::Stream<'_>,
    config: &DecodeConfig,
) -> Result<ffmpeg::decoder::Video, String> {
    let mut context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| format!("unsupported codec parameters ({e})"))?;
    context.set_threading(ffmpeg::codec::threading::Config {
        kind: ffmpeg::codec::threading::Type::Frame,
        count: config.threads,
        ..Default::default()
    });
    let decoder = context
        .decoder()
        .video()
        .map_err(|e| format!("cannot open the video decoder ({e})"))?;
    let (src_w, src_h) = (decoder.width(), decoder.height());
    if src_w == 0 || src_h == 0 {
        return Err(format!("invalid frame size {src_w}x{src_h}"));
    }
    if u64::from(src_w) * u64::from(src_h) > config.max_pixels {
        return Err(format!(
            "frame size {src_w}x{src_h} exceeds max_pixels {}",
            config.max_pixels
        ));
    }
    Ok(decoder)
}

fn output_size(w: u32, h: u32, want_w: Option<u32>, want_h: Option<u32>) -> (u32, u32) {
    let scaled = |num: u32, a: u32, b: u32| {
        ((f64::from(num) * f64::from(a) / f64::from(b)).round() as u32).max(1)
    };
    match (want_w, want_h) {
        (Some(ww), Some(hh)) => (ww, hh),
        (Some(ww), None) => (ww, scaled(ww, h, w)),
        (None, Some(hh)) => (scaled(hh, w, h), hh),
        (None, None) => (w, h),
    }
}

/// Frames of one open video.
pub struct VideoStream {
    input: ffmpeg::format::context::Input,
    decoder: ffmpeg::decoder::Video,
    index: usize,
    time_base: f64,
    src_rate: f64,
    src_size: (u32, u32),
    declared: Option<u64>,
    format: PixelFormat,
    out_fps: Option<f64>,
    /// The source's frame rate varies (it is resampled to its average).
    variable: bool,
    scaler: Option<(Pixel, u32, u32, scaling::Context)>,
    /// The scaler's output, reused from frame to frame.
    converted: ffmpeg::frame::Video,
    info: VideoInfo,
    eof_sent: bool,
    /// The decoder returned its last frame.
    finished: bool,
    decoded: u64,
    emitted: u64,
    first_time: Option<f64>,
    /// Resampling: the last decoded frame, waiting to know its successor's time.
    held: Option<Frame>,
    ready: VecDeque<Frame>,
}

impl VideoStream {
    /// Next decoded frame from libavcodec, `None` after the last.
    fn decode_next(&mut self) -> Result<Option<ffmpeg::frame::Video>, String> {
        let mut frame = ffmpeg::frame::Video::empty();
        loop {
            match self.decoder.receive_frame(&mut frame) {
                Ok(()) => return Ok(Some(frame)),
                Err(ffmpeg::Error::Eof) => return Ok(None),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {}
                Err(e) => return Err(self.early_end(&e)),
            }
            if self.eof_sent {
                return Ok(None);
            }
            loop {
                let mut packet = ffmpeg::Packet::empty();
                match packet.read(&mut self.input) {
                    Ok(()) if packet.stream() == self.index => {
                        self.decoder.send_packet(&packet).map_err(|e| {
                            format!("corrupt data after {} frames ({e})", self.decoded)
                        })?;
                        break;
                    }
                    Ok(()) => {}
                    Err(ffmpeg::Error::Eof) => {
                        self.decoder.send_eof().map_err(|e| self.early_end(&e))?;
                        self.eof_sent = true;
                        break;
                    }
                    Err(e) => return Err(self.early_end(&e)),
                }
            }
        }
    }

    /// The cause for a stream that stops with an error: truncation when frames are missing.
    fn early_end(&self, e: &ffmpeg::Error) -> String {
        match self.declared {
            Some(declared) if self.decoded < declared => {
                format!(
                    "stream ends after {} of {declared} declared frames (truncated file? {e})",
                    self.decoded
                )
            }
            _ => format!(
                "reading the file failed after {} frames ({e})",
                self.decoded
            ),
        }
    }

    fn convert(&mut self, f: &ffmpeg::frame::Video) -> Result<Frame, String> {
        if (f.width(), f.height()) != self.src_size {
            return Err(format!(
                "frame size changed mid-stream from {}x{} to {}x{}",
                self.src_size.0,
                self.src_size.1,
                f.width(),
                f.height()
            ));
        }
        let raw_time = f
            .timestamp()
            .or(f.pts())
            .map_or(self.decoded as f64 / self.src_rate, |t| {
                t as f64 * self.time_base
            });
        let first = *self.first_time.get_or_insert(raw_time);
        let (w, h) = (self.info.width, self.info.height);
        let luma_direct = self.format == PixelFormat::Gray
            && (w, h) == self.src_size
            && matches!(
                f.format(),
                Pixel::YUV420P
                    | Pixel::YUVJ420P
                    | Pixel::YUV422P
                    | Pixel::YUVJ422P
                    | Pixel::YUV444P
                    | Pixel::YUVJ444P
                    | Pixel::NV12
                    | Pixel::NV21
                    | Pixel::GRAY8
            );
        let data = if luma_direct {
            copy_plane(f.data(0), f.stride(0), w as usize, h as usize)
        } else {
            let target = match self.format {
                PixelFormat::Gray => Pixel::GRAY8,
                PixelFormat::Rgb => Pixel::RGB24,
            };
            let stale = !matches!(&self.scaler, Some((fmt, sw, sh, _)) if *fmt == f.format() && (*sw, *sh) == (f.width(), f.height()));
            if stale {
                let ctx = scaling::Context::get(
                    f.format(),
                    f.width(),
                    f.height(),
                    target,
                    w,
                    h,
                    scaling::Flags::AREA,
                )
                .map_err(|e| format!("cannot convert {:?} frames ({e})", f.format()))?;
                self.scaler = Some((f.format(), f.width(), f.height(), ctx));
                self.converted = ffmpeg::frame::Video::empty();
            }
            let (_, _, _, ctx) = self.scaler.as_mut().expect("set above");
            let out = &mut self.converted;
            ctx.run(f, out)
                .map_err(|e| format!("pixel conversion failed ({e})"))?;
            copy_plane(
                out.data(0),
                out.stride(0),
                w as usize * self.format.channels(),
                h as usize,
            )
        };
        Ok(Frame {
            index: self.decoded,
            time: raw_time - first,
            width: w,
            height: h,
            format: self.format,
            data,
        })
    }

    /// Queues output frames for a newly decoded one (or for the end, with `None`).
    fn resample(&mut self, next: Option<Frame>) {
        let Some(fps) = self.out_fps else {
            if let Some(frame) = next {
                self.emitted += 1;
                self.ready.push_back(frame);
            }
            return;
        };
        if let Some(held) = &self.held {
            // Output frame k shows the source frame nearest to time k / fps.
            let until = match &next {
                Some(n) => (held.time + n.time) / 2.0,
                // The last frame covers its whole display interval.
                None => held.time + 1.0 / self.src_rate,
            };
            while (self.emitted as f64) / fps < until - 1e-9 {
                let mut f = held.clone();
                f.index = self.emitted;
                f.time = self.emitted as f64 / fps;
                self.ready.push_back(f);
                self.emitted += 1;
            }
        }
        self.held = next;
    }
}

fn copy_plane(data: &[u8], stride: usize, row_bytes: usize, rows: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(row_bytes * rows);
    for r in 0..rows {
        out.extend_from_slice(&data[r * stride..r * stride + row_bytes]);
    }
    out
}

impl FrameStream for VideoStream {
    fn info(&self) -> &VideoInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, String> {
        loop {
            if let Some(frame) = self.ready.pop_front() {
                return Ok(Some(frame));
            }
            if self.finished {
                return Ok(None);
            }
            match self.decode_next()? {
                Some(raw) => {
                    let frame = self.convert(&raw)?;
                    self.decoded += 1;
                    self.resample(Some(frame));
                }
                None => {
                    self.finished = true;
                    self.resample(None);
                }
            }
        }
    }

    fn finish(self: Box<Self>) -> Result<Output, String> {
        if self.decoded == 0 {
            return Err("no frame could be decoded".into());
        }
        if let Some(declared) = self.declared
            && self.decoded < declared
        {
            return Err(format!(
                "stream ends after {} of {declared} declared frames (truncated?)",
                self.decoded
            ));
        }
        let mut record = serde_json::json!({
            "width": self.info.width,
            "height": self.info.height,
            "fps": self.info.fps,
            "frames": self.emitted,
            "duration": self.emitted as f64 / self.info.fps,
            "format": self.format,
            "codec": self.info.codec,
            "source": {
                "width": self.src_size.0,
                "height": self.src_size.1,
                "fps": self.src_rate,
                "frames": self.decoded,
                "declared_frames": self.declared,
            },
        });
        if self.variable {
            record["source"]["variable_rate"] = true.into();
        }
        Ok(Output::record(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIP: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/ma52/videos/0019_02_0078.mp4"
    );

    fn decode(config: DecodeConfig) -> (Vec<Frame>, serde_json::Value) {
        let mut stream = Box::new(open_stream(&config, std::path::Path::new(CLIP)).unwrap());
        let mut frames = Vec::new();
        while let Some(f) = stream.next_frame().unwrap() {
            frames.push(f);
        }
        (frames, stream.finish().unwrap().record)
    }

    fn config() -> DecodeConfig {
        DecodeConfig {
            format: PixelFormat::Gray,
            width: None,
            height: None,
            fps: None,
            threads: 2,
            max_pixels: 1 << 24,
        }
    }

    #[test]
    fn gray_frames_are_the_luma_plane_at_full_size() {
        let (frames, record) = decode(config());
        assert_eq!(frames.len(), 50);
        assert_eq!(record["frames"], 50);
        assert!(
            frames
                .iter()
                .all(|f| (f.width, f.height, f.data.len()) == (1080, 1296, 1080 * 1296))
        );
        assert!(
            frames
                .windows(2)
                .all(|w| (w[1].time - w[0].time - 1.0 / 30.0).abs() < 1e-6)
        );
        // A real picture: light wall (about 190), dark hair and shoes.
        let (lo, hi) = frames[0]
            .data
            .iter()
            .fold((255, 0), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        assert!(lo < 40 && hi > 150, "{lo}..{hi}");
    }

    #[test]
    fn resize_and_rgb_go_through_swscale() {
        let (frames, _) = decode(DecodeConfig {
            width: Some(270),
            format: PixelFormat::Rgb,
            ..config()
        });
        assert_eq!(frames.len(), 50);
        assert_eq!(
            (frames[0].width, frames[0].height, frames[0].data.len()),
            (270, 324, 270 * 324 * 3)
        );
        let (gray, _) = decode(DecodeConfig {
            width: Some(270),
            ..config()
        });
        // Luma from RGB (BT.601 weights) agrees with swscale's gray within a few levels on average.
        let diff: f64 = frames[10]
            .data
            .chunks(3)
            .zip(&gray[10].data)
            .map(|(p, &y)| {
                (0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
                    - f64::from(y))
                .abs()
            })
            .sum::<f64>()
            / gray[10].data.len() as f64;
        assert!(diff < 12.0, "mean |luma - gray| = {diff}");
    }

    #[test]
    fn frame_rate_resampling_picks_the_nearest_frame() {
        let (half, record) = decode(DecodeConfig {
            fps: Some(15.0),
            ..config()
        });
        assert_eq!(half.len(), 25);
        assert_eq!(record["fps"], 15.0);
        let (full, _) = decode(config());
        // Output k at k/15 s shows source frame 2k.
        assert!(
            half[3].data == full[6].data,
            "15 fps frame 3 is not source frame 6"
        );
        assert!((half[3].time - 0.2).abs() < 1e-9);
        let (double, _) = decode(DecodeConfig {
            fps: Some(60.0),
            ..config()
        });
        assert_eq!(double.len(), 100);
        assert!(
            double[8].data == full[4].data,
            "60 fps frame 8 is not source frame 4"
        );
        // At a tie (0.15 s is halfway between source frames 4 and 5) the later frame is shown.
        assert!(
            double[9].data == full[5].data,
            "60 fps frame 9 is not source frame 5"
        );
    }

    #[test]
    fn oversized_clips_are_refused() {
        let err = open_stream(
            &DecodeConfig {
                max_pixels: 1000,
                ..config()
            },
            std::path::Path::new(CLIP),
        )
        .err()
        .unwrap();
        assert!(err.contains("exceeds max_pixels"), "{err}");
    }

    #[test]
    fn output_size_keeps_aspect_when_one_side_is_given() {
        assert_eq!(output_size(1080, 1296, Some(540), None), (540, 648));
        assert_eq!(output_size(1080, 1296, None, Some(648)), (540, 648));
        assert_eq!(output_size(1080, 1296, None, None), (1080, 1296));
    }
}
