//! `skeleton`: skeletons made elsewhere, read from files instead of running `pose`.
//!
//! Formats, one file (or folder) per clip under `path`:
//! - `openpose`: `<clip>/` holding OpenPose's per-frame `*_keypoints.json`
//!   (BODY_25, `people[].pose_keypoints_2d`), frames in file-name order;
//! - `coco`: `<clip>.json`, COCO-17 keypoint results, either a list or an
//!   object with `annotations`, each `{image_id, keypoints: [x, y, v] × 17}`,
//!   `image_id` the 0-based frame index;
//! - `csv`: `<clip>.csv` with a `frame,joint,x,y,score` header, joints in
//!   the `layout` given;
//! - `npy`: `<clip>.npy`, a float32/float64 array (frames, joints, 3) of
//!   x, y, score in the `layout` given.
//!
//! Where several people are present, the one with the highest mean score is
//! kept. Frames without a skeleton are empty (nobody). A file that cannot be
//! read fails that clip with the file and the cause; the run goes on. The
//! files' contents are hashed into the operator's cache key, so editing them
//! reruns what depends on them.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::body::{Keypoint, Layout, Skeleton};
use crate::prelude::*;

/// Skeletons read from files instead of running `pose`: OpenPose BODY_25 per-frame JSON, COCO-17
/// keypoint JSON, or plain CSV / NPY in a given layout; one file (OpenPose: one folder) per clip.
/// Takes the clip's frames as its clock. Record: layout, frames with a person, the file read.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkeletonConfig {
    /// Folder holding one file (or, for `openpose`, one folder) per clip.
    #[example("tests/data/skeletons")]
    pub path: PathBuf,
    /// `openpose`, `coco`, `csv` or `npy`.
    #[example("coco")]
    pub format: SkeletonFormat,
    /// Keypoint layout of `csv` and `npy` files (`openpose` is BODY_25, `coco` is COCO-17).
    #[serde(default)]
    pub layout: Option<Layout>,
}

/// File formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SkeletonFormat {
    /// OpenPose per-frame JSON (BODY_25).
    Openpose,
    /// COCO-17 keypoint results JSON.
    Coco,
    /// `frame,joint,x,y,score` rows.
    Csv,
    /// NumPy array (frames, joints, 3).
    Npy,
}

/// The canonical config: the params plus a digest of the files they point
/// to (derived, so its name starts with `_`; users cannot set it).
#[derive(Serialize)]
struct Keyed<'a> {
    #[serde(flatten)]
    config: &'a SkeletonConfig,
    _files: String,
}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "skeleton",
    section: Section::Operators,
    version: 1,
    doc: SkeletonConfig::DOC,
    inputs: &[Port::new("frames", PortType::Frames)
        .hint("connect it to a frame producer such as `decode`")],
    output: Some(PortType::PerFrame(Skeleton::PRODUCT)),
    params: SkeletonConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: SkeletonConfig = parse_params(params)?;
    if matches!(config.format, SkeletonFormat::Csv | SkeletonFormat::Npy) && config.layout.is_none()
    {
        return Err(vec![param_error(
            params,
            "format",
            "`csv` and `npy` files need a `layout` (blazepose33, coco17, openpose25)",
        )]);
    }
    let files = crate::common::folder_digest::digest(&config.path).map_err(|e| {
        vec![param_error(
            params,
            "path",
            format!("{}: {e}", config.path.display()),
        )]
    })?;
    let runtime = Runtime::FrameConsumer(Arc::new(SkeletonReader {
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

struct SkeletonReader {
    config: SkeletonConfig,
}

impl FrameConsumer for SkeletonReader {
    fn start(&self, clip: &Clip, _info: &VideoInfo) -> Result<Box<dyn FrameTask>, String> {
        let (source, frames) = read_clip(&self.config, &clip.id)?;
        Ok(Box::new(SkeletonTask {
            frames,
            source,
            layout: layout_of(&self.config),
            seen: 0,
            pushed: 0,
        }))
    }
}

fn layout_of(config: &SkeletonConfig) -> Layout {
    match config.format {
        SkeletonFormat::Openpose => Layout::Openpose25,
        SkeletonFormat::Coco => Layout::Coco17,
        SkeletonFormat::Csv | SkeletonFormat::Npy => config.layout.expect("checked at build"),
    }
}

/// Reads one clip's skeletons: per frame index, the keypoints (empty: nobody).
pub fn read_clip(
    config: &SkeletonConfig,
    clip: &str,
) -> Result<(PathBuf, Vec<Vec<Keypoint>>), String> {
    let layout = layout_of(config);
    let path = match config.format {
        SkeletonFormat::Openpose => config.path.join(clip),
        SkeletonFormat::Coco => config.path.join(format!("{clip}.json")),
        SkeletonFormat::Csv => config.path.join(format!("{clip}.csv")),
        SkeletonFormat::Npy => config.path.join(format!("{clip}.npy")),
    };
    let frames = match config.format {
        SkeletonFormat::Openpose => read_openpose(&path),
        SkeletonFormat::Coco => read_coco(&path),
        SkeletonFormat::Csv => read_csv(&path, layout.keypoints()),
        SkeletonFormat::Npy => read_npy(&path, layout.keypoints()),
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((path, frames))
}

fn triples(values: &[f64], joints: usize) -> Result<Vec<Keypoint>, String> {
    if values.len() != joints * 3 {
        return Err(format!(
            "expected {} numbers ({joints} keypoints × 3), found {}",
            joints * 3,
            values.len()
        ));
    }
    Ok(values
        .chunks_exact(3)
        .map(|c| Keypoint {
            x: c[0] as f32,
            y: c[1] as f32,
            score: c[2].clamp(0.0, 1.0) as f32,
        })
        .collect())
}

fn mean_score(k: &[Keypoint]) -> f32 {
    k.iter().map(|k| k.score).sum::<f32>() / k.len().max(1) as f32
}

fn numbers(v: &Value, what: &str) -> Result<Vec<f64>, String> {
    v.as_array()
        .ok_or_else(|| format!("`{what}` is not a list"))?
        .iter()
        .map(|n| {
            n.as_f64()
                .ok_or_else(|| format!("`{what}` holds a non-number"))
        })
        .collect()
}

fn read_openpose(dir: &Path) -> Result<Vec<Vec<Keypoint>>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("_keypoints.json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err("no *_keypoints.json files".into());
    }
    files
        .iter()
        .map(|f| {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let v: Value =
                serde_json::from_slice(&std::fs::read(f).map_err(|e| format!("{name}: {e}"))?)
                    .map_err(|e| format!("{name}: not JSON: {e}"))?;
            let people = v["people"]
                .as_array()
                .ok_or_else(|| format!("{name}: no `people` list"))?;
            let mut best: Vec<Keypoint> = Vec::new();
            for person in people {
                let k = triples(
                    &numbers(&person["pose_keypoints_2d"], "pose_keypoints_2d")
                        .map_err(|e| format!("{name}: {e}"))?,
                    25,
                )
                .map_err(|e| format!("{name}: {e}"))?;
                if best.is_empty() || mean_score(&k) > mean_score(&best) {
                    best = k;
                }
            }
            Ok(best)
        })
        .collect()
}

fn read_coco(path: &Path) -> Result<Vec<Vec<Keypoint>>, String> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).map_err(|e| e.to_string())?)
        .map_err(|e| format!("not JSON: {e}"))?;
    let items = match &v {
        Value::Array(items) => items,
        Value::Object(o) => o
            .get("annotations")
            .and_then(Value::as_array)
            .ok_or("no `annotations` list")?,
        _ => return Err("neither a list of results nor an object with `annotations`".into()),
    };
    let mut frames: Vec<Vec<Keypoint>> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let frame = item["image_id"]
            .as_u64()
            .ok_or_else(|| format!("entry {i}: `image_id` is not a frame index"))?
            as usize;
        if frame > 1_000_000 {
            return Err(format!("entry {i}: frame index {frame} is implausible"));
        }
        let k = triples(
            &numbers(&item["keypoints"], "keypoints").map_err(|e| format!("entry {i}: {e}"))?,
            17,
        )
        .map_err(|e| format!("entry {i}: {e}"))?;
        if frames.len() <= frame {
            frames.resize(frame + 1, Vec::new());
        }
        if frames[frame].is_empty() || mean_score(&k) > mean_score(&frames[frame]) {
            frames[frame] = k;
        }
    }
    Ok(frames)
}

fn read_csv(path: &Path, joints: usize) -> Result<Vec<Vec<Keypoint>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim().replace(' ', "") == "frame,joint,x,y,score" => {}
        _ => return Err("the first line must be the header `frame,joint,x,y,score`".into()),
    }
    let mut frames: Vec<Vec<Keypoint>> = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: &str| format!("line {}: {why}", n + 1);
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != 5 {
            return Err(bad("expected 5 fields"));
        }
        let frame: usize = f[0].parse().map_err(|_| bad("frame is not an index"))?;
        let joint: usize = f[1].parse().map_err(|_| bad("joint is not an index"))?;
        if joint >= joints || frame > 1_000_000 {
            return Err(bad(&format!(
                "joint {joint} or frame {frame} out of range (layout has {joints} joints)"
            )));
        }
        let num = |s: &str| {
            s.parse::<f32>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad("x, y and score must be numbers"))
        };
        let k = Keypoint {
            x: num(f[2])?,
            y: num(f[3])?,
            score: num(f[4])?.clamp(0.0, 1.0),
        };
        if frames.len() <= frame {
            frames.resize(frame + 1, Vec::new());
        }
        if frames[frame].is_empty() {
            frames[frame] = vec![
                Keypoint {
                    x: 0.0,
                    y: 0.0,
                    score: 0.0
                };
                joints
            ];
        }
        frames[frame][joint] = k;
    }
    Ok(frames)
}

fn read_npy(path: &Path, joints: usize) -> Result<Vec<Vec<Keypoint>>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or("truncated header")?;
    let header = String::from_utf8_lossy(header);
    let width = if header.contains("'<f4'") {
        4
    } else if header.contains("'<f8'") {
        8
    } else {
        return Err(format!(
            "dtype must be little-endian float32 or float64: {}",
            header.trim()
        ));
    };
    if header.contains("'fortran_order': True") {
        return Err("Fortran-ordered arrays are not supported".into());
    }
    let shape_text = header
        .split("'shape':")
        .nth(1)
        .and_then(|s| s.split(['(', ')']).nth(1))
        .ok_or("no shape")?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| "bad shape"))
        .collect::<Result<_, _>>()?;
    if shape.len() != 3 || shape[1] != joints || shape[2] != 3 {
        return Err(format!(
            "shape must be (frames, {joints}, 3), found {shape:?}"
        ));
    }
    let data = &bytes[start + header_len..];
    let count = shape[0] * joints * 3;
    if data.len() < count * width {
        return Err(format!(
            "truncated data: {} bytes for {count} values",
            data.len()
        ));
    }
    let values: Vec<f64> = (0..count)
        .map(|i| {
            let b = &data[i * width..(i + 1) * width];
            if width == 4 {
                f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes")))
            } else {
                f64::from_le_bytes(b.try_into().expect("8 bytes"))
            }
        })
        .collect();
    values
        .chunks_exact(joints * 3)
        .enumerate()
        .map(|(t, frame)| {
            if frame.iter().any(|v| !v.is_finite()) {
                // NaN rows mark frames without a person.
                return Ok(Vec::new());
            }
            triples(frame, joints).map_err(|e| format!("frame {t}: {e}"))
        })
        .collect()
}

struct SkeletonTask {
    frames: Vec<Vec<Keypoint>>,
    source: PathBuf,
    layout: Layout,
    seen: u64,
    pushed: u64,
}

impl FrameTask for SkeletonTask {
    fn push(
        &mut self,
        frame: &Frame,
        _inputs: &FrameInputs<'_>,
    ) -> Result<Option<FrameProduct>, String> {
        let keypoints = self
            .frames
            .get(frame.index as usize)
            .cloned()
            .unwrap_or_default();
        self.seen += u64::from(!keypoints.is_empty());
        self.pushed += 1;
        Ok(Some(Arc::new(Skeleton {
            layout: self.layout,
            keypoints,
        })))
    }

    fn finish(self: Box<Self>) -> Result<Output, String> {
        if self.frames.len() as u64 > self.pushed {
            tracing::warn!(file = %self.source.display(), "skeleton file has {} frames, the video {}", self.frames.len(), self.pushed);
        }
        Ok(Output::record(serde_json::json!({
            "layout": self.layout,
            "frames": self.pushed,
            "frames_with_person": self.seen,
            "source": self.source.display().to_string(),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path, format: SkeletonFormat, layout: Option<Layout>) -> SkeletonConfig {
        SkeletonConfig {
            path: dir.to_path_buf(),
            format,
            layout,
        }
    }

    #[test]
    fn each_format_reads_the_same_skeleton() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // COCO: two people on frame 1; the surer one wins. Frame 0 has nobody.
        let person = |s: f64| {
            (0..17)
                .flat_map(|j| [j as f64 * 10.0, 5.0, s])
                .collect::<Vec<_>>()
        };
        let coco = serde_json::json!([{"image_id": 1, "keypoints": person(0.4)}, {"image_id": 1, "keypoints": person(0.9)}]);
        std::fs::write(d.join("a.json"), coco.to_string()).unwrap();
        let (_, frames) = read_clip(&config(d, SkeletonFormat::Coco, None), "a").unwrap();
        assert_eq!(frames.len(), 2);
        assert!(frames[0].is_empty());
        assert_eq!((frames[1][3].x, frames[1][3].score), (30.0, 0.9));

        std::fs::write(
            d.join("a.csv"),
            "frame,joint,x,y,score\n0,3,30,5,0.9\n0,16,160,5,0.8\n",
        )
        .unwrap();
        let (_, frames) =
            read_clip(&config(d, SkeletonFormat::Csv, Some(Layout::Coco17)), "a").unwrap();
        assert_eq!((frames[0][3].x, frames[0][16].score), (30.0, 0.8));

        // float32 (1, 17, 3)
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 17, 3), }";
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        let padded = format!("{header:<117}\n");
        npy.extend((padded.len() as u16).to_le_bytes());
        npy.extend(padded.as_bytes());
        for v in person(0.5) {
            npy.extend((v as f32).to_le_bytes());
        }
        std::fs::write(d.join("a.npy"), npy).unwrap();
        let (_, frames) =
            read_clip(&config(d, SkeletonFormat::Npy, Some(Layout::Coco17)), "a").unwrap();
        assert_eq!((frames[0][4].x, frames[0][4].score), (40.0, 0.5));

        std::fs::create_dir(d.join("b")).unwrap();
        let body25: Vec<f64> = (0..25).flat_map(|j| [j as f64, 1.0, 0.7]).collect();
        let frame = serde_json::json!({"version": 1.3, "people": [{"pose_keypoints_2d": body25}]});
        for t in 0..3 {
            std::fs::write(
                d.join(format!("b/b_{t:012}_keypoints.json")),
                frame.to_string(),
            )
            .unwrap();
        }
        let (_, frames) = read_clip(&config(d, SkeletonFormat::Openpose, None), "b").unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[2][24].x, 24.0);
    }

    #[test]
    fn broken_files_name_the_file_and_the_cause() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("x.json"),
            "{\"annotations\": [{\"image_id\": 0, \"keypoints\": [1, 2]}]}",
        )
        .unwrap();
        let err = read_clip(&config(d, SkeletonFormat::Coco, None), "x").unwrap_err();
        assert!(
            err.contains("x.json") && err.contains("expected 51 numbers"),
            "{err}"
        );
        std::fs::write(d.join("y.json"), "not json").unwrap();
        assert!(
            read_clip(&config(d, SkeletonFormat::Coco, None), "y")
                .unwrap_err()
                .contains("not JSON")
        );
        std::fs::write(d.join("z.csv"), "frame,joint,x,y,score\n0,40,1,1,1\n").unwrap();
        let err =
            read_clip(&config(d, SkeletonFormat::Csv, Some(Layout::Coco17)), "z").unwrap_err();
        assert!(
            err.contains("line 2") && err.contains("out of range"),
            "{err}"
        );
        let err = read_clip(&config(d, SkeletonFormat::Coco, None), "missing").unwrap_err();
        assert!(err.contains("missing.json"), "{err}");
        std::fs::write(
            d.join("w.npy"),
            b"\x93NUMPY\x01\x00\x10\x00{'descr': '<i8'}",
        )
        .unwrap();
        assert!(
            read_clip(&config(d, SkeletonFormat::Npy, Some(Layout::Coco17)), "w")
                .unwrap_err()
                .contains("dtype")
        );
    }
}
