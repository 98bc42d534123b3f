//! Drawing on RGB pictures: thick lines, discs, arrows, polylines and text.
//!
//! For the pictures people look at before trusting a result (skeletons,
//! motion arrows, speed plots). Shapes are filled by distance to their
//! centre line, clipped to the picture.

use crate::font;
use crate::geometry::distance_to_segment;

/// A tightly packed RGB picture being drawn on.
pub struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `height * width * 3` bytes.
    pub rgb: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with one colour.
    pub fn new(width: usize, height: usize, colour: [u8; 3]) -> Self {
        Self {
            width,
            height,
            rgb: colour.repeat(width * height),
        }
    }

    /// Copies `rgb` (`w × h`) with its top-left corner at (x, y), clipped.
    pub fn blit(&mut self, rgb: &[u8], w: usize, h: usize, x: usize, y: usize) {
        for row in 0..h.min(self.height.saturating_sub(y)) {
            let n = w.min(self.width.saturating_sub(x)) * 3;
            let dst = ((y + row) * self.width + x) * 3;
            self.rgb[dst..dst + n].copy_from_slice(&rgb[row * w * 3..row * w * 3 + n]);
        }
    }

    fn put(&mut self, x: isize, y: isize, colour: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = (y as usize * self.width + x as usize) * 3;
            self.rgb[i..i + 3].copy_from_slice(&colour);
        }
    }

    /// A segment of the given thickness with round ends.
    pub fn line(&mut self, a: (f32, f32), b: (f32, f32), thickness: f32, colour: [u8; 3]) {
        let r = thickness / 2.0;
        let (x0, x1) = (
            (a.0.min(b.0) - r).floor() as isize,
            (a.0.max(b.0) + r).ceil() as isize,
        );
        let (y0, y1) = (
            (a.1.min(b.1) - r).floor() as isize,
            (a.1.max(b.1) + r).ceil() as isize,
        );
        for y in y0.max(0)..=y1.min(self.height as isize - 1) {
            for x in x0.max(0)..=x1.min(self.width as isize - 1) {
                if distance_to_segment((x as f32 + 0.5, y as f32 + 0.5), a, b) <= r {
                    self.put(x, y, colour);
                }
            }
        }
    }

    /// A filled disc.
    pub fn disc(&mut self, c: (f32, f32), radius: f32, colour: [u8; 3]) {
        self.line(c, c, 2.0 * radius, colour);
    }

    /// An arrow from `a` to `b` with a head a third of its length (at most `head` pixels).
    pub fn arrow(
        &mut self,
        a: (f32, f32),
        b: (f32, f32),
        thickness: f32,
        head: f32,
        colour: [u8; 3],
    ) {
        self.line(a, b, thickness, colour);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = dx.hypot(dy);
        if len < 1.0 {
            return;
        }
        let size = (len / 3.0).min(head);
        let (ux, uy) = (dx / len, dy / len);
        for side in [-1.0f32, 1.0] {
            // Barbs at ±30° from the shaft, pointing back.
            let (c, s) = (0.866, 0.5 * side);
            let back = (-(ux * c - uy * s), -(ux * s + uy * c));
            self.line(
                b,
                (b.0 + back.0 * size, b.1 + back.1 * size),
                thickness,
                colour,
            );
        }
    }

    /// Connected segments through `points`.
    pub fn polyline(&mut self, points: &[(f32, f32)], thickness: f32, colour: [u8; 3]) {
        for w in points.windows(2) {
            self.line(w[0], w[1], thickness, colour);
        }
    }

    /// `text` in the [`font`] with its top-left corner at (x, y), each font pixel `scale` × `scale`,
    /// clipped. Returns the width drawn.
    pub fn text(&mut self, x: isize, y: isize, text: &str, scale: usize, colour: [u8; 3]) -> usize {
        let s = scale.max(1) as isize;
        for (i, c) in text.chars().enumerate() {
            let left = x + (i * font::ADVANCE) as isize * s;
            for (row, bits) in font::glyph(c).iter().enumerate() {
                for col in 0..5 {
                    if bits & (0b10000 >> col) != 0 {
                        for dy in 0..s {
                            for dx in 0..s {
                                self.put(left + col * s + dx, y + row as isize * s + dy, colour);
                            }
                        }
                    }
                }
            }
        }
        font::text_width(text, scale.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_land_where_asked_and_are_clipped() {
        let mut c = Canvas::new(20, 10, [0, 0, 0]);
        c.line((2.0, 5.0), (17.0, 5.0), 2.0, [255, 0, 0]);
        let at = |c: &Canvas, x: usize, y: usize| {
            [
                c.rgb[(y * 20 + x) * 3],
                c.rgb[(y * 20 + x) * 3 + 1],
                c.rgb[(y * 20 + x) * 3 + 2],
            ]
        };
        assert_eq!(at(&c, 10, 5), [255, 0, 0]);
        assert_eq!(at(&c, 10, 8), [0, 0, 0]);
        c.disc((-5.0, -5.0), 3.0, [0, 255, 0]);
        c.disc((19.0, 9.0), 2.0, [0, 0, 255]);
        assert_eq!(at(&c, 19, 9), [0, 0, 255]);
        c.blit(&[9; 12], 2, 2, 19, 0);
        assert_eq!(at(&c, 19, 1), [9, 9, 9]);
    }

    #[test]
    fn text_draws_its_glyphs_left_to_right() {
        let mut c = Canvas::new(30, 10, [0, 0, 0]);
        let w = c.text(1, 1, "1-", 1, [255, 255, 255]);
        assert_eq!(w, 11);
        let lit = |x: usize, y: usize| c.rgb[(y * 30 + x) * 3] == 255;
        // '1': the stem in column 2 of the first glyph; '-': row 3 of the second.
        assert!((1..8).all(|y| lit(3, y)));
        assert!((7..12).all(|x| lit(x, 4)) && !lit(7, 1));
        assert!(!lit(20, 4));
        // Scaled, and clipped at the edge without panicking.
        let mut big = Canvas::new(12, 12, [0, 0, 0]);
        assert_eq!(big.text(-3, 5, "88", 2, [9, 9, 9]), 22);
        assert!(big.rgb.chunks(3).any(|p| p[0] == 9));
    }

    #[test]
    fn an_arrow_has_a_head_at_its_tip() {
        let mut c = Canvas::new(40, 40, [0, 0, 0]);
        c.arrow((5.0, 20.0), (35.0, 20.0), 1.0, 8.0, [255, 255, 255]);
        let lit = |x: usize, y: usize| c.rgb[(y * 40 + x) * 3] == 255;
        assert!(lit(20, 19) || lit(20, 20));
        // Barbs reach above and below the shaft behind the tip.
        assert!((14..19).any(|y| lit(30, y)) && (21..26).any(|y| lit(30, y)));
    }
}
