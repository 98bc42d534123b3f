//! Plane geometry shared by the drawing, body-part and rendering code.

/// The offset from the nearest point of the segment `a`–`b` to `p` (from `a`
/// when the segment is a point).
#[inline]
fn offset_from_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> (f32, f32) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p.0 - a.0 - t * dx, p.1 - a.1 - t * dy)
}

/// Distance from `p` to the segment `a`–`b` (to `a` when the segment is a point).
pub fn distance_to_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (ex, ey) = offset_from_segment(p, a, b);
    ex.hypot(ey)
}

/// The square of [`distance_to_segment`], without its square root.
#[inline]
pub fn squared_distance_to_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (ex, ey) = offset_from_segment(p, a, b);
    ex * ex + ey * ey
}

/// Whether `p` lies within `radius` of the segment `a`–`b`: the test of
/// [`distance_to_segment`] without its square root, for per-pixel loops.
#[inline]
pub fn within_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32), radius: f32) -> bool {
    squared_distance_to_segment(p, a, b) <= radius * radius
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_is_to_the_nearest_point_of_the_segment() {
        assert_eq!(
            distance_to_segment((5.0, 3.0), (0.0, 0.0), (10.0, 0.0)),
            3.0
        );
        assert_eq!(
            distance_to_segment((13.0, 4.0), (0.0, 0.0), (10.0, 0.0)),
            5.0
        );
        assert_eq!(distance_to_segment((3.0, 4.0), (0.0, 0.0), (0.0, 0.0)), 5.0);
        assert!(within_segment((13.0, 4.0), (0.0, 0.0), (10.0, 0.0), 5.0));
        assert!(!within_segment((13.0, 4.0), (0.0, 0.0), (10.0, 0.0), 4.99));
    }
}
