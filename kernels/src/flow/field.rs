//! Dense flow fields, the Middlebury `.flo` format and endpoint error.

use std::io::{self, Read, Write};

/// A dense 2-D motion field: per pixel (u, v) in pixels, x right, y down.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowField {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Horizontal components, row-major.
    pub u: Vec<f32>,
    /// Vertical components, row-major.
    pub v: Vec<f32>,
}

/// `.flo` magic number (the float 202021.25, "PIEH" in bytes).
const FLO_MAGIC: f32 = 202_021.25;

/// Values above this in magnitude mark unknown flow in Middlebury ground truth.
pub const UNKNOWN_FLOW: f32 = 1e9;

impl FlowField {
    /// A field of zeros.
    pub fn zeros(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            u: vec![0.0; width * height],
            v: vec![0.0; width * height],
        }
    }

    /// Reads a `.flo` file: magic, width, height, then interleaved little-endian f32 (u, v).
    pub fn read_flo(mut r: impl Read) -> io::Result<Self> {
        let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
        let mut head = [0u8; 12];
        r.read_exact(&mut head)
            .map_err(|_| bad("too short for a .flo header".into()))?;
        let magic = f32::from_le_bytes(head[0..4].try_into().expect("4 bytes"));
        if magic != FLO_MAGIC {
            return Err(bad(format!(
                "not a .flo file (magic {magic}, expected {FLO_MAGIC})"
            )));
        }
        let dim = |b: &[u8]| i32::from_le_bytes(b.try_into().expect("4 bytes"));
        let (w, h) = (dim(&head[4..8]), dim(&head[8..12]));
        if !(1..=1 << 15).contains(&w) || !(1..=1 << 15).contains(&h) {
            return Err(bad(format!("implausible .flo size {w}x{h}")));
        }
        let (w, h) = (w as usize, h as usize);
        // Read what is there (a header alone must not make us allocate what it claims).
        let mut bytes = Vec::new();
        r.take((w * h * 8) as u64).read_to_end(&mut bytes)?;
        if bytes.len() != w * h * 8 {
            return Err(bad(format!(
                "truncated .flo: {w}x{h} needs {} data bytes, found {}",
                w * h * 8,
                bytes.len()
            )));
        }
        let mut field = Self::zeros(w, h);
        for (i, px) in bytes.chunks_exact(8).enumerate() {
            field.u[i] = f32::from_le_bytes(px[0..4].try_into().expect("4 bytes"));
            field.v[i] = f32::from_le_bytes(px[4..8].try_into().expect("4 bytes"));
        }
        Ok(field)
    }

    /// Writes the `.flo` format.
    pub fn write_flo(&self, mut w: impl Write) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(12 + self.u.len() * 8);
        bytes.extend_from_slice(&FLO_MAGIC.to_le_bytes());
        bytes.extend_from_slice(&(self.width as i32).to_le_bytes());
        bytes.extend_from_slice(&(self.height as i32).to_le_bytes());
        for (u, v) in self.u.iter().zip(&self.v) {
            bytes.extend_from_slice(&u.to_le_bytes());
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        w.write_all(&bytes)
    }

    /// The four directional components (up, right, down, left): the positive parts
    /// of −v, u, v and −u, each a non-negative field in pixels.
    pub fn directional_components(&self) -> [Vec<f32>; 4] {
        let pos = |x: f32| x.max(0.0);
        [
            self.v.iter().map(|&v| pos(-v)).collect(),
            self.u.iter().map(|&u| pos(u)).collect(),
            self.v.iter().map(|&v| pos(v)).collect(),
            self.u.iter().map(|&u| pos(-u)).collect(),
        ]
    }

    /// Whether the flow at index `i` is known (Middlebury marks unknown with huge values).
    pub fn known(&self, i: usize) -> bool {
        self.u[i].abs() < UNKNOWN_FLOW
            && self.v[i].abs() < UNKNOWN_FLOW
            && self.u[i].is_finite()
            && self.v[i].is_finite()
    }
}

/// Average endpoint error of `flow` against `truth` over pixels with known truth.
///
/// # Panics
/// When the sizes differ.
pub fn average_endpoint_error(flow: &FlowField, truth: &FlowField) -> f64 {
    assert_eq!(
        (flow.width, flow.height),
        (truth.width, truth.height),
        "flow and truth sizes differ"
    );
    let (mut sum, mut n) = (0.0f64, 0usize);
    for i in 0..truth.u.len() {
        if truth.known(i) {
            let (du, dv) = (
                f64::from(flow.u[i] - truth.u[i]),
                f64::from(flow.v[i] - truth.v[i]),
            );
            sum += (du * du + dv * dv).sqrt();
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { sum / n as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flo_round_trips_and_rejects_corrupt_files() {
        let mut f = FlowField::zeros(3, 2);
        f.u[4] = 1.5;
        f.v[5] = -2.25;
        let mut bytes = Vec::new();
        f.write_flo(&mut bytes).unwrap();
        assert_eq!(bytes.len(), 12 + 3 * 2 * 8);
        assert_eq!(FlowField::read_flo(bytes.as_slice()).unwrap(), f);
        assert!(
            FlowField::read_flo(&bytes[..20])
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );
        let mut wrong = bytes.clone();
        wrong[0] = 0;
        assert!(
            FlowField::read_flo(wrong.as_slice())
                .unwrap_err()
                .to_string()
                .contains("magic")
        );
        let mut huge = bytes;
        huge[4..8].copy_from_slice(&(1i32 << 30).to_le_bytes());
        assert!(
            FlowField::read_flo(huge.as_slice())
                .unwrap_err()
                .to_string()
                .contains("implausible")
        );
    }

    #[test]
    fn directional_components_split_motion_into_up_right_down_left() {
        let mut f = FlowField::zeros(2, 1);
        (f.u[0], f.v[0]) = (2.0, -1.5); // right and up (y points down)
        (f.u[1], f.v[1]) = (-0.5, 0.25); // left and down
        let [up, right, down, left] = f.directional_components();
        assert_eq!(
            (up, right, down, left),
            (
                vec![1.5, 0.0],
                vec![2.0, 0.0],
                vec![0.0, 0.25],
                vec![0.0, 0.5]
            )
        );
    }

    #[test]
    fn endpoint_error_skips_unknown_truth() {
        let mut truth = FlowField::zeros(2, 1);
        truth.u[1] = 1e10;
        let mut flow = FlowField::zeros(2, 1);
        flow.u[0] = 3.0;
        flow.v[0] = 4.0;
        assert_eq!(average_endpoint_error(&flow, &truth), 5.0);
    }

    #[test]
    fn reads_the_real_middlebury_ground_truth() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/middlebury/Grove2/flow10.flo"
        );
        let f = FlowField::read_flo(std::fs::File::open(path).expect("shared Middlebury data"))
            .unwrap();
        assert_eq!((f.width, f.height), (640, 480));
        assert!((0..f.u.len()).all(|i| f.known(i)));
    }
}
