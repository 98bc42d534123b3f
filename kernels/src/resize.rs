//! Area-average downscaling of interleaved 8-bit images.
//!
//! Used for thumbnails (contact sheets, report pictures): averaging every
//! source pixel that a destination pixel covers avoids the aliasing of
//! nearest-neighbour or bilinear sampling when shrinking by large factors.

/// An interleaved 8-bit image borrowed from a larger buffer.
#[derive(Clone, Copy, Debug)]
pub struct ImageView<'a> {
    /// Pixel bytes, `height` rows of `stride` bytes.
    pub data: &'a [u8],
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Bytes between the starts of two rows (at least `width * channels`).
    pub stride: usize,
    /// Interleaved channels per pixel (1 for gray, 3 for RGB).
    pub channels: usize,
}

/// Shrinks (or copies) `src` to `dst_width × dst_height` by area averaging.
///
/// Each destination pixel is the mean of the source rectangle it covers, with
/// fractional coverage at the borders, so the result is the exact box filter.
/// Returns a tightly packed buffer of `dst_width * dst_height * channels` bytes.
///
/// # Panics
/// When the view is inconsistent (buffer too short) or a size is zero: both
/// are caller bugs, not data errors.
pub fn resize_area(src: ImageView<'_>, dst_width: usize, dst_height: usize) -> Vec<u8> {
    let ImageView {
        data,
        width,
        height,
        stride,
        channels,
    } = src;
    assert!(
        width > 0 && height > 0 && dst_width > 0 && dst_height > 0,
        "empty image"
    );
    assert!(stride >= width * channels, "stride shorter than a row");
    assert!(
        data.len() >= stride * (height - 1) + width * channels,
        "buffer shorter than the image"
    );

    let x_spans = coverage(width, dst_width);
    let y_spans = coverage(height, dst_height);
    let mut row_acc = vec![0f32; width * channels];
    let mut out = Vec::with_capacity(dst_width * dst_height * channels);
    for y_span in &y_spans {
        row_acc.iter_mut().for_each(|v| *v = 0.0);
        for &(sy, wy) in &y_span.taps {
            let row = &data[sy * stride..sy * stride + width * channels];
            for (acc, &p) in row_acc.iter_mut().zip(row) {
                *acc += wy * f32::from(p);
            }
        }
        for x_span in &x_spans {
            for c in 0..channels {
                let mut sum = 0.0;
                for &(sx, wx) in &x_span.taps {
                    sum += wx * row_acc[sx * channels + c];
                }
                let value = sum / (x_span.total * y_span.total);
                out.push(value.round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

/// The source pixels one destination pixel covers, with their coverage.
pub(crate) struct Span {
    /// (source index, covered fraction of that source pixel).
    pub(crate) taps: Vec<(usize, f32)>,
    /// Sum of the fractions (the destination pixel's size in source pixels).
    pub(crate) total: f32,
}

/// For each of `dst_len` destination pixels, the source pixels it covers when
/// `src_len` pixels are resized to `dst_len` (the exact box filter).
pub(crate) fn coverage(src_len: usize, dst_len: usize) -> Vec<Span> {
    let scale = src_len as f64 / dst_len as f64;
    (0..dst_len)
        .map(|d| {
            let start = d as f64 * scale;
            let end = ((d + 1) as f64 * scale).min(src_len as f64);
            let mut taps = Vec::new();
            let mut s = start.floor() as usize;
            while (s as f64) < end && s < src_len {
                let lo = start.max(s as f64);
                let hi = end.min((s + 1) as f64);
                if hi > lo {
                    taps.push((s, (hi - lo) as f32));
                }
                s += 1;
            }
            let total = taps.iter().map(|t| t.1).sum();
            Span { taps, total }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(data: &[u8], width: usize, height: usize) -> ImageView<'_> {
        ImageView {
            data,
            width,
            height,
            stride: width,
            channels: 1,
        }
    }

    #[test]
    fn halving_averages_two_by_two_blocks() {
        let src = [
            0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150,
        ];
        let out = resize_area(gray(&src, 4, 4), 2, 2);
        assert_eq!(out, vec![25, 45, 105, 125]);
    }

    #[test]
    fn same_size_is_identity_and_respects_stride() {
        // 3x2 RGB image stored with a 2-byte pad per row.
        let src: Vec<u8> = (0..22).map(|v| v as u8).collect();
        let view = ImageView {
            data: &src,
            width: 3,
            height: 2,
            stride: 11,
            channels: 3,
        };
        let out = resize_area(view, 3, 2);
        let expected: Vec<u8> = (0..9).chain(11..20).map(|v| v as u8).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn non_integer_factor_preserves_mean_of_constant_and_ramp() {
        let src = vec![77u8; 7 * 5];
        assert!(resize_area(gray(&src, 7, 5), 3, 2).iter().all(|&v| v == 77));
        // A horizontal ramp keeps its mean within rounding.
        let ramp: Vec<u8> = (0..5)
            .flat_map(|_| (0..7).map(|x| (x * 30) as u8))
            .collect();
        let out = resize_area(gray(&ramp, 7, 5), 3, 2);
        let mean_in = ramp.iter().map(|&v| f64::from(v)).sum::<f64>() / ramp.len() as f64;
        let mean_out = out.iter().map(|&v| f64::from(v)).sum::<f64>() / out.len() as f64;
        assert!((mean_in - mean_out).abs() < 1.0, "{mean_in} vs {mean_out}");
        assert!(out[0] < out[1] && out[1] < out[2]);
    }
}
