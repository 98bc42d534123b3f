//! Pictures made of frames: which frames to show, and how thumbnails tile
//! into one canvas. Contact sheets, flow and mask overlays and `show` all
//! lay their pictures out this way.

/// `k` frame indices spread evenly over `0..n`, first and last included.
pub fn sample_indices(n: u64, k: usize) -> Vec<u64> {
    if n == 0 {
        return Vec::new();
    }
    let k = (k as u64).min(n);
    if k == 1 {
        return vec![0];
    }
    let mut v: Vec<u64> = (0..k)
        .map(|j| ((j * (n - 1)) as f64 / (k - 1) as f64).round() as u64)
        .collect();
    v.dedup();
    v
}

/// Layout of equal-size thumbnails in rows on a dark background.
pub struct Grid {
    /// Thumbnail width and height in pixels.
    pub thumb: (usize, usize),
    /// Interleaved channels per pixel.
    pub channels: usize,
    /// Thumbnails per row (fewer when there are fewer thumbnails).
    pub columns: usize,
    /// Pixels around and between thumbnails.
    pub gap: usize,
}

impl Grid {
    /// Pastes the thumbnails in order; returns the canvas, its width and height.
    pub fn tile(&self, thumbs: &[&[u8]]) -> (Vec<u8>, usize, usize) {
        let ((tw, th), ch, gap) = (self.thumb, self.channels, self.gap);
        let cols = self.columns.min(thumbs.len()).max(1);
        let rows = thumbs.len().div_ceil(cols);
        let (w, h) = (cols * tw + (cols + 1) * gap, rows * th + (rows + 1) * gap);
        let mut canvas = vec![40u8; w * h * ch];
        for (n, thumb) in thumbs.iter().enumerate() {
            let (x0, y0) = (gap + (n % cols) * (tw + gap), gap + (n / cols) * (th + gap));
            for y in 0..th {
                let dst = ((y0 + y) * w + x0) * ch;
                canvas[dst..dst + tw * ch].copy_from_slice(&thumb[y * tw * ch..(y + 1) * tw * ch]);
            }
        }
        (canvas, w, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_span_first_to_last() {
        assert_eq!(sample_indices(75, 8), [0, 11, 21, 32, 42, 53, 63, 74]);
        assert_eq!(sample_indices(3, 8), [0, 1, 2]);
        assert_eq!(sample_indices(10, 1), [0]);
        assert!(sample_indices(0, 4).is_empty());
    }
}
