//! What a model under test sees of a clip: frames sampled by count or by
//! rate, each resized within a pixel budget (per frame and per video) to
//! a multiple of the vision encoder's patch, and sent as JPEG data URLs;
//! or the clip itself as one video part, for servers that sample their own;
//! or the frames MA-Bench's starter kit sends ([`Rule::StarterKit`]).
//! [`Sampled::record`] states which frames went out and at what size.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use maflow_engine::data::{Frame, PixelFormat};
use maflow_engine::registry::FrameStream;

use crate::common::base64;
use crate::frame::decode::{DecodeConfig, open_stream};
use crate::language::llm::Content;

/// How frames reach the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SendAs {
    /// The sampled frames, one `image_url` part each.
    #[default]
    Images,
    /// The clip's file as one `video_url` part; the server samples it.
    Video,
}

/// Which rule picks the frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// By `frames` (spread uniformly) or by `fps`, within the pixel budget.
    #[default]
    Spread,
    /// MA-Bench's starter kit's rule: from frame 0, every `round(fps / 3)`
    /// frames (at most `total / 8` apart), 8 frames at most, at their own
    /// size, JPEG quality 95.
    StarterKit,
}

/// The starter kit's frame rate and frame count.
const KIT_RATE: f64 = 3.0;
const KIT_FRAMES: usize = 8;
const KIT_QUALITY: u8 = 95;
const QUALITY: u8 = 85;

/// The frame indices the starter kit reads of a clip declaring `total` frames at `fps`
/// (those past the clip's last frame are not sent).
pub fn starter_kit_picks(total: usize, fps: f64) -> Vec<usize> {
    // Its runner falls back to 30 fps on a stream without a rate, and rounds half to even.
    let fps = if fps > 0.0 { fps } else { 30.0 };
    let by_rate = (fps / KIT_RATE).round_ties_even() as usize;
    let step = by_rate.min((total / KIT_FRAMES).max(1)).max(1);
    (0..KIT_FRAMES).map(|k| k * step).collect()
}

/// Which frames, and how large.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampling {
    /// The rule; [`Rule::StarterKit`] reads none of the fields below.
    pub rule: Rule,
    /// Frames per clip, spread uniformly (used when `fps` is absent).
    pub frames: usize,
    /// Frames per second of video instead of a count.
    pub fps: Option<f64>,
    /// Most frames a clip sends at `fps`.
    pub max_frames: usize,
    /// Fewest pixels of one frame (smaller frames are scaled up).
    pub min_pixels: u64,
    /// Most pixels of one frame.
    pub max_pixels: u64,
    /// Most pixels of all of a clip's frames together.
    pub video_pixels: Option<u64>,
    /// Sides are multiples of this (the encoder's patch times its merge).
    pub multiple: u32,
    /// Frames as images, or the clip as a video.
    pub send: SendAs,
}

/// A clip as the model sees it: the content parts and what they hold.
#[derive(Clone, Debug)]
pub struct Sampled {
    /// The `image_url` or `video_url` parts, in time order.
    pub parts: Vec<Content>,
    /// `{"send", "indices", "width", "height", "source": {frames, fps, width, height}}`.
    pub record: Value,
}

/// The source video as the first look finds it.
struct Source {
    frames: usize,
    fps: f64,
    width: u32,
    height: u32,
}

fn decode_config(width: Option<u32>, height: Option<u32>) -> DecodeConfig {
    DecodeConfig {
        format: PixelFormat::Rgb,
        width,
        height,
        fps: None,
        threads: 2,
        max_pixels: 4096 * 4096,
    }
}

/// Frame count, rate and size of the video at `path`; a container that does
/// not declare its frame count is read through once to count.
fn probe(path: &std::path::Path) -> Result<Source, String> {
    let config = decode_config(None, None);
    let stream = open_stream(&config, path)?;
    let info = stream.info().clone();
    let frames = match info.declared_frames {
        Some(declared) if declared > 0 => declared as usize,
        _ => {
            let mut counting = open_stream(&config, path)?;
            let mut count = 0;
            while counting.next_frame()?.is_some() {
                count += 1;
            }
            count
        }
    };
    if frames == 0 {
        return Err(format!("{}: no frames", path.display()));
    }
    Ok(Source {
        frames,
        fps: info.fps,
        width: info.width,
        height: info.height,
    })
}

impl Sampling {
    /// Checks the settings; the message names the param.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.fps.is_none() && self.frames == 0 {
            return Err((
                "frames",
                "`frames` must be at least 1 (a model under test sees the clip)".into(),
            ));
        }
        if let Some(fps) = self.fps
            && !(fps.is_finite() && fps > 0.0)
        {
            return Err((
                "fps",
                format!("`fps` must be a positive number of frames per second, not {fps}"),
            ));
        }
        if self.fps.is_some() && self.max_frames == 0 {
            return Err(("max_frames", "`max_frames` must be at least 1".into()));
        }
        if self.multiple == 0 {
            return Err(("multiple", "`multiple` must be at least 1 pixel".into()));
        }
        let side = u64::from(self.multiple);
        if self.max_pixels < side * side || self.min_pixels > self.max_pixels {
            return Err((
                "max_pixels",
                format!(
                    "`max_pixels` ({}) must hold one {m}×{m} patch and be at least `min_pixels` ({})",
                    self.max_pixels,
                    self.min_pixels,
                    m = self.multiple
                ),
            ));
        }
        Ok(())
    }

    /// How many frames a clip of `frames` frames at `fps` sends.
    fn count(&self, frames: usize, fps: f64) -> usize {
        let n = match self.fps {
            Some(rate) if fps > 0.0 => {
                ((frames as f64 / fps * rate).round() as usize).clamp(1, self.max_frames)
            }
            _ => self.frames.max(1),
        };
        n.min(frames)
    }

    /// The frames of the video at `path`, as the model is to see them.
    pub fn sample(&self, path: &std::path::Path) -> Result<Sampled, String> {
        let source = probe(path)?;
        let source_record = json!({"frames": source.frames, "fps": source.fps, "width": source.width, "height": source.height});
        if self.send == SendAs::Video {
            let bytes =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let url = format!(
                "data:{};base64,{}",
                video_mime(path),
                base64::encode(&bytes)
            );
            let record = json!({"send": "video", "bytes": bytes.len(), "source": source_record});
            return Ok(Sampled {
                parts: vec![Content::VideoUrl(url)],
                record,
            });
        }
        if self.rule == Rule::StarterKit {
            let picks = starter_kit_picks(source.frames, source.fps);
            let (parts, sent) = read_picks(path, None, &picks, false, KIT_QUALITY)?;
            let record = json!({"send": "images", "rule": "starter-kit", "indices": sent, "width": source.width, "height": source.height, "quality": KIT_QUALITY, "source": source_record});
            return Ok(Sampled { parts, record });
        }
        let n = self.count(source.frames, source.fps);
        let picks = uniform_picks(source.frames, n);
        let budget = self.video_pixels.map_or(self.max_pixels, |total| {
            (total / n as u64).min(self.max_pixels)
        });
        let (width, height) = fit(
            source.width,
            source.height,
            self.min_pixels.min(budget),
            budget.max(u64::from(self.multiple).pow(2)),
            self.multiple,
        );
        let (parts, sent) = read_picks(path, Some((width, height)), &picks, true, QUALITY)?;
        let record = json!({"send": "images", "indices": sent, "width": width, "height": height, "source": source_record});
        Ok(Sampled { parts, record })
    }
}

/// The frames at `picks` (ascending) of the video at `path`, at `size` (or
/// their own), as JPEG parts, and the indices sent. Picks past the last
/// frame repeat it when `repeat_last` (a declared count may overstate the
/// frames), else are not sent.
fn read_picks(
    path: &std::path::Path,
    size: Option<(u32, u32)>,
    picks: &[usize],
    repeat_last: bool,
    quality: u8,
) -> Result<(Vec<Content>, Vec<usize>), String> {
    let n = picks.len();
    let config = decode_config(size.map(|s| s.0), size.map(|s| s.1));
    let mut stream = open_stream(&config, path)?;
    let mut parts = Vec::with_capacity(n);
    let mut sent = Vec::with_capacity(n);
    let mut last = None;
    let mut index = 0;
    while parts.len() < n {
        let Some(frame) = stream.next_frame()? else {
            break;
        };
        while parts.len() < n && picks[parts.len()] == index {
            parts.push(Content::ImageUrl(data_url(&frame, quality)?));
            sent.push(index);
        }
        last = Some((index, frame));
        index += 1;
    }
    if repeat_last && let Some((at, frame)) = &last {
        while parts.len() < n {
            parts.push(Content::ImageUrl(data_url(frame, quality)?));
            sent.push(*at);
        }
    }
    if parts.is_empty() {
        return Err(format!("{}: no frames", path.display()));
    }
    Ok((parts, sent))
}

/// `n` frame indices spread uniformly over `total` frames, each at the middle of its share.
pub fn uniform_picks(total: usize, n: usize) -> Vec<usize> {
    (0..n)
        .map(|k| (((k as f64 + 0.5) * total as f64 / n as f64) as usize).min(total - 1))
        .collect()
}

/// The size a `w`×`h` frame is sent at: its aspect kept as nearly as sides
/// that are multiples of `m` allow, its pixels within `min_pixels..=max_pixels`.
pub fn fit(w: u32, h: u32, min_pixels: u64, max_pixels: u64, m: u32) -> (u32, u32) {
    let (wf, hf, mf) = (f64::from(w), f64::from(h), f64::from(m));
    let round = |v: f64| ((v / mf).round().max(1.0) * mf) as u32;
    let (mut fw, mut fh) = (round(wf), round(hf));
    let pixels = |a: u32, b: u32| u64::from(a) * u64::from(b);
    if pixels(fw, fh) > max_pixels {
        let s = (max_pixels as f64 / (wf * hf)).sqrt();
        fw = (((wf * s) / mf).floor().max(1.0) * mf) as u32;
        fh = (((hf * s) / mf).floor().max(1.0) * mf) as u32;
    } else if pixels(fw, fh) < min_pixels {
        let s = (min_pixels as f64 / (wf * hf)).sqrt();
        fw = (((wf * s) / mf).ceil() * mf) as u32;
        fh = (((hf * s) / mf).ceil() * mf) as u32;
    }
    (fw, fh)
}

fn video_mime(path: &std::path::Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("webm") => "video/webm",
        Some("mkv") => "video/x-matroska",
        Some("avi") => "video/x-msvideo",
        Some("mov") => "video/quicktime",
        _ => "video/mp4",
    }
}

/// One RGB frame, already at its size, as a JPEG data URL.
fn data_url(f: &Frame, quality: u8) -> Result<String, String> {
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, quality)
        .encode(
            &f.data,
            f.width as u16,
            f.height as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .map_err(|e| format!("JPEG encoding: {e}"))?;
    Ok(format!("data:image/jpeg;base64,{}", base64::encode(&jpeg)))
}

/// Side of the probe's test card: large enough that every vision encoder
/// spends well over the 16 tokens the probe asks of an image on it (64 at
/// Qwen2-VL's 28-pixel patches, 576 for LLaVA), whatever `max_pixels` is.
const PROBE_SIDE: u32 = 224;

/// A fixed test card (a red disc on blue), 224 pixels square, as a JPEG
/// data URL: the same bytes in every run, so the image probe is cached.
pub fn probe_image() -> String {
    let side = PROBE_SIDE;
    let c = f64::from(side) / 2.0;
    let mut rgb = Vec::with_capacity((side * side * 3) as usize);
    for y in 0..side {
        for x in 0..side {
            let inside = (f64::from(x) + 0.5 - c).hypot(f64::from(y) + 0.5 - c) < c * 0.6;
            rgb.extend_from_slice(if inside {
                &[220, 30, 30]
            } else {
                &[30, 60, 200]
            });
        }
    }
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, QUALITY)
        .encode(&rgb, side as u16, side as u16, jpeg_encoder::ColorType::Rgb)
        .expect("a small RGB image encodes");
    format!("data:image/jpeg;base64,{}", base64::encode(&jpeg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_fit_the_budget_in_whole_patches_and_keep_their_aspect() {
        // MA-52's 1080×1296 under Qwen2.5-VL's video budget per frame.
        let (w, h) = fit(1080, 1296, 16 * 32 * 32, 448 * 448, 28);
        assert!(
            (w % 28, h % 28) == (0, 0) && u64::from(w * h) <= 448 * 448,
            "{w}×{h}"
        );
        assert!(((f64::from(w) / f64::from(h)) - 1080.0 / 1296.0).abs() < 0.05);
        assert!(
            u64::from(w * h) > 448 * 448 * 8 / 10,
            "the budget is nearly used: {w}×{h}"
        );
        assert_eq!(
            fit(1080, 1296, 0, u64::MAX, 1),
            (1080, 1296),
            "no budget, no resize"
        );
        let (w, h) = fit(64, 48, 16 * 32 * 32, 1280 * 32 * 32, 32);
        assert!(
            u64::from(w * h) >= 16 * 32 * 32 && (w % 32, h % 32) == (0, 0),
            "small frames are scaled up: {w}×{h}"
        );
    }

    #[test]
    fn a_rate_sets_the_count_within_the_clip_and_the_cap() {
        let s = Sampling {
            rule: Rule::Spread,
            frames: 8,
            fps: Some(3.0),
            max_frames: 32,
            min_pixels: 0,
            max_pixels: 1 << 20,
            video_pixels: None,
            multiple: 28,
            send: SendAs::Images,
        };
        assert_eq!(s.count(75, 30.0), 8, "2.5 s at 3 fps");
        assert_eq!(s.count(3000, 30.0), 32, "capped");
        assert_eq!(s.count(2, 30.0), 1);
        assert_eq!(
            Sampling {
                fps: None,
                ..s.clone()
            }
            .count(75, 30.0),
            8
        );
        assert_eq!(
            Sampling {
                fps: None,
                frames: 100,
                ..s
            }
            .count(75, 30.0),
            75,
            "never more frames than the clip has"
        );
        assert_eq!(uniform_picks(75, 3), vec![12, 37, 62]);
        assert_eq!(uniform_picks(2, 2), vec![0, 1]);
    }

    #[test]
    fn the_starter_kits_rule_steps_by_a_third_of_a_second_from_frame_0() {
        assert_eq!(
            starter_kit_picks(300, 30.0),
            [0, 10, 20, 30, 40, 50, 60, 70]
        );
        // Short clips: at most total / 8 apart; half rounds to even as Python's round does.
        assert_eq!(starter_kit_picks(40, 30.0), [0, 5, 10, 15, 20, 25, 30, 35]);
        assert_eq!(starter_kit_picks(300, 7.5)[1], 2, "round(2.5) is 2");
        assert_eq!(starter_kit_picks(300, 25.0)[1], 8);
        assert_eq!(
            starter_kit_picks(5, 30.0),
            [0, 1, 2, 3, 4, 5, 6, 7],
            "past the end: not sent"
        );
        assert_eq!(starter_kit_picks(300, 0.0)[1], 10, "no rate: 30 fps");
    }
}
