//! Rotated-rectangle crops of 8-bit images into float tensors, and back.
//!
//! Neural models take a fixed-size, upright view of a region of a frame: a
//! person's box for the pose detector (letterboxed), a rotated square around
//! the body for the landmark model, the person crop for segmentation. A
//! [`RotatedRect`] names the region in frame pixels; [`crop_to_tensor`]
//! resamples it (bilinear, with supersampling when shrinking, so small
//! tensors of large frames do not alias), and [`RotatedRect::to_image`] maps
//! a point of the tensor back to the frame.

use crate::resize::ImageView;

/// A rectangle of a frame, in pixels, turned by `rotation` radians
/// (clockwise on screen, y down) around its centre.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RotatedRect {
    /// Centre x.
    pub cx: f32,
    /// Centre y.
    pub cy: f32,
    /// Width along the rectangle's own x axis.
    pub width: f32,
    /// Height along its own y axis.
    pub height: f32,
    /// Rotation in radians.
    pub rotation: f32,
}

impl RotatedRect {
    /// The upright rectangle that fits a `width × height` frame inside a
    /// `aspect` (w/h) box, centred, padding the short side (letterbox).
    pub fn letterbox(width: usize, height: usize, aspect: f32) -> Self {
        let (w, h) = (width as f32, height as f32);
        let (bw, bh) = if w / h > aspect { (w, w / aspect) } else { (h * aspect, h) };
        Self { cx: w / 2.0, cy: h / 2.0, width: bw, height: bh, rotation: 0.0 }
    }

    /// The frame point under normalised rectangle coordinates `(u, v)` in
    /// [0, 1]² (0,0 the rectangle's top-left corner before rotation).
    pub fn to_image(&self, u: f32, v: f32) -> (f32, f32) {
        let (s, c) = self.rotation.sin_cos();
        let dx = (u - 0.5) * self.width;
        let dy = (v - 0.5) * self.height;
        (self.cx + dx * c - dy * s, self.cy + dx * s + dy * c)
    }

    /// The normalised rectangle coordinates of a frame point (inverse of [`to_image`](Self::to_image)).
    pub fn to_rect(&self, x: f32, y: f32) -> (f32, f32) {
        let (s, c) = self.rotation.sin_cos();
        let (dx, dy) = (x - self.cx, y - self.cy);
        ((dx * c + dy * s) / self.width + 0.5, (-dx * s + dy * c) / self.height + 0.5)
    }
}

/// Samples `rect` of `src` (RGB or gray) into an `out_w × out_h` HWC float
/// tensor with the same channels, each value `byte * scale + offset`;
/// outside the frame the pixel is `offset` (black).
///
/// # Panics
/// When `out` does not hold `out_w * out_h * channels` values.
pub fn crop_to_tensor(src: ImageView<'_>, rect: &RotatedRect, out_w: usize, out_h: usize, scale: f32, offset: f32, out: &mut [f32]) {
    let ch = src.channels;
    assert_eq!(out.len(), out_w * out_h * ch, "tensor size");
    let (s, c) = rect.rotation.sin_cos();
    // Frame pixels per tensor pixel along each axis: sample that many points per side (up to 4).
    let step_u = rect.width / out_w as f32;
    let step_v = rect.height / out_h as f32;
    let taps = (step_u.max(step_v).ceil() as usize).clamp(1, 4);
    let weight = 1.0 / (taps * taps) as f32;
    let mut acc = vec![0f32; ch];
    for oy in 0..out_h {
        for ox in 0..out_w {
            acc.iter_mut().for_each(|a| *a = 0.0);
            for ty in 0..taps {
                let v = (oy as f32 + (ty as f32 + 0.5) / taps as f32) / out_h as f32;
                for tx in 0..taps {
                    let u = (ox as f32 + (tx as f32 + 0.5) / taps as f32) / out_w as f32;
                    let dx = (u - 0.5) * rect.width;
                    let dy = (v - 0.5) * rect.height;
                    // Pixel centres sit at integer + 0.5.
                    let x = rect.cx + dx * c - dy * s - 0.5;
                    let y = rect.cy + dx * s + dy * c - 0.5;
                    bilinear_add(src, x, y, &mut acc);
                }
            }
            let o = (oy * out_w + ox) * ch;
            for k in 0..ch {
                out[o + k] = acc[k] * weight * scale + offset;
            }
        }
    }
}

/// Adds the bilinear sample of `src` at (x, y) (pixel-centre coordinates) to
/// `acc`; pixels outside the frame count as 0.
fn bilinear_add(src: ImageView<'_>, x: f32, y: f32, acc: &mut [f32]) {
    let (w, h, ch) = (src.width as isize, src.height as isize, src.channels);
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as isize, y0 as isize);
    for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
        let yy = y0 + dy;
        if yy < 0 || yy >= h || wy == 0.0 {
            continue;
        }
        let row = &src.data[yy as usize * src.stride..];
        for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
            let xx = x0 + dx;
            if xx < 0 || xx >= w || wx == 0.0 {
                continue;
            }
            let p = &row[xx as usize * ch..xx as usize * ch + ch];
            for k in 0..ch {
                acc[k] += wy * wx * f32::from(p[k]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(data: &[u8], w: usize, h: usize) -> ImageView<'_> {
        ImageView { data, width: w, height: h, stride: w, channels: 1 }
    }

    #[test]
    fn upright_full_crop_at_same_size_copies_the_image() {
        let data: Vec<u8> = (0..48).map(|i| (i * 5) as u8).collect();
        let rect = RotatedRect { cx: 4.0, cy: 3.0, width: 8.0, height: 6.0, rotation: 0.0 };
        let mut out = vec![0.0; 48];
        crop_to_tensor(view(&data, 8, 6), &rect, 8, 6, 1.0, 0.0, &mut out);
        for (a, b) in out.iter().zip(&data) {
            assert!((a - f32::from(*b)).abs() < 1e-3, "{a} vs {b}");
        }
    }

    #[test]
    fn quarter_turn_rotates_the_content() {
        // A bright pixel right of the centre: wherever the turned crop shows it,
        // mapping that crop pixel back must land on it, and not where an upright crop would.
        let mut data = vec![0u8; 81];
        data[4 * 9 + 7] = 255; // (x=7, y=4), centre is (4.5, 4.5)
        let rect = RotatedRect { cx: 4.5, cy: 4.5, width: 9.0, height: 9.0, rotation: std::f32::consts::FRAC_PI_2 };
        let mut out = vec![0.0; 81];
        crop_to_tensor(view(&data, 9, 9), &rect, 9, 9, 1.0, 0.0, &mut out);
        let brightest = out.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        let (ox, oy) = (brightest % 9, brightest / 9);
        let (x, y) = rect.to_image((ox as f32 + 0.5) / 9.0, (oy as f32 + 0.5) / 9.0);
        assert!((x - 7.5).abs() < 0.6 && (y - 4.5).abs() < 0.6, "crop ({ox},{oy}) maps to ({x},{y})");
        assert!(ox == 4 && oy < 4, "a quarter turn moves it off the crop's centre row: ({ox},{oy})");
    }

    #[test]
    fn to_rect_inverts_to_image() {
        let rect = RotatedRect { cx: 100.0, cy: 50.0, width: 80.0, height: 40.0, rotation: 0.7 };
        for (u, v) in [(0.0, 0.0), (0.3, 0.9), (1.0, 0.5)] {
            let (x, y) = rect.to_image(u, v);
            let (u2, v2) = rect.to_rect(x, y);
            assert!((u - u2).abs() < 1e-5 && (v - v2).abs() < 1e-5);
        }
    }

    #[test]
    fn letterbox_pads_the_short_side() {
        let r = RotatedRect::letterbox(1080, 1296, 1.0);
        assert_eq!((r.width, r.height), (1296.0, 1296.0));
        let r = RotatedRect::letterbox(1920, 1080, 1.0);
        assert_eq!((r.width, r.height), (1920.0, 1920.0));
    }

    #[test]
    fn outside_the_frame_is_the_offset() {
        let data = vec![200u8; 16];
        let rect = RotatedRect { cx: 100.0, cy: 100.0, width: 4.0, height: 4.0, rotation: 0.0 };
        let mut out = vec![0.0; 16];
        crop_to_tensor(view(&data, 4, 4), &rect, 4, 4, 2.0 / 255.0, -1.0, &mut out);
        assert!(out.iter().all(|&v| v == -1.0));
    }
}
