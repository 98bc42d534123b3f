//! Still images on disk: PNG in as 8-bit luma, RGB out as PNG.

use std::path::Path;

use crate::luma::luma;

/// An 8-bit gray picture.
#[derive(Clone, Debug)]
pub struct GrayPicture {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major luma.
    pub data: Vec<u8>,
}

/// Reads a PNG (gray, gray+alpha, RGB or RGBA; 8 or 16 bits) as luma with BT.601 weights.
pub fn read_gray_png(path: &Path) -> Result<GrayPicture, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("{} is not a readable PNG: {e}", path.display()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| format!("{}: image too large", path.display()))?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("{}: corrupt PNG data: {e}", path.display()))?;
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let stride = info.line_size;
    let mut data = Vec::with_capacity(w * h);
    for y in 0..h {
        let row = &buf[y * stride..y * stride + w * channels];
        for px in row.chunks_exact(channels) {
            data.push(match channels {
                1 | 2 => px[0],
                _ => luma(px[0], px[1], px[2]),
            });
        }
    }
    Ok(GrayPicture {
        width: w,
        height: h,
        data,
    })
}

/// Encodes RGB bytes as PNG.
pub fn encode_rgb_png(rgb: &[u8], width: usize, height: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width as u32, height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(rgb).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_real_middlebury_frame_as_luma() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/middlebury/Grove2/frame10.png"
        ));
        let pic = read_gray_png(path).unwrap();
        assert_eq!(
            (pic.width, pic.height, pic.data.len()),
            (640, 480, 640 * 480)
        );
        let mean = pic.data.iter().map(|&v| f64::from(v)).sum::<f64>() / pic.data.len() as f64;
        assert!((20.0..235.0).contains(&mean), "{mean}");
        let err = read_gray_png(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/data/bad/text.mp4"
        )))
        .unwrap_err();
        assert!(err.contains("not a readable PNG"), "{err}");
    }

    #[test]
    fn rgb_png_round_trips() {
        let rgb: Vec<u8> = (0..2 * 3 * 3).map(|v| v as u8 * 10).collect();
        let bytes = encode_rgb_png(&rgb, 2, 3).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        assert_eq!(buf, rgb);
    }
}
