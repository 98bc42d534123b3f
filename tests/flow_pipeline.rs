//! The `flow` operator inside the real-clip pipeline, and the `maflow flow` command.

use crate::support::{Scratch, jsonl, maflow, run_json, text};

fn run_flow(scratch: &Scratch) -> serde_json::Value {
    let mut args: Vec<String> = [
        "run",
        "pipelines/flow.yaml",
        "-q",
        "--set",
        "flow.scale=0.25",
    ]
    .map(String::from)
    .to_vec();
    args.extend(scratch.redirect());
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    run_json(&scratch.out("flow"))
}

#[test]
fn flow_on_the_real_clips_writes_pictures_and_reruns_from_cache() {
    let scratch = Scratch::new();
    let first = run_flow(&scratch);
    assert_eq!(first["operators"]["flow"]["computed"], 3);
    let motion = jsonl(&scratch.out("flow").join("motion.jsonl"));
    let pairs: Vec<u64> = motion
        .iter()
        .map(|m| m["pairs"].as_u64().unwrap())
        .collect();
    assert_eq!(pairs, [74, 46, 49]);
    for m in &motion {
        let speeds = m["mean_speed"].as_array().unwrap();
        assert_eq!(speeds.len() as u64, m["pairs"].as_u64().unwrap());
        // Seated people making small movements: whole-frame mean speed stays sub-pixel but not zero.
        let max = speeds
            .iter()
            .map(|s| s.as_f64().unwrap())
            .fold(0.0, f64::max);
        assert!(
            max > 0.01 && max < 2.0,
            "{}: max mean speed {max}",
            m["clip"]
        );
        // What is drawn keys only the pictures: the motion record does not depend on it.
        assert!(
            m.get("viz_pairs").is_none() && m.get("viz_max_speed").is_none(),
            "{m}"
        );
        // Directional components are the positive parts of -v, u, v, -u.
        let f = |k: &str, i: usize| m[k][i].as_f64().unwrap();
        for i in 0..speeds.len() {
            assert!(
                (f("mean_right", i) - f("mean_left", i) - f("mean_u", i)).abs() < 1e-3,
                "pair {i}"
            );
            assert!(
                (f("mean_down", i) - f("mean_up", i) - f("mean_v", i)).abs() < 1e-3,
                "pair {i}"
            );
        }
    }
    for clip in ["0030_01_0002", "0010_02_0101", "0019_02_0078"] {
        let png = std::fs::read(scratch.out("flow").join(format!("flow/{clip}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
    let second = run_flow(&scratch);
    assert_eq!(second["cache"]["misses"], 0, "{second:#}");
    assert_eq!(second["operators"]["flow"]["cached"], 3);
}

/// Per clip, the mean and largest absolute difference of every descriptor vector component.
fn descriptor_differences(a: &std::path::Path, b: &std::path::Path) -> Vec<(String, f64, f64)> {
    let read = |dir: &std::path::Path, clip: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join(format!("{clip}.json"))).unwrap()).unwrap()
    };
    ["0030_01_0002", "0010_02_0101", "0019_02_0078"]
        .iter()
        .map(|clip| {
            let (x, y) = (read(a, clip), read(b, clip));
            let mut d = Vec::new();
            for (part, track) in x.as_object().unwrap() {
                for (fx, fy) in track
                    .as_array()
                    .unwrap()
                    .iter()
                    .zip(y[part].as_array().unwrap())
                {
                    for k in 0..2 {
                        d.push(
                            (fx["vector"][k].as_f64().unwrap() - fy["vector"][k].as_f64().unwrap())
                                .abs(),
                        );
                    }
                }
            }
            let mean = d.iter().sum::<f64>() / d.len() as f64;
            (
                clip.to_string(),
                mean,
                d.iter().copied().fold(0.0, f64::max),
            )
        })
        .collect()
}

#[test]
fn flow_around_the_person_gives_the_whole_frames_descriptors_for_less() {
    // The same store: decode, pose and segment are computed once; flow, align and descriptors twice.
    let scratch = Scratch::new();
    let run_with = |out: &str, region: &str, settings: &[&str]| {
        let mut args: Vec<String> = ["run", "pipelines/descriptors.yaml", "-q", "--set"]
            .map(String::from)
            .to_vec();
        args.push(format!("flow.params.region={region}"));
        for setting in settings {
            args.extend(["--set".into(), format!("flow.params.{setting}")]);
        }
        args.extend(scratch.redirect());
        args.extend([
            "--set".into(),
            format!("defaults.out={}", scratch.path(out).display()),
        ]);
        let done = maflow(&args);
        assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
        run_json(&scratch.path(out).join("descriptors"))
    };
    let run = |out: &str, region: &str| run_with(out, region, &[]);
    let person = run("person", "person");
    let frame = run("frame", "frame");
    // The specs' flow settings (stride 4, 4 refinement passes, margin 0.4)
    // stay within 0.02 of OpenCV's `medium` (stride 3, 5 passes) at margin 0.5.
    run_with(
        "medium",
        "person",
        &["patch_stride=3", "refinement_iterations=5", "margin=0.5"],
    );
    let seconds = |r: &serde_json::Value| r["operators"]["flow"]["seconds"].as_f64().unwrap();
    for other in ["medium", "frame"] {
        for (clip, mean, max) in descriptor_differences(
            &scratch.path("person/descriptors/descriptors"),
            &scratch.path(&format!("{other}/descriptors/descriptors")),
        ) {
            assert!(
                mean <= 0.02 && max < 1.0,
                "{clip} against {other}: mean {mean:.4}, max {max:.3} px/frame"
            );
        }
    }
    // Each clip's box, steady over the clip, leaves much of the frame out (37–55 % in at margin 0.5).
    let store = maflow_engine::store::Store::open_read_only(&scratch.path("store"))
        .unwrap()
        .unwrap();
    let mut boxes = 0;
    store
        .for_each_entry(|_, raw| {
            let entry: serde_json::Value = serde_json::from_slice(raw).unwrap();
            if let Some(region) = entry["record"]["region"].as_array() {
                let size = entry["record"]["work_size"].as_array().unwrap();
                let share = (region[2].as_f64().unwrap() * region[3].as_f64().unwrap())
                    / (size[0].as_f64().unwrap() * size[1].as_f64().unwrap());
                assert!(share < 0.6, "{region:?} of {size:?}");
                boxes += 1;
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(boxes, 6, "one box per clip at each of the two margins");
    // Less work, not a timed claim: the seconds are only reported.
    eprintln!(
        "flow seconds: person {:.2}, frame {:.2}",
        seconds(&person),
        seconds(&frame)
    );
}

#[test]
fn cuda_backend_without_a_gpu_is_refused_with_a_clear_error() {
    if maflow_kernels::gpu::cuda::driver_present() {
        eprintln!("an NVIDIA driver is installed: nothing to check");
        return;
    }
    let out = maflow(&[
        "validate",
        "pipelines/flow.yaml",
        "--set",
        "flow.backend=cuda",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("backend `cuda`: no CUDA device: the NVIDIA driver library (libcuda.so) is not installed") && err.contains("--set"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn flow_command_reports_endpoint_error_and_writes_flo_and_picture() {
    let dir = tempfile::tempdir().unwrap();
    let m = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/middlebury/Dimetrodon"
    );
    let (flo, viz) = (dir.path().join("d.flo"), dir.path().join("d.png"));
    let out = maflow(&[
        "flow".to_string(),
        format!("{m}/frame10.png"),
        format!("{m}/frame11.png"),
        "--preset".into(),
        "medium".into(),
        "--gt".into(),
        format!("{m}/flow10.flo"),
        "--out".into(),
        flo.display().to_string(),
        "--viz".into(),
        viz.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let epe: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("average endpoint error: "))
        .and_then(|s| s.trim_end_matches(" px").parse().ok())
        .unwrap_or_else(|| panic!("no EPE line in {stdout}"));
    assert!(epe <= 0.15, "Dimetrodon medium EPE {epe}");
    let field =
        maflow_kernels::flow::field::FlowField::read_flo(std::fs::File::open(&flo).unwrap())
            .unwrap();
    assert_eq!((field.width, field.height), (584, 388));
    assert_eq!(&std::fs::read(&viz).unwrap()[..4], b"\x89PNG");
    let bad = maflow(&["flow", "tests/data/bad/text.mp4", "tests/data/bad/text.mp4"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("not a readable PNG"));

    // An image smaller than a patch is refused with its size, not a panic.
    let tiny = dir.path().join("tiny.png");
    let file = std::fs::File::create(&tiny).unwrap();
    let mut enc = png::Encoder::new(file, 4, 4);
    enc.set_color(png::ColorType::Grayscale);
    enc.write_header()
        .unwrap()
        .write_image_data(&[128; 16])
        .unwrap();
    let small = maflow(&[
        std::ffi::OsStr::new("flow"),
        tiny.as_os_str(),
        tiny.as_os_str(),
    ]);
    assert_eq!(small.status.code(), Some(1));
    assert!(
        text(&small.stderr).contains("(4x4) are smaller than a 8-pixel patch"),
        "{}",
        text(&small.stderr)
    );
}
