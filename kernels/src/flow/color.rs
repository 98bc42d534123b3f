//! Flow as a picture: the Middlebury colour wheel (hue = direction, saturation = speed).

use super::field::FlowField;
use crate::draw::Canvas;

/// The 55-colour wheel: red→yellow 15, yellow→green 6, green→cyan 4,
/// cyan→blue 11, blue→magenta 13, magenta→red 6 steps.
fn wheel() -> Vec<[f32; 3]> {
    let segments: [(usize, [f32; 3], [f32; 3]); 6] = [
        (15, [255.0, 0.0, 0.0], [255.0, 255.0, 0.0]),
        (6, [255.0, 255.0, 0.0], [0.0, 255.0, 0.0]),
        (4, [0.0, 255.0, 0.0], [0.0, 255.0, 255.0]),
        (11, [0.0, 255.0, 255.0], [0.0, 0.0, 255.0]),
        (13, [0.0, 0.0, 255.0], [255.0, 0.0, 255.0]),
        (6, [255.0, 0.0, 255.0], [255.0, 0.0, 0.0]),
    ];
    let mut colors = Vec::with_capacity(55);
    for (n, from, to) in segments {
        for i in 0..n {
            let t = i as f32 / n as f32;
            colors.push([0, 1, 2].map(|c| from[c] + (to[c] - from[c]) * t));
        }
    }
    colors
}

/// RGB bytes of the flow, saturation scaled so `max_speed` is full colour
/// (`None`: the largest known speed in the field). Unknown flow is black.
pub fn flow_to_rgb(flow: &FlowField, max_speed: Option<f32>) -> Vec<u8> {
    let colors = wheel();
    let n = colors.len();
    let max = max_speed.unwrap_or_else(|| {
        (0..flow.u.len())
            .filter(|&i| flow.known(i))
            .map(|i| flow.u[i].hypot(flow.v[i]))
            .fold(0.0f32, f32::max)
    });
    let max = if max > 0.0 { max } else { 1.0 };
    let mut out = Vec::with_capacity(flow.u.len() * 3);
    for i in 0..flow.u.len() {
        if !flow.known(i) {
            out.extend_from_slice(&[0, 0, 0]);
            continue;
        }
        let (u, v) = (flow.u[i] / max, flow.v[i] / max);
        let radius = u.hypot(v);
        let angle = (-v).atan2(-u) / std::f32::consts::PI;
        let fk = (angle + 1.0) / 2.0 * (n - 1) as f32;
        let k0 = fk.floor() as usize % n;
        let k1 = (k0 + 1) % n;
        let f = fk - fk.floor();
        for (c0, c1) in colors[k0].iter().zip(&colors[k1]) {
            let col = ((1.0 - f) * c0 + f * c1) / 255.0;
            let col = if radius <= 1.0 {
                1.0 - radius * (1.0 - col)
            } else {
                col * 0.75
            };
            out.push((255.0 * col).round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// The key of [`flow_to_rgb`]: a `side`-pixel disc where each pixel is
/// coloured as the flow pointing from the centre to it, full colour at the
/// rim (speed 1 of the scale); white outside the disc. RGB bytes.
pub fn wheel_key(side: usize) -> Vec<u8> {
    let mut field = FlowField::zeros(side, side);
    let c = (side as f32 - 1.0) / 2.0;
    for y in 0..side {
        for x in 0..side {
            field.u[y * side + x] = (x as f32 - c) / c;
            field.v[y * side + x] = (y as f32 - c) / c;
        }
    }
    let mut rgb = flow_to_rgb(&field, Some(1.0));
    for (i, px) in rgb.chunks_mut(3).enumerate() {
        if field.u[i].hypot(field.v[i]) > 1.0 {
            px.copy_from_slice(&[255, 255, 255]);
        }
    }
    rgb
}

/// Height of [`key_strip`] in pixels.
pub const KEY_STRIP_HEIGHT: usize = 30;

/// A white strip `width` pixels wide that states a flow picture's scale: the
/// [`wheel_key`] and "full colour = <max_speed> px/frame", then `note`. RGB bytes.
pub fn key_strip(width: usize, max_speed: f32, note: &str) -> Vec<u8> {
    let side = KEY_STRIP_HEIGHT - 4;
    let mut c = Canvas::new(width, KEY_STRIP_HEIGHT, [255, 255, 255]);
    c.blit(&wheel_key(side), side, side, 4, 2);
    let label = format!("full colour = {} px/frame{note}", speed_label(max_speed));
    c.text(
        side as isize + 10,
        (KEY_STRIP_HEIGHT as isize - 9) / 2 + 1,
        &label,
        1,
        [20, 20, 20],
    );
    c.rgb
}

/// A speed with the digits it needs: 2, 0.5, 0.12, 12.4.
pub fn speed_label(v: f32) -> String {
    let digits = if v >= 10.0 { 1 } else { 2 };
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_shows_each_direction_in_its_colour() {
        let side = 33;
        let key = wheel_key(side);
        let at = |x: usize, y: usize| &key[(y * side + x) * 3..(y * side + x) * 3 + 3];
        assert_eq!(at(16, 16), &[255, 255, 255], "no motion is white");
        assert_eq!(at(32, 16), &[255, 0, 0], "right, at the rim, is red");
        assert_eq!(at(0, 0), &[255, 255, 255], "outside the disc");
    }

    #[test]
    fn the_strip_shows_the_key_and_its_scale() {
        let strip = key_strip(300, 0.5, "");
        assert_eq!(strip.len(), 300 * KEY_STRIP_HEIGHT * 3);
        // The key's rim is coloured; some text pixels are dark.
        assert!(
            strip
                .chunks(3)
                .any(|p| p[0] > 220 && p[1] < 90 && p[2] < 90),
            "a saturated red at the rim"
        );
        assert!(strip.chunks(3).any(|p| p == [20, 20, 20]));
        assert_eq!(
            [
                speed_label(2.0),
                speed_label(0.5),
                speed_label(0.126),
                speed_label(12.44)
            ],
            ["2", "0.5", "0.13", "12.4"]
        );
    }

    #[test]
    fn zero_is_white_and_directions_follow_the_wheel() {
        let mut f = FlowField::zeros(4, 1);
        (f.u[1], f.v[1]) = (1.0, 0.0); // right
        (f.u[2], f.v[2]) = (-1.0, 0.0); // left
        (f.u[3], f.v[3]) = (0.0, 1.0); // down
        let rgb = flow_to_rgb(&f, Some(1.0));
        assert_eq!(&rgb[0..3], &[255, 255, 255]);
        assert_eq!(&rgb[3..6], &[255, 0, 0], "right is red");
        assert!(
            rgb[6] == 0 && rgb[7] > 200 && rgb[8] > 200,
            "left is cyan: {:?}",
            &rgb[6..9]
        );
        assert!(
            rgb[11] < 100 && rgb[10] > 150,
            "down is yellow-green: {:?}",
            &rgb[9..12]
        );
    }
}
