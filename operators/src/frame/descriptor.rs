//! `descriptor`: the per-clip motion descriptor, its sidecar and summary.
//!
//! Collects `align`'s frames, fills unsure measurements by linear
//! interpolation between sure neighbours (held at the ends), and writes:
//! `<clip>.json`, the descriptor in exactly the benchmark's shape
//! (`{"Head": [{"vector": [vx, vy], "coord": [x, y]}, ...], ...}`, vy > 0
//! upward), and `<clip>.meta.json`, the sidecar (fps, frames, size, method
//! versions, per-part confidence and interpolated frames) with the motion
//! summary. The record holds all three for the stages after it.

use serde_json::{Map, Value, json};

use crate::common::body::PARTS;
use crate::common::motion_summary::{SummaryParams, summarise};
use crate::common::record_types::{self as records, record};
use crate::common::rounding::round_to as round;
use crate::frame::align::PartsFrame;
use crate::prelude::*;

/// The clip's motion descriptor: per body part (14) and frame {vector: [vx, vy] px/frame with vy > 0 up,
/// coord: [x, y] normalised, origin top-left}; unsure frames interpolated. Blobs: `<clip>.json` (the
/// descriptor, exactly) and `<clip>.meta.json` (fps, frames, size, versions, per-part confidence,
/// interpolated frames, and the motion summary: periods, phases, onsets, energy, part distances).
#[configurable(default)]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescriptorConfig {
    /// Decimals of `vector` values (pixels/frame).
    #[default(2)]
    pub vector_decimals: i32,
    /// Decimals of `coord` values (normalised).
    #[default(3)]
    pub coord_decimals: i32,
    /// Speeds below this (pixels/frame) never count as activity in the summary.
    #[default(0.3)]
    pub noise_floor: f32,
    /// A part is active when its speed reaches this fraction of its peak.
    #[default(0.3)]
    pub relative_threshold: f32,
    /// Active periods closer than this many seconds are merged.
    #[default(0.2)]
    pub merge_gap: f64,
    /// Active periods shorter than this many seconds are dropped.
    #[default(0.1)]
    pub min_period: f64,
}

/// Version of the descriptor format written in the sidecar.
pub const FORMAT_VERSION: u32 = 1;

/// Input: each frame's body-part vectors and anchors.
const PARTS_IN: FrameIn<PartsFrame> = FrameIn::new(0, "parts");

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "descriptor",
    section: Section::Operators,
    version: 2,
    doc: DescriptorConfig::DOC,
    inputs: &[PARTS_IN.port("connect it to an `align` operator")],
    output: Some(record(records::DESCRIPTOR)),
    params: DescriptorConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: DescriptorConfig = parse_params(params)?;
    let mut errors = Vec::new();
    for (field, v) in [
        ("vector_decimals", config.vector_decimals),
        ("coord_decimals", config.coord_decimals),
    ] {
        if !(0..=6).contains(&v) {
            errors.push(param_error(
                params,
                field,
                format!("`{field}` must be between 0 and 6"),
            ));
        }
    }
    if !(0.0..=1.0).contains(&config.relative_threshold) {
        errors.push(param_error(
            params,
            "relative_threshold",
            "`relative_threshold` must be in [0, 1]",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Built::new(
        &config,
        Runtime::FrameConsumer(Arc::new(DescriptorOperator {
            config: config.clone(),
        })),
    ))
}

struct DescriptorOperator {
    config: DescriptorConfig,
}

impl FrameConsumer for DescriptorOperator {
    fn start(&self, _clip: &Clip, info: &VideoInfo) -> Result<Box<dyn FrameTask>, String> {
        Ok(Box::new(DescriptorTask {
            config: self.config.clone(),
            info: info.clone(),
            frames: Vec::new(),
        }))
    }
}

struct DescriptorTask {
    config: DescriptorConfig,
    info: VideoInfo,
    frames: Vec<PartsFrame>,
}

impl FrameTask for DescriptorTask {
    fn push(
        &mut self,
        frame: &Frame,
        inputs: &FrameInputs<'_>,
    ) -> Result<Option<FrameProduct>, String> {
        let parts = inputs
            .get(&PARTS_IN)
            .ok_or_else(|| format!("descriptor: no body parts for frame {}", frame.index))?;
        self.frames.push(parts.clone());
        Ok(None)
    }

    fn finish(self: Box<Self>) -> Result<Output, String> {
        assemble(&self.frames, &self.info, &self.config)
    }
}

/// The descriptor record and its two files from a clip's frames of part
/// measurements: unsure frames interpolated, values rounded, summary computed.
pub fn assemble(
    frames: &[PartsFrame],
    info: &VideoInfo,
    config: &DescriptorConfig,
) -> Result<Output, String> {
    let n = frames.len();
    if n == 0 {
        return Err("no frames".into());
    }
    if !frames.iter().any(|f| f.sure.iter().any(|&s| s)) {
        return Err(format!(
            "no body part was measured in any of the {n} frames (no person found)"
        ));
    }
    let tracks = PartTracks::of(frames);
    let (vectors, coords) = (&tracks.vectors, &tracks.coords);
    let descriptor = descriptor_json(vectors, coords, config);
    let params = SummaryParams {
        noise_floor: config.noise_floor,
        relative_threshold: config.relative_threshold,
        merge_gap: config.merge_gap,
        min_period: config.min_period,
    };
    let summary = summarise(vectors, coords, info.width, info.height, info.fps, &params);
    let meta = json!({
        "format_version": FORMAT_VERSION,
        "fps": info.fps,
        "num_frames": n,
        "width": info.width,
        "height": info.height,
        "vector_units": "pixels/frame, x right, y up",
        "coord_units": "normalised to [0, 1], origin top-left, y down",
        "part_confidence": tracks.confidence,
        "interpolated_frames": tracks.interpolated,
    });
    let summary = serde_json::to_value(&summary).expect("summaries serialise");
    let sidecar = json!({"meta": meta, "summary": summary});
    let blobs = vec![
        Blob {
            ext: "json".into(),
            bytes: to_json_bytes(&descriptor),
        },
        Blob {
            ext: "meta.json".into(),
            bytes: to_json_bytes(&sidecar),
        },
    ];
    Ok(Output {
        record: json!({"descriptor": descriptor, "meta": meta, "summary": summary}),
        blobs,
        pictures: None,
    })
}

/// Each part's vectors and anchors over the clip, unsure frames filled in,
/// with the share of sure frames and the frames filled.
struct PartTracks {
    vectors: Vec<Vec<[f32; 2]>>,
    coords: Vec<Vec<[f32; 2]>>,
    confidence: Map<String, Value>,
    interpolated: Map<String, Value>,
}

impl PartTracks {
    fn of(frames: &[PartsFrame]) -> Self {
        let n = frames.len();
        let mut tracks = Self {
            vectors: Vec::with_capacity(PART_COUNT),
            coords: Vec::with_capacity(PART_COUNT),
            confidence: Map::new(),
            interpolated: Map::new(),
        };
        for (p, name) in PARTS.iter().enumerate() {
            let sure: Vec<bool> = frames.iter().map(|f| f.sure[p]).collect();
            let v = fill_unsure(
                &frames.iter().map(|f| f.vector[p]).collect::<Vec<_>>(),
                &sure,
            );
            let c = fill_unsure(
                &frames.iter().map(|f| f.coord[p]).collect::<Vec<_>>(),
                &sure,
            );
            tracks.vectors.push(v);
            tracks.coords.push(c);
            let sure_count = sure.iter().filter(|s| **s).count();
            tracks.confidence.insert(
                (*name).into(),
                json!(round(sure_count as f64 / n as f64, 3)),
            );
            let filled: Vec<usize> = (0..n).filter(|&t| !sure[t]).collect();
            tracks.interpolated.insert((*name).into(), json!(filled));
        }
        tracks
    }
}

/// The descriptor: per part and frame `{"vector", "coord"}`, rounded as configured.
fn descriptor_json(
    vectors: &[Vec<[f32; 2]>],
    coords: &[Vec<[f32; 2]>],
    config: &DescriptorConfig,
) -> Value {
    let (vd, cd) = (config.vector_decimals, config.coord_decimals);
    let mut descriptor = Map::new();
    for (name, (v, c)) in PARTS.iter().zip(vectors.iter().zip(coords)) {
        let entries: Vec<Value> = v
            .iter()
            .zip(c)
            .map(|(&[vx, vy], &[x, y])| {
                json!({
                    "vector": [round(f64::from(vx), vd), round(f64::from(vy), vd)],
                    "coord": [round(f64::from(x), cd), round(f64::from(y), cd)],
                })
            })
            .collect();
        descriptor.insert((*name).into(), Value::Array(entries));
    }
    Value::Object(descriptor)
}

fn to_json_bytes(v: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(v).expect("JSON values serialise");
    bytes.push(b'\n');
    bytes
}

/// Replaces values at unsure frames by linear interpolation between the
/// nearest sure frames (held at the ends); with no sure frame, keeps them.
fn fill_unsure(values: &[[f32; 2]], sure: &[bool]) -> Vec<[f32; 2]> {
    let known: Vec<usize> = (0..values.len()).filter(|&t| sure[t]).collect();
    if known.is_empty() {
        return values.to_vec();
    }
    (0..values.len())
        .map(|t| {
            if sure[t] {
                return values[t];
            }
            let after = known.partition_point(|&k| k < t);
            match (
                after.checked_sub(1).map(|i| known[i]),
                known.get(after).copied(),
            ) {
                (Some(a), Some(b)) => {
                    let w = (t - a) as f32 / (b - a) as f32;
                    [
                        values[a][0] * (1.0 - w) + values[b][0] * w,
                        values[a][1] * (1.0 - w) + values[b][1] * w,
                    ]
                }
                (Some(a), None) => values[a],
                (None, Some(b)) => values[b],
                (None, None) => unreachable!("known is not empty"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsure_frames_are_interpolated_between_sure_ones_and_held_at_the_ends() {
        let v = [[9.0, 9.0], [1.0, 0.0], [9.0, 9.0], [3.0, 2.0], [9.0, 9.0]];
        let sure = [false, true, false, true, false];
        assert_eq!(
            fill_unsure(&v, &sure),
            vec![[1.0, 0.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0], [3.0, 2.0]]
        );
        assert_eq!(fill_unsure(&v, &[false; 5]), v.to_vec());
    }

    /// Three frames of two moving parts (the rest still), one unsure frame on the head.
    fn three_frames() -> Output {
        let info = VideoInfo {
            width: 1080,
            height: 1296,
            fps: 30.0,
            declared_frames: Some(3),
            codec: "h264".into(),
        };
        let config: DescriptorConfig = serde_json::from_str("{}").unwrap();
        let mut task: Box<dyn FrameTask> = Box::new(DescriptorTask {
            config,
            info,
            frames: Vec::new(),
        });
        let vectors = [[0.0, 0.0], [1.234, -0.5], [2.0, 0.25]];
        for (t, v) in vectors.iter().enumerate() {
            let mut f = PartsFrame {
                vector: [[0.0; 2]; PART_COUNT],
                coord: [[0.5, 0.25]; PART_COUNT],
                sure: [true; PART_COUNT],
                pixels: [100; PART_COUNT],
            };
            f.vector[0] = *v;
            f.vector[7] = [-v[0] / 2.0, v[1]];
            f.coord[0] = [0.5 + t as f32 * 0.01, 0.2];
            if t == 1 {
                f.sure[0] = false;
            }
            let frame = Frame {
                index: t as u64,
                time: t as f64 / 30.0,
                width: 1080,
                height: 1296,
                format: maflow_engine::data::PixelFormat::Gray,
                data: Vec::new(),
            };
            let product: FrameProduct = Arc::new(f);
            let products = [Some(product)];
            task.push(&frame, &FrameInputs::new(&products)).unwrap();
        }
        task.finish().unwrap()
    }

    #[test]
    fn descriptor_file_matches_the_golden_bytes() {
        let out = three_frames();
        let json = &out.blobs.iter().find(|b| b.ext == "json").unwrap().bytes;
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/golden/descriptor_three_frames.json"
        );
        // MAFLOW_BLESS=1 rewrites the golden file after a deliberate format change.
        if std::env::var_os("MAFLOW_BLESS").is_some() {
            std::fs::write(path, json).unwrap();
        }
        assert_eq!(
            String::from_utf8_lossy(json),
            std::fs::read_to_string(path).unwrap()
        );
        let meta: Value = serde_json::from_slice(
            &out.blobs
                .iter()
                .find(|b| b.ext == "meta.json")
                .unwrap()
                .bytes,
        )
        .unwrap();
        assert_eq!(meta["meta"]["interpolated_frames"]["Head"], json!([1]));
        assert_eq!(meta["meta"]["part_confidence"]["Head"], json!(0.667));
        let keys: Vec<&String> = meta["meta"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "format_version",
                "fps",
                "num_frames",
                "width",
                "height",
                "vector_units",
                "coord_units",
                "part_confidence",
                "interpolated_frames"
            ]
        );
    }
}
