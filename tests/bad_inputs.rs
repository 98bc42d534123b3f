//! Broken clips become error records with causes; good clips are processed.

use crate::support::{Scratch, jsonl, maflow, run_json, text};

#[test]
fn broken_files_and_missing_clips_are_reported_and_the_rest_runs() {
    let scratch = Scratch::new();
    let ds = scratch.path("ds");
    let videos = ds.join("videos");
    std::fs::create_dir_all(&videos).unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::copy(format!("{root}/tests/data/ma52/videos/0019_02_0078.mp4"), videos.join("0019_02_0078.mp4")).unwrap();
    for (file, id) in [
        ("truncated.mp4", "0001_01_0001"),
        ("truncated_faststart.mp4", "0001_01_0002"),
        ("empty.mp4", "0001_01_0003"),
        ("text.mp4", "0001_01_0004"),
    ] {
        std::fs::copy(format!("{root}/tests/data/bad/{file}"), videos.join(format!("{id}.mp4"))).unwrap();
    }
    std::fs::write(
        ds.join("train_list_videos.txt"),
        "0001_01_0001.mp4 0\n0019_02_0078.mp4 9\n0001_01_0002.mp4 1\n0001_01_0003.mp4 2\n\
         0001_01_0004.mp4 3\n0001_01_0005.mp4 4\n0001_01_0006.mp4 77\n",
    )
    .unwrap();

    let mut args: Vec<String> = vec!["run".into(), "pipelines/demo.yaml".into(), "-q".into(), "--set".into()];
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
    assert_eq!(errors.len(), 6, "{errors:#?}");

    let videos = jsonl(&scratch.out("demo").join("videos.jsonl"));
    assert_eq!(videos.len(), 1);
    assert_eq!(videos[0]["frames"], 50);
    assert!(scratch.out("demo").join("contact-sheets/0019_02_0078.png").is_file());
    let run = run_json(&scratch.out("demo"));
    assert_eq!(run["operators"]["decode"]["failed"], 4);
    assert_eq!(run["operators"]["contact-sheets"]["skipped"], 4);

    // Failures are not cached: a rerun tries them again and keeps the good clip's outputs.
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(2));
    let run = run_json(&scratch.out("demo"));
    assert_eq!(run["operators"]["decode"]["cached"], 1);
    assert_eq!(run["operators"]["decode"]["failed"], 4);
}
