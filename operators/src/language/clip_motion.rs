//! A descriptor record as the language stages read it: per part, per frame
//! vectors (pixels/frame, y up) and anchors, the clip's rate and size, and
//! the motion summary the descriptor computed.

use serde_json::Value;

use crate::common::body::PARTS;
use crate::common::motion_summary::{MotionSummary, PartSummary};

/// One clip's motion.
#[derive(Clone, Debug)]
pub struct ClipMotion {
    /// Frames per second.
    pub fps: f64,
    /// Frames.
    pub num_frames: usize,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Per part in [`PARTS`] order: vectors per frame.
    pub vectors: Vec<Vec<[f32; 2]>>,
    /// Per part in [`PARTS`] order: normalised anchors per frame.
    pub coords: Vec<Vec<[f32; 2]>>,
    /// The descriptor's summary.
    pub summary: MotionSummary,
}

impl ClipMotion {
    /// Reads a `descriptor` operator's record.
    pub fn from_record(record: &Value) -> Result<Self, String> {
        let meta = record
            .get("meta")
            .ok_or("the input is not a descriptor record (no `meta`)")?;
        let fps = meta["fps"]
            .as_f64()
            .filter(|f| *f > 0.0)
            .ok_or("descriptor meta without a positive fps")?;
        let width = meta["width"].as_u64().unwrap_or(0) as u32;
        let height = meta["height"].as_u64().unwrap_or(0) as u32;
        let descriptor = record
            .get("descriptor")
            .and_then(Value::as_object)
            .ok_or("descriptor record without `descriptor`")?;
        let mut vectors = Vec::with_capacity(PARTS.len());
        let mut coords = Vec::with_capacity(PARTS.len());
        for part in PARTS {
            let frames = descriptor
                .get(part)
                .and_then(Value::as_array)
                .ok_or_else(|| format!("descriptor without part {part}"))?;
            let pair = |v: &Value, key: &str| -> Result<[f32; 2], String> {
                let a = v[key]
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .ok_or_else(|| format!("{part}: `{key}` is not a pair"))?;
                Ok([
                    a[0].as_f64().unwrap_or(0.0) as f32,
                    a[1].as_f64().unwrap_or(0.0) as f32,
                ])
            };
            vectors.push(
                frames
                    .iter()
                    .map(|f| pair(f, "vector"))
                    .collect::<Result<Vec<_>, _>>()?,
            );
            coords.push(
                frames
                    .iter()
                    .map(|f| pair(f, "coord"))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        let num_frames = vectors[0].len();
        let summary: MotionSummary = serde_json::from_value(record["summary"].clone())
            .map_err(|e| format!("descriptor summary: {e}"))?;
        Ok(Self {
            fps,
            num_frames,
            width,
            height,
            vectors,
            coords,
            summary,
        })
    }

    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.num_frames as f64 / self.fps
    }

    /// A part's index in [`PARTS`].
    pub fn index(part: &str) -> usize {
        PARTS
            .iter()
            .position(|p| *p == part)
            .expect("part names come from PARTS")
    }

    /// A part's summary.
    pub fn part(&self, i: usize) -> &PartSummary {
        &self.summary.parts[i].1
    }
}

/// A part's name for people: `Left_Upper_Arm` → `left upper arm`.
pub fn spoken(part: &str) -> String {
    part.replace('_', " ").to_lowercase()
}

/// Seconds with one decimal, as captions write them.
pub fn secs(t: f64) -> String {
    format!("{t:.1}")
}

/// The text with its first letter in upper case.
pub fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

/// `a`, `a and b`, `a, b and c`.
pub fn join(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
