//! Descriptors of the three real MA-52 clips, as the demo writes them:
//! format (schemas), the motion each clip is known to show, and the pose
//! landmarks against keypoints marked by hand.

use std::path::Path;

use serde_json::Value;

use crate::json_schema::violations;

fn read(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn schema(name: &str) -> Value {
    read(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("operators/schemas")
            .join(name),
    )
}

/// Sum of |vx| and of |vy| over a part's frames.
fn horizontal_vertical(descriptor: &Value, part: &str) -> (f64, f64) {
    descriptor[part]
        .as_array()
        .unwrap()
        .iter()
        .fold((0.0, 0.0), |(h, v), e| {
            (
                h + e["vector"][0].as_f64().unwrap().abs(),
                v + e["vector"][1].as_f64().unwrap().abs(),
            )
        })
}

/// Checks the demo's descriptors in `dir` (`<out>/descriptors`).
pub fn check_real_clip_descriptors(dir: &Path, frames: &[(&str, usize)]) {
    let (descriptor_schema, meta_schema) = (
        schema("descriptor.schema.json"),
        schema("descriptor-meta.schema.json"),
    );
    for &(clip, n) in frames {
        let d = read(&dir.join(format!("{clip}.json")));
        let m = read(&dir.join(format!("{clip}.meta.json")));
        assert_eq!(
            violations(&descriptor_schema, &d),
            Vec::<String>::new(),
            "{clip}.json"
        );
        assert_eq!(
            violations(&meta_schema, &m),
            Vec::<String>::new(),
            "{clip}.meta.json"
        );
        let names: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            names,
            maflow_operators::common::body::PARTS,
            "{clip}: parts in order"
        );
        for (part, track) in d.as_object().unwrap() {
            assert_eq!(
                track.as_array().unwrap().len(),
                n,
                "{clip} {part}: one entry per frame"
            );
            assert_eq!(
                track[0]["vector"],
                serde_json::json!([0.0, 0.0]),
                "{clip} {part}: no motion before the first frame"
            );
        }
        assert_eq!(m["meta"]["num_frames"], n);
        assert_eq!(
            (m["meta"]["width"].as_u64(), m["meta"]["height"].as_u64()),
            (Some(1080), Some(1296))
        );
    }
    let summary = |clip: &str| read(&dir.join(format!("{clip}.meta.json")))["summary"].clone();
    let descriptor = |clip: &str| read(&dir.join(format!("{clip}.json")));

    // Nodding: the head moves most, mostly vertically, in alternating up/down phases.
    let nod = summary("0019_02_0078");
    assert_eq!(nod["by_energy"][0], "Head", "{nod:#}");
    let (h, v) = horizontal_vertical(&descriptor("0019_02_0078"), "Head");
    assert!(
        v > 2.0 * h,
        "nodding head: horizontal {h:.1} vs vertical {v:.1} px"
    );
    let phases: Vec<&str> = nod["parts"]["Head"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["direction"].as_str().unwrap())
        .collect();
    let vertical: Vec<&str> = phases
        .iter()
        .copied()
        .filter(|p| *p == "up" || *p == "down")
        .collect();
    assert!(vertical.len() >= 4, "nodding head phases {phases:?}");
    assert!(
        vertical.windows(2).all(|w| w[0] != w[1]),
        "up and down alternate: {phases:?}"
    );

    // Turning head: the head's motion is mainly horizontal.
    let (h, v) = horizontal_vertical(&descriptor("0010_02_0101"), "Head");
    assert!(
        h > 2.0 * v,
        "turning head: horizontal {h:.1} vs vertical {v:.1} px"
    );

    // Shaking body: the head leads and the torso carries a large share, both moving the same way.
    let shake = summary("0030_01_0002");
    let by_energy: Vec<&str> = shake["by_energy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(by_energy[0], "Head", "{by_energy:?}");
    assert!(by_energy[..4].contains(&"Torso"), "{by_energy:?}");
    let path = |p: &str| shake["parts"][p]["path_length"].as_f64().unwrap();
    assert!(
        path("Torso") > 0.4 * path("Head"),
        "torso {} vs head {} px",
        path("Torso"),
        path("Head")
    );
    let net_x = |p: &str| shake["parts"][p]["net_displacement"][0].as_f64().unwrap();
    assert!(
        net_x("Torso") * net_x("Head") > 0.0,
        "head and torso sway the same way"
    );
    // The nodding clip's torso is nearly still by comparison.
    assert!(path("Torso") > 5.0 * nod["parts"]["Torso"]["path_length"].as_f64().unwrap());
}

/// Keypoints marked by hand on frame 10 of two real clips (full-resolution
/// pixels; sides are the subject's own), by BlazePose index.
/// (BlazePose index, name, x, y).
type Mark = (usize, &'static str, f64, f64);

const MARKED: [(&str, [Mark; 5]); 2] = [
    (
        "0019_02_0078",
        [
            (0, "nose", 562.0, 390.0),
            (15, "left wrist", 585.0, 775.0),
            (16, "right wrist", 480.0, 765.0),
            (25, "left knee", 645.0, 850.0),
            (26, "right knee", 460.0, 850.0),
        ],
    ),
    (
        "0010_02_0101",
        [
            (0, "nose", 585.0, 320.0),
            (15, "left wrist", 660.0, 765.0),
            (16, "right wrist", 585.0, 770.0),
            (25, "left knee", 755.0, 850.0),
            (26, "right knee", 465.0, 840.0),
        ],
    ),
];

/// The people are about 910 (0019) and 980 (0010) pixels tall, head to soles.
const HEIGHTS: [f64; 2] = [910.0, 980.0];

/// Checks the skeleton track sink's landmarks against the hand marks: within 5% of the person's height.
pub fn check_landmarks_against_hand_marks(skeletons: &[Value]) {
    for ((clip, marks), height) in MARKED.iter().zip(HEIGHTS) {
        let track = skeletons
            .iter()
            .find(|s| s["clip"] == *clip)
            .unwrap_or_else(|| panic!("{clip} track"));
        let keypoints = &track["frames"][10]["keypoints"];
        for &(index, name, x, y) in marks {
            let (px, py) = (
                keypoints[index][0].as_f64().unwrap(),
                keypoints[index][1].as_f64().unwrap(),
            );
            let error = (px - x).hypot(py - y);
            assert!(
                error < 0.05 * height,
                "{clip} {name}: landmark ({px:.0}, {py:.0}) is {error:.0} px from the mark ({x}, {y})"
            );
        }
    }
}

#[test]
fn skeleton_files_replace_the_pose_model_end_to_end() {
    use crate::support::{Scratch, maflow, run_json, text};
    let scratch = Scratch::new();
    let mut args: Vec<String> = [
        "run",
        "pipelines/descriptors-from-skeleton-files.yaml",
        "-q",
        "--set",
        "flow.params.preset=fast",
    ]
    .map(String::from)
    .to_vec();
    args.extend(scratch.redirect());
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run = run_json(&scratch.out("skeleton-files"));
    assert_eq!(run["operators"]["skeleton"]["computed"], 3);
    let dir = scratch.out("skeleton-files").join("descriptors");
    let nod = read(&dir.join("0019_02_0078.meta.json"));
    assert_eq!(
        nod["summary"]["by_energy"][0], "Head",
        "{:#}",
        nod["summary"]["by_energy"]
    );
    let d = read(&dir.join("0030_01_0002.json"));
    assert_eq!(d["Head"].as_array().unwrap().len(), 75);
}
