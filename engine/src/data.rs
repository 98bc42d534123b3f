//! The data contracts that flow between operators: clips, frames, outputs.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One video to process, as a source lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Clip {
    /// Unique id, e.g. `0030_01_0002`; safe as a file name.
    pub id: String,
    /// Where the video is.
    pub path: PathBuf,
    /// Action label (MA-52 action id), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<u32>,
    /// Action name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_name: Option<String>,
    /// Participant id (MA-52: first field of the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    /// Dataset split (`train`, `val`, `test`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// What the source states about the clip beyond listing it (a published
    /// benchmark's questions on it); part of the clip's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<serde_json::Value>,
}

/// Pixel layout of a [`Frame`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelFormat {
    /// One byte per pixel (luma).
    Gray,
    /// Three bytes per pixel, R G B.
    Rgb,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            PixelFormat::Gray => 1,
            PixelFormat::Rgb => 3,
        }
    }
}

/// One decoded frame, tightly packed rows.
#[derive(Clone, Debug)]
pub struct Frame {
    /// 0-based index in the decoded (possibly resampled) sequence.
    pub index: u64,
    /// Presentation time in seconds from the stream start.
    pub time: f64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixel layout.
    pub format: PixelFormat,
    /// `height * width * channels` bytes.
    pub data: Vec<u8>,
}

/// What a frame producer knows about a video before its first frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VideoInfo {
    /// Width of produced frames.
    pub width: u32,
    /// Height of produced frames.
    pub height: u32,
    /// Frame rate of produced frames.
    pub fps: f64,
    /// Frame count declared by the container (may be absent or wrong).
    pub declared_frames: Option<u64>,
    /// Codec name.
    pub codec: String,
}

/// A named binary attached to an output (a PNG, a `.flo`), stored by hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Blob {
    /// File extension without dot; a sink writes it as `<clip>.<ext>`.
    pub ext: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// What one node produced for one clip: a JSON record plus optional blobs,
/// and the pictures it drew.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// The record (small, JSON).
    pub record: serde_json::Value,
    /// Attached binaries.
    pub blobs: Vec<Blob>,
    /// Pictures for people to look at, which nothing downstream reads: stored
    /// under their own key, by the settings that draw them, so that changing
    /// those settings never recomputes what follows.
    pub pictures: Option<Pictures>,
}

/// Pictures a node drew for a clip, with what a reader needs to know about them.
#[derive(Clone, Debug, PartialEq)]
pub struct Pictures {
    /// What the pictures show (which frames, the colour scale), as JSON.
    pub note: serde_json::Value,
    /// The pictures; a sink writes each as `<clip>.<ext>` beside the output's blobs.
    pub blobs: Vec<Blob>,
}

impl Output {
    /// An output with a record and no blobs.
    pub fn record(record: serde_json::Value) -> Self {
        Self::new(record, Vec::new())
    }

    /// An output with a record and blobs, no pictures.
    pub fn new(record: serde_json::Value, blobs: Vec<Blob>) -> Self {
        Self {
            record,
            blobs,
            pictures: None,
        }
    }

    /// The same output with pictures.
    pub fn with_pictures(self, pictures: Pictures) -> Self {
        Self {
            pictures: Some(pictures),
            ..self
        }
    }
}

/// A per-item failure: the run goes on and reports it in `errors.jsonl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemError {
    /// The clip (or list entry) concerned.
    pub clip: String,
    /// The node that failed.
    pub operator: String,
    /// Why, in words.
    pub cause: String,
}
