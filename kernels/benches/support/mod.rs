//! What the kernels' benches share: two consecutive frames of a real MA-52
//! clip as grey images, decoded by the `ffmpeg` command (scripts/setup.sh
//! installs it), so that the kernels' benches need no decoder of their own.

use std::path::PathBuf;
use std::process::Command;

use maflow_kernels::flow::image::GrayImage;

/// The sample clip the benches read: a seated participant, 1080×1296.
pub const CLIP: &str = "0030_01_0002";

/// Frames 10 and 11 of [`CLIP`], grey (the luma plane), at `size` (None: its own size).
pub fn ma52_frames(size: Option<(u32, u32)>) -> (GrayImage, GrayImage) {
    let clip = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/ma52/videos")
        .join(format!("{CLIP}.mp4"));
    let mut filters = String::from(r"select=between(n\,10\,11)");
    if let Some((w, h)) = size {
        filters.push_str(&format!(",scale={w}:{h}"));
    }
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&clip)
        .args([
            "-vf",
            &filters,
            "-fps_mode",
            "passthrough",
            "-pix_fmt",
            "gray",
        ])
        .args(["-f", "image2pipe", "-c:v", "pgm", "-"])
        .output()
        .expect("the ffmpeg command runs (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "ffmpeg on {}: {}",
        clip.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let (a, rest) = pgm(&out.stdout);
    let (b, _) = pgm(rest);
    (a, b)
}

/// One binary PGM image (`P5 width height 255`, one space or newline between
/// fields, as ffmpeg writes them) and the bytes after it.
fn pgm(bytes: &[u8]) -> (GrayImage, &[u8]) {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        let end = at
            + bytes[at..]
                .iter()
                .position(u8::is_ascii_whitespace)
                .expect("a PGM header");
        fields.push(
            std::str::from_utf8(&bytes[at..end])
                .expect("an ASCII header")
                .to_string(),
        );
        at = end + 1;
    }
    assert_eq!(
        (fields[0].as_str(), fields[3].as_str()),
        ("P5", "255"),
        "8-bit binary PGM"
    );
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = &bytes[at..at + w * h];
    (GrayImage::from_u8(w, h, pixels), &bytes[at + w * h..])
}
