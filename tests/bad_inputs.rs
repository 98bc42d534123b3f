//! Broken clips and list lines become error records naming the item and
//! the cause (`tests/data/bad/README.md` lists the corpus); good clips are
//! processed, and a rerun retries only the failures.

use crate::support::{Scratch, jsonl, maflow, run_json, text};

#[test]
fn broken_files_and_missing_clips_are_reported_and_the_rest_runs() {
    let scratch = Scratch::new();
    let ds = scratch.path("ds");
    let videos = ds.join("videos");
    std::fs::create_dir_all(&videos).unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::copy(
        format!("{root}/tests/data/ma52/videos/0019_02_0078.mp4"),
        videos.join("0019_02_0078.mp4"),
    )
    .unwrap();
    for (file, id) in [
        ("truncated.mp4", "0001_01_0001"),
        ("truncated_faststart.mp4", "0001_01_0002"),
        ("empty.mp4", "0001_01_0003"),
        ("text.mp4", "0001_01_0004"),
        ("audio_only.mp4", "0001_01_0007"),
        ("tiny_1x1.mp4", "0001_01_0008"),
        ("no_person.mp4", "0001_01_0009"),
        ("vfr.mp4", "0001_01_0010"),
        ("huge_dimensions.mp4", "0001_01_0011"),
    ] {
        std::fs::copy(
            format!("{root}/tests/data/bad/{file}"),
            videos.join(format!("{id}.mp4")),
        )
        .unwrap();
    }
    std::fs::write(
        ds.join("train_list_videos.txt"),
        "0001_01_0001.mp4 0\n0019_02_0078.mp4 9\n0001_01_0002.mp4 1\n0001_01_0003.mp4 2\n\
         0001_01_0004.mp4 3\n0001_01_0005.mp4 4\n0001_01_0006.mp4 77\n0001_01_0007.mp4 5\n\
         0001_01_0008.mp4 6\n0001_01_0009.mp4 7\n0001_01_0010.mp4 8\n0001_01_0011.mp4 9\n\
         ../../etc/passwd.mp4 3\n/abs/0001_01_0012.mp4 3\nnot a list line\n0001_01_0013.mp4 x\n",
    )
    .unwrap();

    let mut args: Vec<String> = vec![
        "run".into(),
        "pipelines/demo.yaml".into(),
        "-q".into(),
        "--set".into(),
    ];
    args.push(format!("sources.clips.path={}", ds.display()));
    args.extend(scratch.redirect());
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    let errors = jsonl(&scratch.out("demo").join("errors.jsonl"));
    let find = |clip: &str| {
        errors
            .iter()
            .find(|e| e["clip"] == clip)
            .unwrap_or_else(|| panic!("no error for {clip}: {errors:#?}"))["cause"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(find("0001_01_0001").contains("not a readable video"));
    assert!(find("0001_01_0002").contains("stream ends after 14 of 50 declared frames"));
    assert!(find("0001_01_0003").contains("empty (0 bytes)"));
    assert!(find("0001_01_0004").contains("not a readable video"));
    assert!(find("0001_01_0005").contains("not found"));
    assert!(find("train_list_videos.txt:7").contains("unknown action id 77"));
    assert!(find("0001_01_0007").contains("no video stream"));
    assert!(find("0001_01_0008").contains("no person found"));
    assert!(find("0001_01_0009").contains("no person found"));
    assert!(find("0001_01_0011").contains("not a readable video"));
    assert!(find("train_list_videos.txt:13").contains("not a plain file name"));
    assert!(find("train_list_videos.txt:14").contains("not a plain file name"));
    assert!(find("train_list_videos.txt:15").contains("expected `name.mp4 <action id>`"));
    assert!(find("train_list_videos.txt:16").contains("not a number"));
    assert_eq!(errors.len(), 14, "{errors:#?}");
    // Nothing was written outside the output folder, whatever the list said.
    assert!(!scratch.path("etc").exists() && !ds.join("../etc").exists());

    let videos = jsonl(&scratch.out("demo").join("videos.jsonl"));
    let decoded: Vec<&str> = videos.iter().map(|v| v["clip"].as_str().unwrap()).collect();
    assert_eq!(
        decoded,
        [
            "0019_02_0078",
            "0001_01_0008",
            "0001_01_0009",
            "0001_01_0010"
        ]
    );
    assert_eq!(videos[0]["frames"], 50);
    // The variable-rate clip is resampled to its average rate, evenly spaced.
    assert_eq!(videos[3]["source"]["variable_rate"], true);
    assert_eq!(videos[3]["fps"], 18.75);
    assert!(
        scratch
            .out("demo")
            .join("descriptors/0001_01_0010.json")
            .is_file()
    );
    assert!(
        scratch
            .out("demo")
            .join("contact-sheets/0019_02_0078.png")
            .is_file()
    );
    let run = run_json(&scratch.out("demo"));
    assert_eq!(run["operators"]["decode"]["failed"], 6);
    assert_eq!(run["operators"]["descriptors"]["failed"], 2);
    assert_eq!(run["operators"]["contact-sheets"]["skipped"], 6);

    // Failures are not cached: a rerun tries them again and keeps the good clip's outputs.
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(2));
    let run = run_json(&scratch.out("demo"));
    assert_eq!(run["operators"]["decode"]["cached"], 4);
    assert_eq!(run["operators"]["decode"]["failed"], 6);
}

#[test]
fn corrupt_flo_and_malformed_skeleton_files_are_errors_naming_the_file() {
    let scratch = Scratch::new();
    let middlebury = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/middlebury/Dimetrodon"
    );
    // A header that promises 16 × 0 pixels and then stops.
    let flo = scratch.path("corrupt.flo");
    std::fs::write(&flo, b"PIEH\x10\x00\x00\x00").unwrap();
    let out = maflow(&[
        "flow".to_string(),
        format!("{middlebury}/frame10.png"),
        format!("{middlebury}/frame11.png"),
        "--gt".into(),
        flo.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("corrupt.flo: too short for a .flo header"),
        "{}",
        text(&out.stderr)
    );

    // One clip's skeleton file is cut off mid-list; the others are fine.
    let skeletons = scratch.path("skeletons");
    std::fs::create_dir_all(&skeletons).unwrap();
    let good = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/skeletons");
    for clip in ["0030_01_0002", "0010_02_0101"] {
        std::fs::copy(
            format!("{good}/{clip}.json"),
            skeletons.join(format!("{clip}.json")),
        )
        .unwrap();
    }
    std::fs::write(
        skeletons.join("0019_02_0078.json"),
        "{\"annotations\": [{\"image_id\": 0, \"keypoints\": [1, 2",
    )
    .unwrap();
    let mut args: Vec<String> = vec![
        "run".into(),
        "pipelines/descriptors-from-skeleton-files.yaml".into(),
        "-q".into(),
    ];
    args.extend([
        "--set".into(),
        format!("skeleton.path={}", skeletons.display()),
    ]);
    args.extend([
        "--set".into(),
        "flow.params.preset=fast".into(),
        "--set".into(),
        "flow.params.scale=0.25".into(),
    ]);
    args.extend(scratch.redirect());
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let errors = jsonl(&scratch.out("skeleton-files").join("errors.jsonl"));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["clip"], "0019_02_0078");
    assert!(
        errors[0]["cause"]
            .as_str()
            .unwrap()
            .contains("0019_02_0078.json: not JSON"),
        "{errors:#?}"
    );
    let run = run_json(&scratch.out("skeleton-files"));
    assert_eq!(run["operators"]["descriptors"]["computed"], 2);
}
