//! Rotated-rectangle crops of 8-bit images into float tensors, and back.
//!
//! Neural models take a fixed-size, upright view of a region of a frame: a
//! person's box for the pose detector (letterboxed), a rotated square around
//! the body for the landmark model, the person crop for segmentation. A
//! [`RotatedRect`] names the region in frame pixels; [`Cropper`] resamples
//! it as an affine warp, one bilinear sample per tensor pixel, and
//! [`RotatedRect::to_image`] maps a point of the tensor back to the frame.
//!
//! When the rectangle shrinks by 2× or more, the samples are taken from a
//! pre-filtered level instead of the frame: the region's bounding box
//! averaged over `k × k` blocks (`k` the whole part of the shrink factor),
//! so what is left for the bilinear step is a shrink under 2×, which does
//! not alias. [`supersampled`] is the slow reference it is tested against
//! (up to 4 × 4 bilinear taps per tensor pixel). With AVX2 the warp takes
//! eight tensor pixels at a time and gives the scalar code's values bit for
//! bit (see `vector`).

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
        let (bw, bh) = if w / h > aspect {
            (w, w / aspect)
        } else {
            (h * aspect, h)
        };
        Self {
            cx: w / 2.0,
            cy: h / 2.0,
            width: bw,
            height: bh,
            rotation: 0.0,
        }
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
        (
            (dx * c + dy * s) / self.width + 0.5,
            (-dx * s + dy * c) / self.height + 0.5,
        )
    }
}

/// Resamples rotated rectangles of frames into model tensors, keeping its
/// pre-filtered level between calls so a crop per frame allocates nothing.
#[derive(Debug, Default)]
pub struct Cropper {
    /// Block means of the region's bounding box (interleaved, `level_w × level_h`).
    level: Vec<f32>,
    /// Column sums of one level row's frame rows, before the blocks: 16
    /// bits hold up to 16 rows (the shrinks models take), 32 any more.
    narrow_row: Vec<u16>,
    wide_row: Vec<u32>,
}

/// The affine map from tensor pixel centres to source pixel-centre
/// coordinates: source = origin + ox · along_x + oy · along_y.
#[derive(Clone, Copy, Debug)]
struct Affine {
    origin: (f32, f32),
    along_x: (f32, f32),
    along_y: (f32, f32),
}

/// A source of samples: 8-bit frame rows or the f32 level.
trait Pixels {
    fn width(&self) -> usize;
    fn height(&self) -> usize;
    fn stride(&self) -> usize;
    fn at(&self, i: usize) -> f32;
    /// The samples, for the vector warp.
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_feature = "avx2")),
        allow(dead_code)
    )]
    fn raw(&self) -> Raw<'_>;
}

/// A source's samples as stored.
#[cfg_attr(
    not(all(target_arch = "x86_64", target_feature = "avx2")),
    allow(dead_code)
)]
enum Raw<'a> {
    Bytes(&'a [u8]),
    Floats(&'a [f32]),
}

impl Pixels for ImageView<'_> {
    fn width(&self) -> usize {
        self.width
    }
    fn height(&self) -> usize {
        self.height
    }
    fn stride(&self) -> usize {
        self.stride
    }
    #[inline(always)]
    fn at(&self, i: usize) -> f32 {
        f32::from(self.data[i])
    }
    fn raw(&self) -> Raw<'_> {
        Raw::Bytes(self.data)
    }
}

/// The level as a source.
struct Level<'a> {
    data: &'a [f32],
    width: usize,
    height: usize,
    channels: usize,
}

impl Pixels for Level<'_> {
    fn width(&self) -> usize {
        self.width
    }
    fn height(&self) -> usize {
        self.height
    }
    fn stride(&self) -> usize {
        self.width * self.channels
    }
    #[inline(always)]
    fn at(&self, i: usize) -> f32 {
        self.data[i]
    }
    fn raw(&self) -> Raw<'_> {
        Raw::Floats(self.data)
    }
}

impl Cropper {
    /// A cropper with empty scratch buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Samples `rect` of `src` (RGB or gray) into an `out_w × out_h` HWC
    /// float tensor with the same channels, each value `byte * scale +
    /// offset`; outside the frame the pixel is `offset` (black).
    ///
    /// # Panics
    /// When `out` does not hold `out_w * out_h * channels` values, or the
    /// image has other than 1 or 3 channels.
    #[allow(clippy::too_many_arguments)]
    pub fn crop(
        &mut self,
        src: ImageView<'_>,
        rect: &RotatedRect,
        out_w: usize,
        out_h: usize,
        scale: f32,
        offset: f32,
        out: &mut [f32],
    ) {
        let ch = src.channels;
        assert_eq!(out.len(), out_w * out_h * ch, "tensor size");
        assert!(ch == 1 || ch == 3, "crops take gray or RGB images");
        let (s, c) = rect.rotation.sin_cos();
        // Frame pixels per tensor pixel; the level takes the whole part of the smaller one.
        let (step_u, step_v) = (rect.width / out_w as f32, rect.height / out_h as f32);
        // (At most 1,024: block sums of bytes stay far inside u32.)
        let block = step_u.min(step_v).floor().min(1024.0);
        // Tensor pixel (ox, oy) has its centre at frame point rect.to_image((ox+0.5)/out_w, (oy+0.5)/out_h);
        // frame pixel centres sit at integer + 0.5.
        let (x00, y00) = rect.to_image(0.5 / out_w as f32, 0.5 / out_h as f32);
        let frame_map = Affine {
            origin: (x00 - 0.5, y00 - 0.5),
            along_x: (step_u * c, step_u * s),
            along_y: (-step_v * s, step_v * c),
        };
        if block.is_nan() || block < 2.0 {
            warp(&src, ch, frame_map, out_w, out_h, scale, offset, out);
            return;
        }
        let k = block as usize;
        // The region's bounding box in whole blocks from a block-aligned corner.
        let corners =
            [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)].map(|(u, v)| rect.to_image(u, v));
        let x_min = corners.iter().map(|p| p.0).fold(f32::MAX, f32::min).floor() - k as f32;
        let y_min = corners.iter().map(|p| p.1).fold(f32::MAX, f32::min).floor() - k as f32;
        let x_max = corners.iter().map(|p| p.0).fold(f32::MIN, f32::max).ceil() + k as f32;
        let y_max = corners.iter().map(|p| p.1).fold(f32::MIN, f32::max).ceil() + k as f32;
        let (x0, y0) = (x_min as isize, y_min as isize);
        let level_w = ((x_max - x_min) as usize).div_ceil(k);
        let level_h = ((y_max - y_min) as usize).div_ceil(k);
        self.reduce(
            &src,
            Blocks {
                x0,
                y0,
                k,
                across: level_w,
                down: level_h,
            },
        );
        let level = Level {
            data: &self.level,
            width: level_w,
            height: level_h,
            channels: ch,
        };
        // Frame coordinate x (pixel-centre based) is level coordinate (x + 0.5 - x0) / k - 0.5.
        let kf = k as f32;
        let to_level = |(x, y): (f32, f32)| {
            (
                (x + 0.5 - x0 as f32) / kf - 0.5,
                (y + 0.5 - y0 as f32) / kf - 0.5,
            )
        };
        let level_map = Affine {
            origin: to_level(frame_map.origin),
            along_x: (frame_map.along_x.0 / kf, frame_map.along_x.1 / kf),
            along_y: (frame_map.along_y.0 / kf, frame_map.along_y.1 / kf),
        };
        warp(&level, ch, level_map, out_w, out_h, scale, offset, out);
    }

    /// Fills the level with the means of `blocks`; pixels off the frame count as 0.
    fn reduce(&mut self, src: &ImageView<'_>, blocks: Blocks) {
        let Blocks {
            x0,
            y0,
            k,
            across,
            down,
        } = blocks;
        let (w, h) = (src.width as isize, src.height as isize);
        // Inside the frame every level value is written below, so the old
        // ones need not be cleared; blocks off the frame stay 0.
        let inside =
            x0 >= 0 && y0 >= 0 && x0 + (across * k) as isize <= w && y0 + (down * k) as isize <= h;
        if !inside {
            self.level.clear();
        }
        self.level.resize(across * down * src.channels, 0.0);
        if k <= 16 {
            reduce_rows(src, blocks, &mut self.narrow_row, &mut self.level);
        } else {
            reduce_rows(src, blocks, &mut self.wide_row, &mut self.level);
        }
    }
}

/// The level's grid: `across × down` blocks of `k × k` frame pixels, the
/// first starting at frame pixel (x0, y0).
#[derive(Clone, Copy, Debug)]
struct Blocks {
    x0: isize,
    y0: isize,
    k: usize,
    across: usize,
    down: usize,
}

/// A column sum of frame bytes.
trait Sum: Copy + Default + From<u8> + std::ops::AddAssign + Into<u32> {}
impl Sum for u16 {}
impl Sum for u32 {}

/// [`Cropper::reduce`] with column sums of type `S` in `row`: each level row
/// sums its `k` frame rows column by column (a straight run of additions),
/// then each block's `k` columns.
fn reduce_rows<S: Sum>(src: &ImageView<'_>, blocks: Blocks, row: &mut Vec<S>, level: &mut [f32]) {
    let Blocks {
        x0,
        y0,
        k,
        across: level_w,
        down: level_h,
    } = blocks;
    let ch = src.channels;
    // The frame columns the level covers.
    let (w, h) = (src.width as isize, src.height as isize);
    let cx0 = x0.max(0);
    let cx1 = (x0 + (level_w * k) as isize).min(w);
    if cx1 <= cx0 {
        return;
    }
    let span = (cx1 - cx0) as usize * ch;
    row.clear();
    row.resize(span, S::default());
    // Level column of the first covered frame column, and how many of its block's columns lie before it.
    let first_column = ((cx0 - x0) as usize) / k;
    let skipped = ((cx0 - x0) as usize) % k;
    let norm = 1.0 / (k * k) as f32;
    let line = |y: isize| &src.data[y as usize * src.stride + cx0 as usize * ch..][..span];
    for ly in 0..level_h {
        let ry0 = (y0 + (ly * k) as isize).max(0);
        let ry1 = (y0 + ((ly + 1) * k) as isize).min(h);
        if ry1 <= ry0 {
            continue;
        }
        for (sum, &v) in row.iter_mut().zip(line(ry0)) {
            *sum = S::from(v);
        }
        for y in ry0 + 1..ry1 {
            for (sum, &v) in row.iter_mut().zip(line(y)) {
                *sum += S::from(v);
            }
        }
        let out = &mut level[ly * level_w * ch..(ly + 1) * level_w * ch];
        match ch {
            1 => sum_blocks::<S, 1>(row, k - skipped, k, &mut out[first_column..], norm),
            _ => sum_blocks::<S, 3>(row, k - skipped, k, &mut out[first_column * 3..], norm),
        }
    }
}

/// Sums `k` columns of `row` (interleaved, `CH` channels) per output pixel,
/// the first block holding only `first` columns, and writes their means.
/// The common shrinks have their own copy with the block width fixed, so
/// that each block is one unrolled run of additions.
fn sum_blocks<S: Sum, const CH: usize>(
    row: &[S],
    first: usize,
    k: usize,
    out: &mut [f32],
    norm: f32,
) {
    let (head, rest) = row.split_at((first * CH).min(row.len()));
    let Some((o, out)) = out.split_at_mut_checked(CH) else {
        return;
    };
    if head.is_empty() {
        return;
    }
    block_mean::<S, CH>(head, o, norm);
    match k {
        2 => whole_blocks::<S, CH, 2>(rest, out, norm),
        3 => whole_blocks::<S, CH, 3>(rest, out, norm),
        4 => whole_blocks::<S, CH, 4>(rest, out, norm),
        5 => whole_blocks::<S, CH, 5>(rest, out, norm),
        6 => whole_blocks::<S, CH, 6>(rest, out, norm),
        _ => {
            for (block, o) in rest.chunks(k * CH).zip(out.chunks_exact_mut(CH)) {
                block_mean::<S, CH>(block, o, norm);
            }
        }
    }
}

/// Blocks of `K` pixels of `row`, one per output pixel; a last, shorter block too.
fn whole_blocks<S: Sum, const CH: usize, const K: usize>(row: &[S], out: &mut [f32], norm: f32) {
    let mut blocks = row.chunks_exact(K * CH);
    let mut outs = out.chunks_exact_mut(CH);
    for (block, o) in (&mut blocks).zip(&mut outs) {
        let mut total = [0u32; CH];
        for j in 0..K {
            for c in 0..CH {
                total[c] += block[j * CH + c].into();
            }
        }
        write_means(total, o, norm);
    }
    if let Some(o) = outs.next()
        && !blocks.remainder().is_empty()
    {
        block_mean::<S, CH>(blocks.remainder(), o, norm);
    }
}

/// The sums of a block's pixels (interleaved), times `norm`, into `o`.
#[inline(always)]
fn block_mean<S: Sum, const CH: usize>(block: &[S], o: &mut [f32], norm: f32) {
    let mut total = [0u32; CH];
    for px in block.chunks_exact(CH) {
        for c in 0..CH {
            total[c] += px[c].into();
        }
    }
    write_means(total, o, norm);
}

#[inline(always)]
fn write_means<const CH: usize>(total: [u32; CH], o: &mut [f32], norm: f32) {
    for c in 0..CH {
        o[c] = total[c] as f32 * norm;
    }
}

/// Samples `src` at every tensor pixel through `map`, bilinearly; samples
/// off `src` count as 0. Pixels whose four taps are all inside take the
/// unchecked path.
#[allow(clippy::too_many_arguments)]
fn warp(
    src: &impl Pixels,
    ch: usize,
    map: Affine,
    out_w: usize,
    out_h: usize,
    scale: f32,
    offset: f32,
    out: &mut [f32],
) {
    match ch {
        1 => warp_channels::<1>(src, map, out_w, out_h, scale, offset, out),
        _ => warp_channels::<3>(src, map, out_w, out_h, scale, offset, out),
    }
}

fn warp_channels<const CH: usize>(
    src: &impl Pixels,
    map: Affine,
    out_w: usize,
    out_h: usize,
    scale: f32,
    offset: f32,
    out: &mut [f32],
) {
    let vector = vector::Source::of::<CH>(src);
    for oy in 0..out_h {
        let row_x = map.origin.0 + oy as f32 * map.along_y.0;
        let row_y = map.origin.1 + oy as f32 * map.along_y.1;
        let row = &mut out[oy * out_w * CH..(oy + 1) * out_w * CH];
        let row_map = Affine {
            origin: (row_x, row_y),
            ..map
        };
        let mut ox = 0;
        while ox < out_w {
            let done = vector
                .as_ref()
                .map_or(0, |v| v.eight::<CH>(row_map, ox, scale, offset, row));
            if done == 0 {
                let end = (ox + 8).min(out_w);
                scalar_pixels::<CH>(src, row_map, ox..end, scale, offset, row);
                ox = end;
            } else {
                ox += done;
            }
        }
    }
}

/// The scalar warp of pixels `range` of one tensor row; `map.origin` is the row's first pixel.
fn scalar_pixels<const CH: usize>(
    src: &impl Pixels,
    map: Affine,
    range: std::ops::Range<usize>,
    scale: f32,
    offset: f32,
    row: &mut [f32],
) {
    let (w, h, stride) = (src.width(), src.height(), src.stride());
    // Largest top-left tap that keeps the 2 × 2 neighbourhood inside.
    let (last_x, last_y) = (w.saturating_sub(1), h.saturating_sub(1));
    let (row_x, row_y) = map.origin;
    for (ox, o) in row
        .chunks_exact_mut(CH)
        .enumerate()
        .skip(range.start)
        .take(range.len())
    {
        let x = row_x + ox as f32 * map.along_x.0;
        let y = row_y + ox as f32 * map.along_x.1;
        let (fx0, fy0) = (x.floor(), y.floor());
        let (fx, fy) = (x - fx0, y - fy0);
        let (ix, iy) = (fx0 as isize, fy0 as isize);
        let mut acc = [0f32; CH];
        if ix >= 0 && iy >= 0 && (ix as usize) < last_x && (iy as usize) < last_y {
            let i00 = iy as usize * stride + ix as usize * CH;
            let i10 = i00 + stride;
            let (w00, w01, w10, w11) = (
                (1.0 - fx) * (1.0 - fy),
                fx * (1.0 - fy),
                (1.0 - fx) * fy,
                fx * fy,
            );
            for (k, a) in acc.iter_mut().enumerate() {
                *a = w00 * src.at(i00 + k)
                    + w01 * src.at(i00 + CH + k)
                    + w10 * src.at(i10 + k)
                    + w11 * src.at(i10 + CH + k);
            }
        } else {
            bilinear_edge::<CH>(src, ix, iy, fx, fy, &mut acc);
        }
        for k in 0..CH {
            o[k] = acc[k] * scale + offset;
        }
    }
}

/// Eight tensor pixels at a time. On x86-64 with AVX2, when all eight have
/// their 2 × 2 taps inside the source, the taps are gathered and weighed
/// with the same float multiplies and adds, in the same order, as
/// [`scalar_pixels`], so every value is the scalar one (a test compares
/// them); otherwise the scalar code does those pixels.
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
#[allow(unsafe_code)] // AVX2 intrinsics (the build enables AVX2: `.cargo/config.toml`); each gather's indices are checked against the source's length first.
mod vector {
    use std::arch::x86_64::*;

    use super::{Affine, Pixels, Raw};

    /// A source the vector warp can read: its samples and the limits every
    /// gather is checked against, worked out once per warp.
    pub struct Source<'a> {
        raw: Raw<'a>,
        bounds: Bounds,
    }

    impl<'a> Source<'a> {
        /// `src` for `CH`-channel pixels, or `None` when an index into it
        /// could leave i32 (the scalar code then does every pixel).
        pub fn of<const CH: usize>(src: &'a impl Pixels) -> Option<Self> {
            let raw = src.raw();
            // The largest index a gather may start at: a byte gather reads 4 bytes.
            let last = match raw {
                Raw::Bytes(d) => d.len().checked_sub(4),
                Raw::Floats(d) => d.len().checked_sub(1),
            };
            let (w, h, stride) = (src.width(), src.height(), src.stride());
            // Every index below is under h × stride + (w + 2) × CH, kept inside i32.
            let fits = |v: usize| i32::try_from(v).is_ok();
            let largest = h
                .saturating_mul(stride)
                .saturating_add((w + 2).saturating_mul(CH));
            let last = last.filter(|&l| fits(l) && fits(largest))?;
            Some(Self {
                raw,
                bounds: Bounds {
                    last_x: w.saturating_sub(1) as i32,
                    last_y: h.saturating_sub(1) as i32,
                    stride: stride as i32,
                    last: last as i32,
                },
            })
        }

        /// Warps pixels `ox..ox + 8` of a tensor row (`map.origin` its first
        /// pixel) into `row`; returns 8, or 0 with nothing written when fewer
        /// than 8 are left or one of them has a tap outside the source.
        pub fn eight<const CH: usize>(
            &self,
            map: Affine,
            ox: usize,
            scale: f32,
            offset: f32,
            row: &mut [f32],
        ) -> usize {
            let Some(out) = row.get_mut(ox * CH..(ox + 8) * CH) else {
                return 0;
            };
            // SAFETY: AVX2 is enabled for the build; `gather` reads only at
            // indices checked against `bounds.last` inside `eight`.
            unsafe { eight::<CH>(&self.raw, map, ox, self.bounds, scale, offset, out) }
        }
    }

    #[derive(Clone, Copy)]
    struct Bounds {
        last_x: i32,
        last_y: i32,
        stride: i32,
        last: i32,
    }

    #[inline(always)]
    unsafe fn eight<const CH: usize>(
        raw: &Raw<'_>,
        map: Affine,
        ox: usize,
        b: Bounds,
        scale: f32,
        offset: f32,
        out: &mut [f32],
    ) -> usize {
        unsafe {
            let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let oxf = _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_set1_epi32(ox as i32), lanes));
            let x = _mm256_add_ps(
                _mm256_set1_ps(map.origin.0),
                _mm256_mul_ps(oxf, _mm256_set1_ps(map.along_x.0)),
            );
            let y = _mm256_add_ps(
                _mm256_set1_ps(map.origin.1),
                _mm256_mul_ps(oxf, _mm256_set1_ps(map.along_x.1)),
            );
            let (fx0, fy0) = (_mm256_floor_ps(x), _mm256_floor_ps(y));
            let (fx, fy) = (_mm256_sub_ps(x, fx0), _mm256_sub_ps(y, fy0));
            // Out of i32's range (or NaN) converts to i32::MIN, which is not inside.
            let (ix, iy) = (_mm256_cvttps_epi32(fx0), _mm256_cvttps_epi32(fy0));
            let below = |v: __m256i, limit: i32| _mm256_cmpgt_epi32(_mm256_set1_epi32(limit), v);
            let negative = _mm256_or_si256(below(ix, 0), below(iy, 0));
            let inside = _mm256_and_si256(below(ix, b.last_x), below(iy, b.last_y));
            if _mm256_movemask_epi8(_mm256_andnot_si256(negative, inside)) != -1 {
                return 0;
            }
            let i00 = _mm256_add_epi32(
                _mm256_mullo_epi32(iy, _mm256_set1_epi32(b.stride)),
                _mm256_mullo_epi32(ix, _mm256_set1_epi32(CH as i32)),
            );
            let i10 = _mm256_add_epi32(i00, _mm256_set1_epi32(b.stride));
            let farthest = _mm256_add_epi32(i10, _mm256_set1_epi32(2 * CH as i32 - 1));
            if _mm256_movemask_epi8(_mm256_cmpgt_epi32(farthest, _mm256_set1_epi32(b.last))) != 0 {
                return 0;
            }
            let one = _mm256_set1_ps(1.0);
            let (gx, gy) = (_mm256_sub_ps(one, fx), _mm256_sub_ps(one, fy));
            let (w00, w01) = (_mm256_mul_ps(gx, gy), _mm256_mul_ps(fx, gy));
            let (w10, w11) = (_mm256_mul_ps(gx, fy), _mm256_mul_ps(fx, fy));
            if let (3, Raw::Floats(data)) = (CH, raw) {
                // Interleaved float RGB: one 4-float load per tap reads its
                // 3 channels (and one more, so the last may not be the last float).
                let reach = _mm256_add_epi32(farthest, _mm256_set1_epi32(1));
                if _mm256_movemask_epi8(_mm256_cmpgt_epi32(reach, _mm256_set1_epi32(b.last))) != 0 {
                    return 0;
                }
                let mut weights = [[0f32; 8]; 4];
                for (w, v) in weights.iter_mut().zip([w00, w01, w10, w11]) {
                    _mm256_storeu_ps(w.as_mut_ptr(), v);
                }
                let (mut top, mut bottom) = ([0i32; 8], [0i32; 8]);
                _mm256_storeu_si256(top.as_mut_ptr().cast(), i00);
                _mm256_storeu_si256(bottom.as_mut_ptr().cast(), i10);
                let (scale, offset) = (_mm_set1_ps(scale), _mm_set1_ps(offset));
                let p = data.as_ptr();
                let mut values = [0f32; 8 * 3 + 1];
                for i in 0..8 {
                    let (t, u) = (top[i] as usize, bottom[i] as usize);
                    let tap =
                        |at: usize, w: f32| _mm_mul_ps(_mm_set1_ps(w), _mm_loadu_ps(p.add(at)));
                    let mut acc = tap(t, weights[0][i]);
                    acc = _mm_add_ps(acc, tap(t + 3, weights[1][i]));
                    acc = _mm_add_ps(acc, tap(u, weights[2][i]));
                    acc = _mm_add_ps(acc, tap(u + 3, weights[3][i]));
                    let v = _mm_add_ps(_mm_mul_ps(acc, scale), offset);
                    _mm_storeu_ps(values.as_mut_ptr().add(3 * i), v);
                }
                out.copy_from_slice(&values[..8 * 3]);
                return 8;
            }
            let at = |i: __m256i, k: usize| {
                gather(raw, _mm256_add_epi32(i, _mm256_set1_epi32(k as i32)))
            };
            let mut channels = [[0f32; 8]; CH];
            for (k, channel) in channels.iter_mut().enumerate() {
                let mut acc = _mm256_mul_ps(w00, at(i00, k));
                acc = _mm256_add_ps(acc, _mm256_mul_ps(w01, at(i00, CH + k)));
                acc = _mm256_add_ps(acc, _mm256_mul_ps(w10, at(i10, k)));
                acc = _mm256_add_ps(acc, _mm256_mul_ps(w11, at(i10, CH + k)));
                let v = _mm256_add_ps(
                    _mm256_mul_ps(acc, _mm256_set1_ps(scale)),
                    _mm256_set1_ps(offset),
                );
                _mm256_storeu_ps(channel.as_mut_ptr(), v);
            }
            for (i, o) in out.chunks_exact_mut(CH).enumerate() {
                for (k, v) in o.iter_mut().enumerate() {
                    *v = channels[k][i];
                }
            }
            8
        }
    }

    /// The samples at eight indices, as floats.
    #[inline(always)]
    unsafe fn gather(raw: &Raw<'_>, idx: __m256i) -> __m256 {
        unsafe {
            match raw {
                Raw::Bytes(d) => {
                    let words = _mm256_i32gather_epi32::<1>(d.as_ptr().cast(), idx);
                    _mm256_cvtepi32_ps(_mm256_and_si256(words, _mm256_set1_epi32(0xff)))
                }
                Raw::Floats(d) => _mm256_i32gather_ps::<4>(d.as_ptr(), idx),
            }
        }
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
mod vector {
    use super::{Affine, Pixels};

    /// Without AVX2 there is no vector source: the scalar code does every pixel.
    pub enum Source {}

    impl Source {
        pub fn of<const CH: usize>(_: &impl Pixels) -> Option<Self> {
            None
        }

        pub fn eight<const CH: usize>(
            &self,
            _: Affine,
            _: usize,
            _: f32,
            _: f32,
            _: &mut [f32],
        ) -> usize {
            match *self {}
        }
    }
}

/// The bilinear sample at a pixel whose taps may fall off the image (those count as 0).
fn bilinear_edge<const CH: usize>(
    src: &impl Pixels,
    ix: isize,
    iy: isize,
    fx: f32,
    fy: f32,
    acc: &mut [f32; CH],
) {
    let (w, h, stride) = (src.width() as isize, src.height() as isize, src.stride());
    for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
        let yy = iy + dy;
        if yy < 0 || yy >= h || wy == 0.0 {
            continue;
        }
        for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
            let xx = ix + dx;
            if xx < 0 || xx >= w || wx == 0.0 {
                continue;
            }
            let i = yy as usize * stride + xx as usize * CH;
            for (k, a) in acc.iter_mut().enumerate() {
                *a += wy * wx * src.at(i + k);
            }
        }
    }
}

/// The reference crop: every tensor pixel the mean of up to 4 × 4 bilinear
/// samples spread over the frame pixels it covers. Exact but about 16× the
/// work of [`Cropper::crop`]; kept to test it against.
pub fn supersampled(
    src: ImageView<'_>,
    rect: &RotatedRect,
    out_w: usize,
    out_h: usize,
    scale: f32,
    offset: f32,
    out: &mut [f32],
) {
    let ch = src.channels;
    assert_eq!(out.len(), out_w * out_h * ch, "tensor size");
    let (s, c) = rect.rotation.sin_cos();
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
        ImageView {
            data,
            width: w,
            height: h,
            stride: w,
            channels: 1,
        }
    }

    #[test]
    fn upright_full_crop_at_same_size_copies_the_image() {
        let data: Vec<u8> = (0..48).map(|i| (i * 5) as u8).collect();
        let rect = RotatedRect {
            cx: 4.0,
            cy: 3.0,
            width: 8.0,
            height: 6.0,
            rotation: 0.0,
        };
        let mut out = vec![0.0; 48];
        Cropper::new().crop(view(&data, 8, 6), &rect, 8, 6, 1.0, 0.0, &mut out);
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
        let rect = RotatedRect {
            cx: 4.5,
            cy: 4.5,
            width: 9.0,
            height: 9.0,
            rotation: std::f32::consts::FRAC_PI_2,
        };
        let mut out = vec![0.0; 81];
        Cropper::new().crop(view(&data, 9, 9), &rect, 9, 9, 1.0, 0.0, &mut out);
        let brightest = out
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        let (ox, oy) = (brightest % 9, brightest / 9);
        let (x, y) = rect.to_image((ox as f32 + 0.5) / 9.0, (oy as f32 + 0.5) / 9.0);
        assert!(
            (x - 7.5).abs() < 0.6 && (y - 4.5).abs() < 0.6,
            "crop ({ox},{oy}) maps to ({x},{y})"
        );
        assert!(
            ox == 4 && oy < 4,
            "a quarter turn moves it off the crop's centre row: ({ox},{oy})"
        );
    }

    #[test]
    fn to_rect_inverts_to_image() {
        let rect = RotatedRect {
            cx: 100.0,
            cy: 50.0,
            width: 80.0,
            height: 40.0,
            rotation: 0.7,
        };
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
        let rect = RotatedRect {
            cx: 100.0,
            cy: 100.0,
            width: 4.0,
            height: 4.0,
            rotation: 0.0,
        };
        let mut out = vec![0.0; 16];
        Cropper::new().crop(view(&data, 4, 4), &rect, 4, 4, 2.0 / 255.0, -1.0, &mut out);
        assert!(out.iter().all(|&v| v == -1.0));
    }

    /// A 3-channel test picture with edges and texture at several scales.
    fn picture(w: usize, h: usize) -> Vec<u8> {
        let mut data = vec![0u8; w * h * 3];
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = (x as f32, y as f32);
                let base = 128.0
                    + 60.0 * (fx * 0.021).sin() * (fy * 0.017).cos()
                    + 40.0 * ((fx + fy) * 0.09).sin();
                let edge = if (x / 37 + y / 53) % 2 == 0 {
                    30.0
                } else {
                    -30.0
                };
                for k in 0..3 {
                    data[(y * w + x) * 3 + k] =
                        (base + edge * (k as f32 - 1.0)).clamp(0.0, 255.0) as u8;
                }
            }
        }
        data
    }

    fn rgb(data: &[u8], w: usize, h: usize) -> ImageView<'_> {
        ImageView {
            data,
            width: w,
            height: h,
            stride: w * 3,
            channels: 3,
        }
    }

    /// The scalar warp of every pixel, the reference the vector warp must equal.
    fn scalar_warp<const CH: usize>(src: &impl Pixels, map: Affine, out_w: usize, out: &mut [f32]) {
        for (oy, row) in out.chunks_exact_mut(out_w * CH).enumerate() {
            let origin = (
                map.origin.0 + oy as f32 * map.along_y.0,
                map.origin.1 + oy as f32 * map.along_y.1,
            );
            scalar_pixels::<CH>(src, Affine { origin, ..map }, 0..out_w, 0.7, -0.2, row);
        }
    }

    /// Every value of the warp, whichever path takes its pixel, is the scalar
    /// code's: from bytes and from float levels, gray and RGB, at turns and
    /// shrinks that put some pixels' taps off the image.
    #[test]
    fn the_vector_warp_gives_the_scalar_values_bit_for_bit() {
        let (w, h) = (97, 61);
        let bytes = picture(w, h);
        let floats: Vec<f32> = bytes.iter().map(|&b| f32::from(b) * 0.37 + 0.01).collect();
        let gray: Vec<u8> = bytes.iter().step_by(3).copied().collect();
        let (out_w, out_h) = (29, 13);
        for (turn, shrink, x0) in [
            (0.0, 1.0, 3.0),
            (0.3, 1.7, -4.0),
            (-1.1, 0.6, 40.0),
            (2.0, 2.9, 80.0),
        ] {
            let (s, c) = f32::sin_cos(turn);
            let map = Affine {
                origin: (x0, 20.5),
                along_x: (shrink * c, shrink * s),
                along_y: (-shrink * s, shrink * c),
            };
            let size = (out_w, out_h);
            let what = |source: &str| format!("{source}, turn {turn}");
            paths_agree::<3>(&rgb(&bytes, w, h), map, size, &what("RGB bytes"));
            let level = Level {
                data: &floats,
                width: w,
                height: h,
                channels: 3,
            };
            paths_agree::<3>(&level, map, size, &what("RGB floats"));
            paths_agree::<1>(&view(&gray, w, h), map, size, &what("gray bytes"));
            let level = Level {
                data: &floats[..w * h],
                width: w,
                height: h,
                channels: 1,
            };
            paths_agree::<1>(&level, map, size, &what("gray floats"));
        }
    }

    /// Asserts that the warp of `src` through `map` gives the scalar code's bits.
    fn paths_agree<const CH: usize>(
        src: &impl Pixels,
        map: Affine,
        (out_w, out_h): (usize, usize),
        what: &str,
    ) {
        let mut got = vec![0.0; out_w * out_h * CH];
        let mut want = got.clone();
        warp_channels::<CH>(src, map, out_w, out_h, 0.7, -0.2, &mut got);
        scalar_warp::<CH>(src, map, out_w, &mut want);
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "{what}: value {i}: {a} against {b}"
            );
        }
    }

    /// (mean, max) absolute difference, in bytes.
    fn differ(a: &[f32], b: &[f32]) -> (f32, f32) {
        let max = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        (
            a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32,
            max,
        )
    }

    #[test]
    fn the_warp_agrees_with_the_supersampled_reference_at_every_shrink() {
        let (w, h) = (540, 648);
        let data = picture(w, h);
        let mut cropper = Cropper::new();
        // Shrinks from 1× to 5.1×, upright and turned, inside and across the frame's edge.
        for (side, rotation, cx) in [
            (256.0, 0.0, 270.0),
            (400.0, 0.3, 270.0),
            (700.0, -0.8, 300.0),
            (1300.0, 0.0, 270.0),
            (600.0, 2.5, 80.0),
        ] {
            let rect = RotatedRect {
                cx,
                cy: 320.0,
                width: side,
                height: side,
                rotation,
            };
            let (mut fast, mut slow) = (vec![0.0; 256 * 256 * 3], vec![0.0; 256 * 256 * 3]);
            cropper.crop(rgb(&data, w, h), &rect, 256, 256, 1.0, 0.0, &mut fast);
            supersampled(rgb(&data, w, h), &rect, 256, 256, 1.0, 0.0, &mut slow);
            let (mean, max) = differ(&fast, &slow);
            // Measured: mean ≤ 0.48, max ≤ 37.3 (on the checker's hard edges, where the two filters' footprints differ).
            assert!(
                mean < 0.6 && max < 40.0,
                "side {side}, turn {rotation}: mean {mean:.2}, max {max:.1}"
            );
        }
    }

    /// 16-bit column sums (up to 16 rows) make the level 32-bit ones make,
    /// bit for bit, on a picture and on white (the largest sums).
    #[test]
    fn narrow_and_wide_column_sums_make_the_same_level() {
        let (w, h) = (97, 61);
        for data in [picture(w, h), vec![255; w * h * 3]] {
            for k in [2, 3, 7, 16] {
                for (x0, y0) in [(-5, -3), (4, 2)] {
                    let (lw, lh) = ((w + 10) / k, (h + 6) / k);
                    let (mut narrow, mut wide) = (vec![0.0; lw * lh * 3], vec![0.0; lw * lh * 3]);
                    let src = rgb(&data, w, h);
                    let blocks = Blocks {
                        x0,
                        y0,
                        k,
                        across: lw,
                        down: lh,
                    };
                    reduce_rows::<u16>(&src, blocks, &mut Vec::new(), &mut narrow);
                    reduce_rows::<u32>(&src, blocks, &mut Vec::new(), &mut wide);
                    assert_eq!(narrow, wide, "k {k} at ({x0}, {y0})");
                }
            }
        }
    }

    #[test]
    fn a_shrunk_crop_keeps_a_flat_image_flat_and_does_not_alias_fine_stripes() {
        let (w, h) = (600, 600);
        let flat = vec![90u8; w * h * 3];
        let rect = RotatedRect {
            cx: 300.0,
            cy: 300.0,
            width: 600.0,
            height: 600.0,
            rotation: 0.4,
        };
        let mut out = vec![0.0; 100 * 100 * 3];
        let mut cropper = Cropper::new();
        cropper.crop(rgb(&flat, w, h), &rect, 100, 100, 1.0, 0.0, &mut out);
        // The rotated square reaches past the frame at its corners (black there); its middle is flat.
        let centre = &out[(50 * 100 + 50) * 3..(50 * 100 + 50) * 3 + 3];
        assert!(centre.iter().all(|v| (v - 90.0).abs() < 1e-3), "{centre:?}");
        // One-pixel stripes shrunk 6×: every output pixel is their mean, not a stripe.
        let stripes: Vec<u8> = (0..w * h * 3)
            .map(|i| if (i / 3 % w) % 2 == 0 { 0 } else { 200 })
            .collect();
        let upright = RotatedRect {
            rotation: 0.0,
            ..rect
        };
        cropper.crop(rgb(&stripes, w, h), &upright, 100, 100, 1.0, 0.0, &mut out);
        let inner: Vec<f32> = (10..90)
            .flat_map(|y| (10..90).map(move |x| (y * 100 + x) * 3))
            .map(|i| out[i])
            .collect();
        assert!(
            inner.iter().all(|v| (v - 100.0).abs() < 2.0),
            "aliasing: {:?}",
            &inner[..8]
        );
    }

    #[test]
    fn the_cropper_reuses_its_level_across_regions_of_other_sizes() {
        let (w, h) = (300, 200);
        let data = picture(w, h);
        let mut cropper = Cropper::new();
        let big = RotatedRect {
            cx: 150.0,
            cy: 100.0,
            width: 300.0,
            height: 300.0,
            rotation: 0.0,
        };
        let small = RotatedRect {
            cx: 100.0,
            cy: 80.0,
            width: 120.0,
            height: 120.0,
            rotation: 0.2,
        };
        let mut first = vec![0.0; 48 * 48 * 3];
        let mut again = first.clone();
        let mut fresh = first.clone();
        cropper.crop(rgb(&data, w, h), &small, 48, 48, 1.0, 0.0, &mut first);
        cropper.crop(rgb(&data, w, h), &big, 48, 48, 1.0, 0.0, &mut fresh);
        cropper.crop(rgb(&data, w, h), &small, 48, 48, 1.0, 0.0, &mut again);
        assert_eq!(first, again);
        Cropper::new().crop(rgb(&data, w, h), &big, 48, 48, 1.0, 0.0, &mut first);
        assert_eq!(first, fresh);
    }
}
