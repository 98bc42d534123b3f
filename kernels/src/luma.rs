//! RGB to luma with BT.601 weights, as OpenCV's RGB-to-gray conversion
//! rounds it: per pixel ([`luma`]) and per row ([`luma_of_rgb`]). On x86-64
//! with AVX2 a row takes 16 pixels per step: byte shuffles split the
//! channels, and the same float multiplies and adds, in the same order, give
//! every pixel the bytes the scalar code gives (tested on every colour).

/// Luma of an RGB pixel.
///
/// The weighted sum is non-negative, so rounding it is adding ½ and
/// truncating: a conversion instruction, where `f32::round` is a library
/// call (a test checks the two agree on all 2²⁴ colours).
#[inline(always)]
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    (0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b) + 0.5) as u8
}

/// The [`luma`] of each pixel of a row of interleaved RGB bytes, into `out`
/// (one byte per pixel, as many as both hold).
pub fn luma_of_rgb(rgb: &[u8], out: &mut [u8]) {
    let n = (rgb.len() / 3).min(out.len());
    let done = vector::luma_of_rgb(&rgb[..3 * n], &mut out[..n]);
    for (p, o) in rgb[3 * done..3 * n].chunks_exact(3).zip(&mut out[done..n]) {
        *o = luma(p[0], p[1], p[2]);
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
#[allow(unsafe_code)] // AVX2 intrinsics; the build enables AVX2 (`.cargo/config.toml`), so they are always present.
mod vector {
    use std::arch::x86_64::*;

    /// Converts whole runs of 16 pixels; returns how many pixels it did.
    pub fn luma_of_rgb(rgb: &[u8], out: &mut [u8]) -> usize {
        let steps = out.len() / 16;
        for (p, o) in rgb.chunks_exact(48).zip(out.chunks_exact_mut(16)) {
            // SAFETY: `p` holds 48 bytes and `o` 16, the loads and the store are unaligned.
            unsafe { sixteen(p.as_ptr(), o.as_mut_ptr()) }
        }
        steps * 16
    }

    /// Byte positions of one channel in a 16-byte block; -1 (0x80) takes zero.
    const fn mask(first: i8, count: i8, skip: i8) -> [i8; 16] {
        let mut m = [-1i8; 16];
        let mut k = 0;
        while k < count {
            m[(skip + k) as usize] = first + 3 * k;
            k += 1;
        }
        m
    }

    // Pixel i's channel c is byte 3i + c of the 48: block 3i + c / 16 at 3i + c mod 16.
    // Red: bytes 0..15 hold pixels 0–5, 16..31 pixels 6–10, 32..47 pixels 11–15.
    const R: [[i8; 16]; 3] = [mask(0, 6, 0), mask(2, 5, 6), mask(1, 5, 11)];
    const G: [[i8; 16]; 3] = [mask(1, 5, 0), mask(0, 6, 5), mask(2, 5, 11)];
    const B: [[i8; 16]; 3] = [mask(2, 5, 0), mask(1, 5, 5), mask(0, 6, 10)];

    #[inline(always)]
    unsafe fn channel(blocks: [__m128i; 3], masks: &[[i8; 16]; 3]) -> __m128i {
        unsafe {
            let pick =
                |b: __m128i, m: &[i8; 16]| _mm_shuffle_epi8(b, _mm_loadu_si128(m.as_ptr().cast()));
            _mm_or_si128(
                _mm_or_si128(pick(blocks[0], &masks[0]), pick(blocks[1], &masks[1])),
                pick(blocks[2], &masks[2]),
            )
        }
    }

    /// The 16 bytes of a channel as two vectors of 8 floats.
    #[inline(always)]
    unsafe fn floats(bytes: __m128i) -> (__m256, __m256) {
        unsafe {
            (
                _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)),
                _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(bytes, 8))),
            )
        }
    }

    #[inline(always)]
    unsafe fn sixteen(rgb: *const u8, out: *mut u8) {
        unsafe {
            let blocks = [
                _mm_loadu_si128(rgb.cast()),
                _mm_loadu_si128(rgb.add(16).cast()),
                _mm_loadu_si128(rgb.add(32).cast()),
            ];
            let (r, g, b) = (
                floats(channel(blocks, &R)),
                floats(channel(blocks, &G)),
                floats(channel(blocks, &B)),
            );
            let (wr, wg, wb, half) = (
                _mm256_set1_ps(0.299),
                _mm256_set1_ps(0.587),
                _mm256_set1_ps(0.114),
                _mm256_set1_ps(0.5),
            );
            // ((0.299 r + 0.587 g) + 0.114 b) + 0.5, each step rounded, as the scalar code.
            let sum = |r: __m256, g: __m256, b: __m256| {
                let rg = _mm256_add_ps(_mm256_mul_ps(wr, r), _mm256_mul_ps(wg, g));
                _mm256_cvttps_epi32(_mm256_add_ps(_mm256_add_ps(rg, _mm256_mul_ps(wb, b)), half))
            };
            let (lo, hi) = (sum(r.0, g.0, b.0), sum(r.1, g.1, b.1));
            // Packing works within 128-bit lanes: put the four quarters back in order.
            let words = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0b11_01_10_00);
            let bytes = _mm_packus_epi16(
                _mm256_castsi256_si128(words),
                _mm256_extracti128_si256(words, 1),
            );
            _mm_storeu_si128(out.cast(), bytes);
        }
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
mod vector {
    /// Without AVX2 every pixel goes through the scalar code.
    pub fn luma_of_rgb(_rgb: &[u8], _out: &mut [u8]) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luma_rounds_as_the_library_does_for_every_colour() {
        for r in 0..=255u8 {
            for g in 0..=255u8 {
                for b in 0..=255u8 {
                    let exact = (0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b))
                        .round()
                        .clamp(0.0, 255.0) as u8;
                    assert_eq!(luma(r, g, b), exact, "({r}, {g}, {b})");
                }
            }
        }
    }

    /// Every colour through the row conversion (its vector steps and its
    /// scalar tail) gives the pixel's `luma`.
    #[test]
    fn a_row_gives_each_pixels_luma_for_every_colour() {
        for r in 0..=255u8 {
            // A row of all (g, b) for this r, then an odd tail.
            let mut rgb: Vec<u8> = (0..=255u8)
                .flat_map(|g| (0..=255u8).flat_map(move |b| [r, g, b]))
                .collect();
            rgb.extend_from_slice(&[r, 1, 2, 3, r, 5]);
            let mut out = vec![0u8; rgb.len() / 3];
            luma_of_rgb(&rgb, &mut out);
            for (p, o) in rgb.chunks_exact(3).zip(&out) {
                assert_eq!(*o, luma(p[0], p[1], p[2]), "{p:?}");
            }
        }
    }
}
