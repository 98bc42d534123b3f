//! The demo on the three real MA-52 clips: decode, contact sheets, caching.

use crate::support::{Scratch, jsonl, maflow, run_json, text};

fn run_demo(scratch: &Scratch, extra: &[&str]) -> serde_json::Value {
    let mut args: Vec<String> = vec!["run".into(), "pipelines/demo.yaml".into(), "-q".into()];
    args.extend(scratch.redirect());
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    run_json(&scratch.out("demo"))
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn demo_decodes_the_real_clips_and_a_rerun_computes_nothing() {
    let scratch = Scratch::new();
    let first = run_demo(&scratch, &[]);
    assert_eq!(first["cache"]["hits"], 0);
    assert_eq!(first["operators"]["decode"]["computed"], 3);

    let videos = jsonl(&scratch.out("demo").join("videos.jsonl"));
    let got: Vec<(String, u64, u64, u64, f64)> = videos
        .iter()
        .map(|v| {
            (
                v["clip"].as_str().unwrap().to_string(),
                v["frames"].as_u64().unwrap(),
                v["width"].as_u64().unwrap(),
                v["height"].as_u64().unwrap(),
                v["fps"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("0030_01_0002".to_string(), 75, 1080, 1296, 30.0),
            ("0010_02_0101".to_string(), 47, 1080, 1296, 30.0),
            ("0019_02_0078".to_string(), 50, 1080, 1296, 30.0),
        ]
    );
    let clips = jsonl(&scratch.out("demo").join("clips-list.jsonl"));
    assert_eq!(clips[0]["label_name"], "nodding");
    assert_eq!(clips[0]["participant"], "0030");
    for clip in ["0030_01_0002", "0010_02_0101", "0019_02_0078"] {
        let png = std::fs::read(scratch.out("demo").join(format!("contact-sheets/{clip}.png"))).unwrap();
        // 4 × 2 thumbnails of 216 × 259 with 4-pixel gaps.
        assert_eq!(png_size(&png), (4 * 216 + 5 * 4, 2 * 259 + 3 * 4), "{clip}");
    }
    assert_eq!(std::fs::read(scratch.out("demo").join("errors.jsonl")).unwrap(), b"");

    let second = run_demo(&scratch, &[]);
    assert_eq!(second["cache"]["misses"], 0, "{second:#}");
    assert_eq!(second["cache"]["hits"], first["cache"]["misses"]);
    for node in ["clips", "decode", "contact-sheets"] {
        assert_eq!(second["operators"][node]["computed"], 0, "{node}");
    }

    let mut args: Vec<String> = vec!["plan".into(), "pipelines/demo.yaml".into()];
    args.extend(scratch.redirect());
    let plan = text(&maflow(&args).stdout);
    for node in ["clips", "decode", "contact-sheets"] {
        let row = plan.lines().find(|l| l.starts_with(&format!("{node} "))).unwrap_or_else(|| panic!("{plan}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[1..], ["3", "3", "0"], "{row}");
    }
}

#[test]
fn changing_one_operators_params_reruns_only_it_and_downstream() {
    let scratch = Scratch::new();
    run_demo(&scratch, &[]);
    let before = std::fs::read(scratch.out("demo").join("contact-sheets/0019_02_0078.png")).unwrap();
    let changed = run_demo(&scratch, &["--set", "contact-sheets.frames=4"]);
    assert_eq!(changed["operators"]["clips"]["computed"], 0);
    assert_eq!(changed["operators"]["decode"]["computed"], 0);
    assert_eq!(changed["operators"]["decode"]["cached"], 3);
    assert_eq!(changed["operators"]["contact-sheets"]["computed"], 3);
    let after = std::fs::read(scratch.out("demo").join("contact-sheets/0019_02_0078.png")).unwrap();
    assert_ne!(before, after);

    // Upstream change: decode's params invalidate decode and the sheets, not the source.
    let upstream = run_demo(&scratch, &["--set", "decode.params.format=gray"]);
    assert_eq!(upstream["operators"]["clips"]["computed"], 0);
    assert_eq!(upstream["operators"]["decode"]["computed"], 3);
    assert_eq!(upstream["operators"]["contact-sheets"]["computed"], 3);
}
