//! `descriptor-files`: motion descriptors made elsewhere, read from files,
//! so the language stages run without video: a previous run's
//! `descriptors/` folder, the truth descriptors `maflow synth` writes, or
//! descriptors in the benchmark's shape from another tool.
//!
//! Per clip it reads `<clip>.json` (`{"Head": [{"vector": [vx, vy],
//! "coord": [x, y]}, ...], ...}` over the 14 parts, vy > 0 upward; a `null`
//! frame is unsure and interpolated) and, when present, the sidecar
//! `<clip>.meta.json` for the frame rate and size; without one, the `fps`,
//! `width` and `height` params say them. The record is the `descriptor`
//! operator's, with the summary recomputed by the same rules. The files'
//! contents are hashed into the cache key.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::body::PARTS;
use crate::common::record_types::{self as records, record};
use crate::frame::align::PartsFrame;
use crate::frame::descriptor::{DescriptorConfig, assemble};
use crate::prelude::*;

/// Motion descriptors read from files instead of computed from video: `<clip>.json` in the
/// benchmark's shape (14 parts × frames of {vector, coord}; null frames are interpolated) and
/// `<clip>.meta.json` (fps, size) when present. Record: the `descriptor` operator's, summary included.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescriptorFilesConfig {
    /// Folder holding `<clip>.json` (and optionally `<clip>.meta.json`) per clip.
    #[example("tests/data/descriptors")]
    pub path: PathBuf,
    /// Frame rate of clips without a sidecar.
    #[serde(default)]
    pub fps: Option<f64>,
    /// Frame width in pixels of clips without a sidecar.
    #[serde(default)]
    pub width: Option<u32>,
    /// Frame height in pixels of clips without a sidecar.
    #[serde(default)]
    pub height: Option<u32>,
    /// Rounding and summary rules, as the `descriptor` operator's params.
    #[serde(default)]
    #[fields(DescriptorConfig)]
    pub descriptor: DescriptorConfig,
}

/// The canonical config: the params plus a digest of the files read.
#[derive(Serialize)]
struct Keyed<'a> {
    #[serde(flatten)]
    config: &'a DescriptorFilesConfig,
    _files: String,
}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "descriptor-files",
    section: Section::Operators,
    version: 1,
    doc: DescriptorFilesConfig::DOC,
    inputs: &[Port::new("clips", PortType::Clips)
        .hint("connect it to a source such as `ma52` or `folder`")],
    output: Some(record(records::DESCRIPTOR)),
    params: DescriptorFilesConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: DescriptorFilesConfig = parse_params(params)?;
    let mut errors = Vec::new();
    if config.fps.is_some_and(|f| !(f.is_finite() && f > 0.0)) {
        errors.push(param_error(params, "fps", "`fps` must be positive"));
    }
    if config.width == Some(0) || config.height == Some(0) {
        errors.push(param_error(
            params,
            "width",
            "`width` and `height` must be positive",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let files = crate::common::folder_digest::digest(&config.path).map_err(|e| {
        vec![param_error(
            params,
            "path",
            format!("{}: {e}", config.path.display()),
        )]
    })?;
    let runtime = Runtime::Record(Arc::new(DescriptorFiles {
        config: config.clone(),
    }));
    Ok(Built::new(
        &Keyed {
            config: &config,
            _files: files,
        },
        runtime,
    ))
}

struct DescriptorFiles {
    config: DescriptorFilesConfig,
}

impl RecordOperator for DescriptorFiles {
    fn run(
        &self,
        clip: &Clip,
        _inputs: &[&Value],
        _ctx: &mut RecordContext<'_>,
    ) -> Result<Output, String> {
        let path = self.config.path.join(format!("{}.json", clip.id));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let descriptor: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
        let frames = parts_frames(&descriptor).map_err(|e| format!("{}: {e}", path.display()))?;
        let info = self.info(&clip.id)?;
        let mut output = assemble(&frames, &info, &self.config.descriptor)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // The files are already on disk; the record is what the stages after need.
        output.blobs.clear();
        Ok(output)
    }
}

impl DescriptorFiles {
    /// Frame rate and size: the sidecar's, else the params'.
    fn info(&self, clip: &str) -> Result<VideoInfo, String> {
        let sidecar = self.config.path.join(format!("{clip}.meta.json"));
        let (fps, width, height) = match std::fs::read_to_string(&sidecar) {
            Ok(text) => {
                let v: Value = serde_json::from_str(&text)
                    .map_err(|e| format!("{}: not JSON: {e}", sidecar.display()))?;
                let meta = &v["meta"];
                (
                    meta["fps"].as_f64(),
                    meta["width"].as_u64().map(|w| w as u32),
                    meta["height"].as_u64().map(|h| h as u32),
                )
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                (self.config.fps, self.config.width, self.config.height)
            }
            Err(e) => return Err(format!("{}: {e}", sidecar.display())),
        };
        match (
            fps.filter(|f| *f > 0.0),
            width.filter(|w| *w > 0),
            height.filter(|h| *h > 0),
        ) {
            (Some(fps), Some(width), Some(height)) => Ok(VideoInfo {
                width,
                height,
                fps,
                declared_frames: None,
                codec: "descriptor".into(),
            }),
            _ => Err(format!(
                "{clip}: no frame rate and size: {} lacks them and the `fps`, `width` and `height` params are not all set",
                sidecar.display()
            )),
        }
    }
}

/// The frames of a benchmark-shaped descriptor; `null` frames are unsure.
fn parts_frames(descriptor: &Value) -> Result<Vec<PartsFrame>, String> {
    let object = descriptor.as_object().ok_or("not an object of parts")?;
    let mut frames: Vec<PartsFrame> = Vec::new();
    for (p, part) in PARTS.iter().enumerate() {
        let track = object
            .get(*part)
            .and_then(Value::as_array)
            .ok_or_else(|| format!("no frames for part {part}"))?;
        if p == 0 {
            frames = vec![
                PartsFrame {
                    vector: [[0.0; 2]; PART_COUNT],
                    coord: [[0.0; 2]; PART_COUNT],
                    sure: [false; PART_COUNT],
                    pixels: [0; PART_COUNT]
                };
                track.len()
            ];
        } else if track.len() != frames.len() {
            return Err(format!(
                "part {part} has {} frames, {} has {}",
                track.len(),
                PARTS[0],
                frames.len()
            ));
        }
        for (t, entry) in track.iter().enumerate() {
            if entry.is_null() {
                continue;
            }
            let pair = |key: &str| -> Result<[f32; 2], String> {
                match entry[key]
                    .as_array()
                    .map(|a| a.iter().map(Value::as_f64).collect::<Vec<_>>())
                    .as_deref()
                {
                    Some([Some(x), Some(y)]) if x.is_finite() && y.is_finite() => {
                        Ok([*x as f32, *y as f32])
                    }
                    _ => Err(format!(
                        "{part}, frame {t}: `{key}` is not a pair of numbers"
                    )),
                }
            };
            frames[t].vector[p] = pair("vector")?;
            frames[t].coord[p] = pair("coord")?;
            frames[t].sure[p] = true;
        }
    }
    if frames.is_empty() {
        return Err("no frames".into());
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_frames_are_unsure_and_malformed_entries_name_part_and_frame() {
        let mut d = serde_json::Map::new();
        for part in PARTS {
            d.insert(part.into(), json!([{"vector": [0.0, 0.0], "coord": [0.5, 0.5]}, null, {"vector": [1.0, -1.0], "coord": [0.5, 0.4]}]));
        }
        let frames = parts_frames(&Value::Object(d.clone())).unwrap();
        assert_eq!(frames.len(), 3);
        assert!(frames[0].sure[3] && !frames[1].sure[3] && frames[2].sure[3]);
        assert_eq!(frames[2].vector[13], [1.0, -1.0]);
        d.insert(
            "Left_Hand".into(),
            json!([{"vector": [0.0], "coord": [0.5, 0.5]}, null, null]),
        );
        assert_eq!(
            parts_frames(&Value::Object(d.clone())).unwrap_err(),
            "Left_Hand, frame 0: `vector` is not a pair of numbers"
        );
        d.insert("Left_Hand".into(), json!([null]));
        assert!(
            parts_frames(&Value::Object(d.clone()))
                .unwrap_err()
                .contains("Left_Hand has 1 frames")
        );
        d.remove("Torso");
        assert_eq!(
            parts_frames(&Value::Object(d)).unwrap_err(),
            "no frames for part Torso"
        );
    }
}
