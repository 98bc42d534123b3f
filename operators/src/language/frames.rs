//! Frames for a model under test: N frames sampled uniformly from a clip,
//! scaled down and encoded as JPEG data URLs.

use maflow_engine::data::PixelFormat;
use maflow_engine::registry::FrameStream;

use crate::decode::{DecodeConfig, open_stream};

/// `n` frames of the video at `path`, uniformly spaced, at most `max_side` pixels on their longer side.
pub fn sample_data_urls(path: &std::path::Path, n: usize, max_side: u32) -> Result<Vec<String>, String> {
    let config = DecodeConfig { format: PixelFormat::Rgb, width: None, height: None, fps: None, threads: 2, max_pixels: 4096 * 4096 };
    let mut stream = open_stream(&config, path)?;
    let mut frames = Vec::new();
    while let Some(frame) = stream.next_frame()? {
        frames.push(frame);
    }
    if frames.is_empty() {
        return Err(format!("{}: no frames", path.display()));
    }
    let picks: Vec<usize> = (0..n.max(1)).map(|k| ((k as f64 + 0.5) * frames.len() as f64 / n.max(1) as f64) as usize).collect();
    picks
        .into_iter()
        .map(|i| {
            let f = &frames[i.min(frames.len() - 1)];
            let scale = (f64::from(max_side) / f64::from(f.width.max(f.height))).min(1.0);
            let (w, h) = (((f64::from(f.width) * scale) as u32).max(1), ((f64::from(f.height) * scale) as u32).max(1));
            let mut rgb = Vec::with_capacity((w * h * 3) as usize);
            for y in 0..h {
                let sy = ((f64::from(y) + 0.5) / scale) as usize;
                for x in 0..w {
                    let sx = ((f64::from(x) + 0.5) / scale) as usize;
                    let at = (sy.min(f.height as usize - 1) * f.width as usize + sx.min(f.width as usize - 1)) * 3;
                    rgb.extend_from_slice(&f.data[at..at + 3]);
                }
            }
            let mut jpeg = Vec::new();
            jpeg_encoder::Encoder::new(&mut jpeg, 85)
                .encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
                .map_err(|e| format!("JPEG encoding: {e}"))?;
            Ok(format!("data:image/jpeg;base64,{}", base64(&jpeg)))
        })
        .collect()
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
