//! Frames for a model under test: N frames sampled uniformly from a clip,
//! scaled down and encoded as JPEG data URLs.

use maflow_engine::data::{Frame, PixelFormat};
use maflow_engine::registry::FrameStream;

use crate::frame::decode::{DecodeConfig, open_stream};

/// `n` frames of the video at `path`, uniformly spaced, at most `max_side`
/// pixels on their longer side. Only the picked frames are kept, each encoded
/// as it is decoded; a container that does not declare its frame count is
/// read twice (once to count).
pub fn sample_data_urls(path: &std::path::Path, n: usize, max_side: u32) -> Result<Vec<String>, String> {
    let config = DecodeConfig { format: PixelFormat::Rgb, width: None, height: None, fps: None, threads: 2, max_pixels: 4096 * 4096 };
    let mut stream = open_stream(&config, path)?;
    let total = match stream.info().declared_frames {
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
    if total == 0 {
        return Err(format!("{}: no frames", path.display()));
    }
    let n = n.max(1);
    let picks: Vec<usize> = (0..n).map(|k| ((k as f64 + 0.5) * total as f64 / n as f64) as usize).collect();
    let mut urls = Vec::with_capacity(n);
    let mut last = None;
    let mut index = 0;
    while urls.len() < n {
        let Some(frame) = stream.next_frame()? else { break };
        while urls.len() < n && picks[urls.len()] == index {
            urls.push(data_url(&frame, max_side)?);
        }
        last = Some(frame);
        index += 1;
    }
    // A declared count may overstate the frames: the missing picks repeat the last frame.
    if let Some(frame) = &last {
        while urls.len() < n {
            urls.push(data_url(frame, max_side)?);
        }
    }
    if urls.is_empty() {
        return Err(format!("{}: no frames", path.display()));
    }
    Ok(urls)
}

/// One RGB frame, scaled down (nearest pixel) and encoded as a JPEG data URL.
fn data_url(f: &Frame, max_side: u32) -> Result<String, String> {
    let scale = (f64::from(max_side) / f64::from(f.width.max(f.height))).min(1.0);
    let (w, h) = (((f64::from(f.width) * scale) as u32).max(1), ((f64::from(f.height) * scale) as u32).max(1));
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        let sy = (((f64::from(y) + 0.5) / scale) as usize).min(f.height as usize - 1);
        for x in 0..w {
            let sx = (((f64::from(x) + 0.5) / scale) as usize).min(f.width as usize - 1);
            let at = (sy * f.width as usize + sx) * 3;
            rgb.extend_from_slice(&f.data[at..at + 3]);
        }
    }
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 85)
        .encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| format!("JPEG encoding: {e}"))?;
    Ok(format!("data:image/jpeg;base64,{}", base64(&jpeg)))
}

/// Side of the probe's test card: large enough that every vision encoder
/// spends well over the 16 tokens the probe asks of an image on it (64 at
/// Qwen2-VL's 28-pixel patches, 576 for LLaVA), whatever `frame_side` is.
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
            rgb.extend_from_slice(if inside { &[220, 30, 30] } else { &[30, 60, 200] });
        }
    }
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 85)
        .encode(&rgb, side as u16, side as u16, jpeg_encoder::ColorType::Rgb)
        .expect("a small RGB image encodes");
    format!("data:image/jpeg;base64,{}", base64(&jpeg))
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_rfc_examples() {
        for (raw, enc) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(super::base64(raw.as_bytes()), enc);
        }
    }
}
