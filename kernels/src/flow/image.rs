//! Float gray images for flow: pyramid levels, gradients and bilinear sampling.

use rayon::prelude::*;

use super::planes::PlanePool;
use crate::resize::{ImageView, coverage};

/// Pixels a parallel task covers at least: a row loop split finer costs more
/// in scheduling than it gains (small pyramid levels have a few thousand pixels).
const TASK_PIXELS: usize = 2048;

/// Rows per parallel task for rows of `w` pixels (the minimum length of a
/// parallel iterator over rows).
pub(crate) fn rows_per_task(w: usize) -> usize {
    (TASK_PIXELS / w.max(1)).max(1)
}

/// A gray image with f32 intensities (0..255 for 8-bit input), row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct GrayImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height` intensities.
    pub data: Vec<f32>,
}

impl GrayImage {
    /// The pixels of `window`, which lies inside the image.
    pub fn window(&self, window: Window) -> GrayImage {
        let mut data = Vec::with_capacity(window.width * window.height);
        for row in window.y..window.y + window.height {
            let start = row * self.width + window.x;
            data.extend_from_slice(&self.data[start..start + window.width]);
        }
        GrayImage {
            width: window.width,
            height: window.height,
            data,
        }
    }

    /// From 8-bit luma.
    pub fn from_u8(width: usize, height: usize, data: &[u8]) -> Self {
        assert_eq!(
            data.len(),
            width * height,
            "buffer size does not match {width}x{height}"
        );
        Self {
            width,
            height,
            data: data.iter().map(|&v| f32::from(v)).collect(),
        }
    }

    /// Value at integer coordinates, clamped to the border.
    #[inline]
    pub fn at(&self, x: isize, y: isize) -> f32 {
        let x = x.clamp(0, self.width as isize - 1) as usize;
        let y = y.clamp(0, self.height as isize - 1) as usize;
        self.data[y * self.width + x]
    }

    /// Bilinear sample with border clamping.
    #[inline(always)]
    pub fn sample(&self, x: f32, y: f32) -> f32 {
        let (w, h, data) = (self.width, self.height, &self.data);
        let x = x.clamp(0.0, (w - 1) as f32);
        let y = y.clamp(0.0, (h - 1) as f32);
        // Both are non-negative here, where truncation is the floor (and needs no libm call).
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let (row0, row1) = (y0 * w, y1 * w);
        let top = data[row0 + x0] + fx * (data[row0 + x1] - data[row0 + x0]);
        let bottom = data[row1 + x0] + fx * (data[row1 + x1] - data[row1 + x0]);
        top + fy * (bottom - top)
    }

    /// Sobel gradients scaled to intensity per pixel (kernel sum 8 divided out), borders replicated.
    pub fn gradients(&self) -> (GrayImage, GrayImage) {
        self.gradients_in(&PlanePool::default())
    }

    /// [`Self::gradients`] into planes from `pool`.
    pub fn gradients_in(&self, pool: &PlanePool) -> (GrayImage, GrayImage) {
        let (w, h) = (self.width, self.height);
        let mut gx = pool.scratch(w * h);
        let mut gy = pool.scratch(w * h);
        gx.par_chunks_mut(w)
            .zip(gy.par_chunks_mut(w))
            .enumerate()
            .with_min_len(rows_per_task(w))
            .for_each(|(y, (gx, gy))| {
                let line = |y: usize| &self.data[y * w..][..w];
                let (up, mid, down) =
                    (line(y.saturating_sub(1)), line(y), line((y + 1).min(h - 1)));
                let at = |x: usize, xm: usize, xp: usize| {
                    let gx = ((up[xp] + 2.0 * mid[xp] + down[xp])
                        - (up[xm] + 2.0 * mid[xm] + down[xm]))
                        / 8.0;
                    let gy = ((down[xm] + 2.0 * down[x] + down[xp])
                        - (up[xm] + 2.0 * up[x] + up[xp]))
                        / 8.0;
                    (gx, gy)
                };
                (gx[0], gy[0]) = at(0, 0, 1.min(w - 1));
                (gx[w - 1], gy[w - 1]) = at(w - 1, w.saturating_sub(2), w - 1);
                if w > 2 {
                    // Interior on shifted slices, which the compiler vectorises.
                    let n = w - 2;
                    let (ul, uc, ur) = (&up[..n], &up[1..][..n], &up[2..][..n]);
                    let (ml, mr) = (&mid[..n], &mid[2..][..n]);
                    let (dl, dc, dr) = (&down[..n], &down[1..][..n], &down[2..][..n]);
                    let (ox, oy) = (&mut gx[1..][..n], &mut gy[1..][..n]);
                    for k in 0..n {
                        ox[k] =
                            ((ur[k] + 2.0 * mr[k] + dr[k]) - (ul[k] + 2.0 * ml[k] + dl[k])) / 8.0;
                        oy[k] =
                            ((dl[k] + 2.0 * dc[k] + dr[k]) - (ul[k] + 2.0 * uc[k] + ur[k])) / 8.0;
                    }
                }
            });
        (
            GrayImage {
                width: w,
                height: h,
                data: gx,
            },
            GrayImage {
                width: w,
                height: h,
                data: gy,
            },
        )
    }
}

/// `x.floor()` for |x| < 2³¹, without a libm call on baseline x86-64.
#[inline(always)]
pub fn floor(x: f32) -> f32 {
    let t = x as i32 as f32;
    if t > x { t - 1.0 } else { t }
}

/// A box of an image, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Left column.
    pub x: usize,
    /// Top row.
    pub y: usize,
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
}

/// The `window` (in output pixels) of an 8-bit image shrunk by `k`: output
/// pixel (x, y) is the mean of the `k × k` block at `((window.x + x)·k,
/// (window.y + y)·k)`, in `storage` (reused), rows in parallel. A gray image
/// is read as it is; an RGB one as its BT.601 luma rounded to a byte
/// ([`luma`](crate::luma::luma)), converted only inside the window. Over
/// the whole image this equals [`GrayImage::from_u8`] of the luma then
/// [`area_resize_f32`] bit for bit (block sums of bytes are exact in f32),
/// with neither the full-size copies nor the coverage tables.
///
/// # Panics
/// When the window's blocks do not fit in the image, or it has other than 1 or 3 channels.
pub fn block_mean_window(
    src: ImageView<'_>,
    k: usize,
    window: Window,
    mut storage: Vec<f32>,
) -> GrayImage {
    let ch = src.channels;
    assert!(ch == 1 || ch == 3, "gray or RGB images");
    assert!(
        k > 0
            && (window.x + window.width) * k <= src.width
            && (window.y + window.height) * k <= src.height,
        "{window:?} at 1/{k} is not inside {}x{}",
        src.width,
        src.height
    );
    let (ow, oh) = (window.width, window.height);
    storage.clear();
    storage.resize(ow * oh, 0.0);
    let area = (k * k) as f32;
    let columns = window.x * k * ch..(window.x + ow) * k * ch;
    storage
        .par_chunks_mut(ow.max(1))
        .with_min_len(rows_per_task(ow))
        .enumerate()
        .for_each_init(
            || (vec![0u32; ow * k], [vec![0u8; ow * k], vec![0u8; ow * k]]),
            |(sums, [upper, lower]), (y, out)| {
                let first = (window.y + y) * k;
                if k == 2 {
                    // The scale-½ working image: each output is two bytes of two
                    // rows, in a loop the compiler vectorises.
                    let (a, b) = (
                        luma_row(&src, first, columns.clone(), upper),
                        luma_row(&src, first + 1, columns.clone(), lower),
                    );
                    for ((o, a), b) in out
                        .iter_mut()
                        .zip(a.as_chunks::<2>().0)
                        .zip(b.as_chunks::<2>().0)
                    {
                        let sum =
                            u16::from(a[0]) + u16::from(a[1]) + u16::from(b[0]) + u16::from(b[1]);
                        *o = f32::from(sum) / area;
                    }
                    return;
                }
                sums.fill(0);
                for r in 0..k {
                    for (s, &p) in
                        sums.iter_mut()
                            .zip(luma_row(&src, first + r, columns.clone(), upper))
                    {
                        *s += u32::from(p);
                    }
                }
                for (o, block) in out.iter_mut().zip(sums.chunks_exact(k)) {
                    *o = block.iter().sum::<u32>() as f32 / area;
                }
            },
        );
    GrayImage {
        width: ow,
        height: oh,
        data: storage,
    }
}

/// The bytes of row `row` of `src` in `columns` as luma: a gray row itself,
/// an RGB row converted into `buffer`.
fn luma_row<'a>(
    src: &ImageView<'a>,
    row: usize,
    columns: std::ops::Range<usize>,
    buffer: &'a mut [u8],
) -> &'a [u8] {
    let bytes = &src.data[row * src.stride..][columns];
    if src.channels == 1 {
        return bytes;
    }
    crate::luma::luma_of_rgb(bytes, buffer);
    buffer
}

/// Exact box-filter resize of a float image (the coverage of [`crate::resize`]).
pub fn area_resize_f32(src: &GrayImage, width: usize, height: usize) -> GrayImage {
    let (xs, ys) = (coverage(src.width, width), coverage(src.height, height));
    let mut out = vec![0.0; width * height];
    let mut row = vec![0.0f32; src.width];
    for (y, yspan) in ys.iter().enumerate() {
        row.iter_mut().for_each(|v| *v = 0.0);
        for &(sy, wy) in &yspan.taps {
            for (acc, &p) in row
                .iter_mut()
                .zip(&src.data[sy * src.width..(sy + 1) * src.width])
            {
                *acc += wy * p;
            }
        }
        for (x, xspan) in xs.iter().enumerate() {
            let sum: f32 = xspan.taps.iter().map(|&(sx, wx)| wx * row[sx]).sum();
            out[y * width + x] = sum / (xspan.total * yspan.total);
        }
    }
    GrayImage {
        width,
        height,
        data: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_means_of_bytes_equal_the_float_area_resize() {
        let (w, h) = (60, 36);
        let data: Vec<u8> = (0..w * h)
            .map(|i| ((i * 7919 + i / 13) % 256) as u8)
            .collect();
        for k in [1, 2, 3, 4] {
            let gray = ImageView {
                data: &data,
                width: w,
                height: h,
                stride: w,
                channels: 1,
            };
            let whole = Window {
                x: 0,
                y: 0,
                width: w / k,
                height: h / k,
            };
            let fast = block_mean_window(gray, k, whole, Vec::new());
            let slow = area_resize_f32(&GrayImage::from_u8(w, h, &data), w / k, h / k);
            assert_eq!(fast, slow, "k = {k}");
            // A window is that image's box.
            let window = Window {
                x: 1,
                y: 2,
                width: w / k - 3,
                height: h / k - 4,
            };
            let inside = block_mean_window(gray, k, window, Vec::new());
            for y in 0..window.height {
                for x in 0..window.width {
                    assert_eq!(
                        inside.data[y * window.width + x],
                        slow.data[(y + 2) * (w / k) + x + 1]
                    );
                }
            }
            // RGB is read as its rounded luma.
            let rgb: Vec<u8> = (0..w * h * 3)
                .map(|i| ((i * 31 + i / 7) % 256) as u8)
                .collect();
            let luma: Vec<u8> = rgb
                .chunks_exact(3)
                .map(|p| crate::luma::luma(p[0], p[1], p[2]))
                .collect();
            let colour = ImageView {
                data: &rgb,
                stride: w * 3,
                channels: 3,
                ..gray
            };
            let of_luma = ImageView {
                data: &luma,
                ..gray
            };
            assert_eq!(
                block_mean_window(colour, k, window, Vec::new()),
                block_mean_window(of_luma, k, window, Vec::new())
            );
        }
    }

    #[test]
    fn a_window_takes_its_boxs_pixels() {
        let image = GrayImage {
            width: 6,
            height: 4,
            data: (0..24).map(|v| v as f32).collect(),
        };
        let window = Window {
            x: 2,
            y: 1,
            width: 3,
            height: 2,
        };
        assert_eq!(
            image.window(window).data,
            [8.0, 9.0, 10.0, 14.0, 15.0, 16.0]
        );
    }

    #[test]
    fn bilinear_sampling_and_gradients_of_a_ramp() {
        let data: Vec<u8> = (0..5)
            .flat_map(|_| (0..6).map(|x| (x * 10) as u8))
            .collect();
        let img = GrayImage::from_u8(6, 5, &data);
        assert!((img.sample(2.25, 1.5) - 22.5).abs() < 1e-4);
        let (gx, gy) = img.gradients();
        assert!((gx.data[2 * 6 + 3] - 10.0).abs() < 1e-5);
        assert!(gy.data[2 * 6 + 3].abs() < 1e-5);
    }

    #[test]
    fn area_resize_halves_blocks() {
        let img = GrayImage {
            width: 4,
            height: 2,
            data: vec![0.0, 2.0, 4.0, 6.0, 2.0, 4.0, 6.0, 8.0],
        };
        assert_eq!(area_resize_f32(&img, 2, 1).data, vec![2.0, 6.0]);
    }
}
