//! The demo on the three real MA-52 clips: decode, pose, segment, flow,
//! align and descriptors; contact sheets; caching and replay; identical
//! outputs on 1 worker, 2 workers and a 2-process cluster.

use crate::descriptors::{check_landmarks_against_hand_marks, check_real_clip_descriptors};
use crate::support::{
    Scratch, assert_references_agree, jsonl, maflow, number_after, read_tree, run_json, text,
};

fn run_demo(scratch: &Scratch, extra: &[&str]) -> serde_json::Value {
    let mut args: Vec<String> = vec!["run".into(), "pipelines/demo.yaml".into(), "-q".into()];
    args.extend(scratch.redirect());
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    run_json(&scratch.out("demo"))
}

/// The training export shares no clip and no participant with the benchmark,
/// holds `written` clips, and says so in `run.json` and the report.
fn check_no_clip_and_no_participant_on_both_sides(out: &std::path::Path, written: usize) {
    let participant = |clip: &str| clip.split('_').next().unwrap().to_string();
    let bench: std::collections::BTreeSet<String> = jsonl(&out.join("bench.jsonl"))
        .iter()
        .map(|item| item["clip"].as_str().unwrap().to_string())
        .collect();
    let train: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("train/ma52_describe.json")).unwrap(),
    )
    .unwrap();
    let trained: Vec<String> = train
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let video = std::path::Path::new(r["videos"][0].as_str().unwrap());
            video.file_stem().unwrap().to_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(trained.len(), written, "{trained:?}");
    for clip in &trained {
        assert!(
            !bench.contains(clip),
            "{clip} is trained on and in the benchmark"
        );
        assert!(
            bench.iter().all(|b| participant(b) != participant(clip)),
            "participant of {clip} is on both sides"
        );
    }
    let note = &run_json(out)["sinks"]["train"];
    assert_eq!(note["written"], written, "{note:#}");
    let summary = note["summary"].as_str().unwrap();
    assert!(
        text(&std::fs::read(out.join("report.md")).unwrap()).contains(summary),
        "the report says what the export holds"
    );
}

/// Every time a description states, in its text or its record, is a time of the clip's facts.
fn check_times_are_the_facts_times(out: &std::path::Path) {
    for facts in jsonl(&out.join("clip-facts.jsonl")) {
        let clip = facts["clip"].as_str().unwrap();
        let description: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join(format!("descriptions/{clip}.json"))).unwrap(),
        )
        .unwrap();
        let onsets: Vec<(String, f64)> = facts["onsets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o[0].as_str().unwrap().to_string(), o[1].as_f64().unwrap()))
            .collect();
        let stated: Vec<(String, f64)> = description["onset_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["part"].as_str().unwrap().to_string(),
                    o["start"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            stated, onsets,
            "{clip}: onset_order is not the facts' onsets"
        );
        let mut times: Vec<f64> = onsets.iter().map(|o| o.1).collect();
        times.extend(
            facts["starts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["start"].as_f64().unwrap()),
        );
        for phase in facts["phases"].as_array().unwrap() {
            times.extend([
                phase["start"].as_f64().unwrap(),
                phase["end"].as_f64().unwrap(),
            ]);
        }
        times.push(facts["seconds"].as_f64().unwrap());
        let text = description["description"].as_str().unwrap();
        let words: Vec<&str> = text.split_whitespace().collect();
        for pair in words
            .windows(2)
            .filter(|w| w[1].trim_end_matches([',', '.', ';', ')']) == "s")
        {
            let value: f64 = pair[0].trim_start_matches('(').parse().unwrap_or(f64::NAN);
            assert!(
                times.iter().any(|t| (t - value).abs() < 1e-9),
                "{clip}: `{} s` is no time of its facts: {text}",
                pair[0]
            );
        }
    }
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn demo_turns_the_real_clips_into_descriptors_and_a_rerun_computes_nothing() {
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
    assert_eq!(
        clips[0]["label_name"], "shaking body",
        "the demo folder's label (tests/data/ma52/README.md)"
    );
    assert_eq!(clips[0]["participant"], "0030");
    for clip in ["0030_01_0002", "0010_02_0101", "0019_02_0078"] {
        let png = std::fs::read(
            scratch
                .out("demo")
                .join(format!("contact-sheets/{clip}.png")),
        )
        .unwrap();
        // 4 × 2 thumbnails of 216 × 259 with 4-pixel gaps.
        assert_eq!(png_size(&png), (4 * 216 + 5 * 4, 2 * 259 + 3 * 4), "{clip}");
    }
    assert_eq!(
        std::fs::read(scratch.out("demo").join("errors.jsonl")).unwrap(),
        b""
    );
    // One truth: the references state what the yes items assert and say nothing against them.
    assert_eq!(
        assert_references_agree(&scratch.out("demo").join("bench.jsonl")),
        4,
        "one yes item per yes/no task of the test clip, each checked"
    );
    // The report, in a browser: the test clip's 12 items listed.
    crate::report_browser::check_report(&scratch.out("demo").join("report.html"), 12);
    check_no_clip_and_no_participant_on_both_sides(&scratch.out("demo"), 2);
    check_times_are_the_facts_times(&scratch.out("demo"));
    for node in ["pose", "segment", "flow", "align", "descriptors"] {
        assert_eq!(first["operators"][node]["computed"], 3, "{node}");
        // Every frame-level operator counts the frames it went over (75 + 47 + 50).
        assert_eq!(first["operators"][node]["frames"], 172, "{node}");
    }
    let frames = [
        ("0030_01_0002", 75),
        ("0010_02_0101", 47),
        ("0019_02_0078", 50),
    ];
    check_real_clip_descriptors(&scratch.out("demo").join("descriptors"), &frames);
    check_landmarks_against_hand_marks(&jsonl(&scratch.out("demo").join("skeletons.jsonl")));
    for clip in ["0030_01_0002", "0010_02_0101", "0019_02_0078"] {
        for picture in ["segment", "flow", "pictures"] {
            let png =
                std::fs::read(scratch.out("demo").join(format!("{picture}/{clip}.png"))).unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{picture}/{clip}");
        }
    }

    let second = run_demo(&scratch, &[]);
    assert_eq!(second["cache"]["misses"], 0, "{second:#}");
    assert_eq!(second["cache"]["hits"], first["cache"]["misses"]);
    for node in [
        "clips",
        "decode",
        "pose",
        "segment",
        "flow",
        "align",
        "descriptors",
        "contact-sheets",
    ] {
        assert_eq!(second["operators"][node]["computed"], 0, "{node}");
    }
    assert_eq!(
        second["operators"]["pose"]["frames"], 0,
        "nothing was recomputed, so no frame was gone over"
    );

    let mut args: Vec<String> = vec!["plan".into(), "pipelines/demo.yaml".into()];
    args.extend(scratch.redirect());
    let plan = text(&maflow(&args).stdout);
    for node in [
        "clips",
        "decode",
        "pose",
        "align",
        "descriptors",
        "contact-sheets",
    ] {
        let row = plan
            .lines()
            .find(|l| l.starts_with(&format!("{node} ")))
            .unwrap_or_else(|| panic!("{plan}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[1..], ["3", "3", "0"], "{row}");
    }

    // One worker gives byte-identical outputs to two.
    let single = Scratch::new();
    run_demo(&single, &["-w", "1"]);
    let (two, one) = (outputs(&scratch.out("demo")), outputs(&single.out("demo")));
    assert_eq!(
        two.keys().collect::<Vec<_>>(),
        one.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &two {
        assert!(
            one[path] == *bytes,
            "{} differs between 1 and 2 workers",
            path.display()
        );
    }

    // So does a two-process cluster on localhost, language stages included.
    let cluster = Scratch::new();
    let mut args: Vec<String> = vec![
        "run".into(),
        "pipelines/demo.yaml".into(),
        "-q".into(),
        "-w".into(),
        "1".into(),
    ];
    args.extend(cluster.redirect());
    crate::support::run_cluster(&cluster, &args);
    assert_eq!(run_json(&cluster.out("demo"))["processes"], 2);
    let spread = outputs(&cluster.out("demo"));
    assert_eq!(
        spread.keys().collect::<Vec<_>>(),
        one.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &one {
        assert!(
            spread[path] == *bytes,
            "{} differs between 1 process and a 2-process cluster",
            path.display()
        );
    }
}

/// A run's output files; the lmms-eval task files, which name their data by
/// its absolute path (lmms-eval reads it from the working directory), with
/// the output folder written as `<out>`.
fn outputs(out: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let root = std::fs::canonicalize(out).unwrap().display().to_string();
    let mut tree = read_tree(out);
    for (path, bytes) in tree.iter_mut() {
        if path.starts_with("exports/lmms-eval") {
            *bytes = String::from_utf8_lossy(bytes)
                .replace(&root, "<out>")
                .into_bytes();
        }
    }
    tree
}

#[test]
fn changing_one_operators_params_reruns_only_it_and_downstream() {
    let scratch = Scratch::new();
    run_demo(&scratch, &[]);
    let before =
        std::fs::read(scratch.out("demo").join("contact-sheets/0019_02_0078.png")).unwrap();
    let changed = run_demo(&scratch, &["--set", "contact-sheets.frames=4"]);
    assert_eq!(changed["operators"]["clips"]["computed"], 0);
    assert_eq!(changed["operators"]["decode"]["computed"], 0);
    assert_eq!(changed["operators"]["decode"]["cached"], 3);
    assert_eq!(changed["operators"]["contact-sheets"]["computed"], 3);
    let after = std::fs::read(scratch.out("demo").join("contact-sheets/0019_02_0078.png")).unwrap();
    assert_ne!(before, after);

    // Items on every split: the training export leaves out the clips with items, and says why.
    let every_split = run_demo(&scratch, &["--set", "qa.params.splits=[train, test]"]);
    assert_eq!(
        every_split["sinks"]["train"]["left_out"][0]["why"],
        "it has benchmark items"
    );
    check_no_clip_and_no_participant_on_both_sides(&scratch.out("demo"), 0);

    // Picture settings key only the pictures: drawing none leaves everything cached
    // (as does another decoder thread count, which decodes the same frames),
    // drawing others recomputes the nodes that draw them and nothing they feed.
    let mut args: Vec<String> = vec![
        "plan".into(),
        "pipelines/demo.yaml".into(),
        "--set".into(),
        "segment.params.viz_frames=0".into(),
        "--set".into(),
        "decode.params.threads=1".into(),
    ];
    args.extend(scratch.redirect());
    let plan = text(&maflow(&args).stdout);
    let to_run: Vec<&str> = plan
        .lines()
        .skip_while(|l| !l.starts_with("operator "))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(
        to_run.len() >= 19 && to_run.iter().all(|row| row.ends_with(" 0")),
        "{plan}"
    );
    let descriptors = read_tree(&scratch.out("demo").join("descriptors"));
    let segment_png = |s: &Scratch| {
        png_size(&std::fs::read(s.out("demo").join("segment/0019_02_0078.png")).unwrap())
    };
    let (width, height) = segment_png(&scratch);
    let redrawn = run_demo(
        &scratch,
        &[
            "--set",
            "segment.params.viz_frames=2",
            "--set",
            "flow.params.viz_pairs=2",
        ],
    );
    for (node, computed) in [
        ("segment", 3),
        ("flow", 3),
        ("pose", 0),
        ("align", 0),
        ("descriptors", 0),
        ("facts", 0),
        ("qa", 0),
    ] {
        assert_eq!(redrawn["operators"][node]["computed"], computed, "{node}");
    }
    assert_eq!(redrawn["cache"]["misses"], 6, "{redrawn:#}");
    let (narrow, same) = segment_png(&scratch);
    assert!(
        narrow < width / 2 + 8 && same == height,
        "{width}x{height} became {narrow}x{same}"
    );
    assert_eq!(
        read_tree(&scratch.out("demo").join("descriptors")),
        descriptors
    );

    // A descriptor setting: only descriptors run, reading the stored part tracks
    // (no pose, no segmentation, no flow).
    let summary = run_demo(&scratch, &["--set", "descriptors.params.noise_floor=0.5"]);
    assert_eq!(summary["operators"]["descriptors"]["computed"], 3);
    for node in ["decode", "pose", "segment", "flow", "align"] {
        assert_eq!(summary["operators"][node]["computed"], 0, "{node}");
    }
    for node in ["pose", "segment", "flow", "align"] {
        assert_eq!(
            summary["operators"][node]["seconds"], 0.0,
            "{node} did no work"
        );
    }

    // An align setting: align and descriptors run; flow and masks are computed again
    // to feed align (they are never stored), the skeleton track is replayed.
    let realigned = run_demo(&scratch, &["--set", "align.params.average=trimmed_mean"]);
    for (node, computed) in [
        ("pose", 0),
        ("segment", 0),
        ("flow", 0),
        ("align", 3),
        ("descriptors", 3),
    ] {
        assert_eq!(realigned["operators"][node]["computed"], computed, "{node}");
    }
    assert_eq!(
        realigned["operators"]["pose"]["seconds"], 0.0,
        "pose replayed, not run"
    );
    assert_eq!(
        std::fs::read(scratch.out("demo").join("errors.jsonl")).unwrap(),
        b""
    );

    // A missing dataset folder stops the run before anything is written: every
    // aggregate (report, benchmark, exports) stays as the last good run left it.
    let before = read_tree(&scratch.out("demo"));
    let run_json = std::fs::read(scratch.out("demo").join("run.json")).unwrap();
    for command in ["validate", "plan", "run"] {
        let mut args: Vec<String> = vec![
            command.into(),
            "pipelines/demo.yaml".into(),
            "--set".into(),
            "sources.clips.path=/nonexistent".into(),
        ];
        args.extend(scratch.redirect());
        let out = maflow(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {err}");
        assert!(
            err.contains("source `clips`: dataset folder /nonexistent does not exist"),
            "{command}: {err}"
        );
    }
    assert!(
        read_tree(&scratch.out("demo")) == before,
        "a failed source changed the outputs"
    );
    assert_eq!(
        std::fs::read(scratch.out("demo").join("run.json")).unwrap(),
        run_json
    );

    // A sink that cannot write (its folder is a file here; a full disk or a read-only mount fail alike)
    // stops a run that would change the benchmark, naming the sink, and no output file changes:
    // the sinks' files land together or not at all.
    let hf = scratch.out("demo").join("exports/hf-datasets");
    let aside = scratch.path("hf-datasets");
    std::fs::rename(&hf, &aside).unwrap();
    std::fs::write(&hf, b"not a folder").unwrap();
    let before = read_tree(&scratch.out("demo"));
    let mut args: Vec<String> = [
        "run",
        "pipelines/demo.yaml",
        "-q",
        "--set",
        "qa.params.seed=1",
    ]
    .map(String::from)
    .to_vec();
    args.extend(scratch.redirect());
    let out = maflow(&args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("sink `harnesses`")
            && err.contains("every output file is as the last run left it"),
        "{err}"
    );
    assert!(
        read_tree(&scratch.out("demo")) == before,
        "a sink's failure changed the outputs or left temporary files"
    );
    assert_eq!(
        std::fs::read(scratch.out("demo").join("run.json")).unwrap(),
        run_json
    );
    std::fs::remove_file(&hf).unwrap();
    std::fs::rename(&aside, &hf).unwrap();

    check_store_upkeep(&scratch);
}

/// `maflow store <action> <spec> <scratch's overrides>`.
fn store(scratch: &Scratch, action: &[&str], spec: &str) -> (Option<i32>, String) {
    let mut args: Vec<String> = vec!["store".into()];
    args.extend(action.iter().map(|s| s.to_string()));
    args.push(spec.into());
    args.extend(scratch.redirect());
    let out = maflow(&args);
    let stdout = text(&out.stdout);
    assert!(
        out.status.code() != Some(1),
        "store {action:?}: {}{stdout}",
        text(&out.stderr)
    );
    (out.status.code(), stdout)
}

/// The demo cut to its frame stages: the nodes of the kinds that read frames, and the sinks of those alone.
fn frames_only(scratch: &Scratch) -> String {
    let demo = std::fs::read_to_string("pipelines/demo.yaml").unwrap();
    let language = ["facts", "caption", "describe", "qa", "respond", "judge"];
    let mut kept_ids: Vec<String> = Vec::new();
    let mut spec = String::new();
    let mut block = String::new();
    let flush = |block: &mut String, spec: &mut String, kept_ids: &mut Vec<String>| {
        if block.is_empty() {
            return;
        }
        let field = |name: &str| {
            block
                .lines()
                .find_map(|l| l.trim().trim_start_matches("- ").strip_prefix(name))
                .map(|v| v.trim().to_string())
        };
        let inputs = field("inputs:").unwrap_or_default();
        let inputs: Vec<&str> = inputs
            .trim_matches(['[', ']'])
            .split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .collect();
        let keep = !language.contains(&field("kind:").unwrap_or_default().as_str())
            && inputs.iter().all(|i| kept_ids.iter().any(|k| k == i));
        if keep {
            kept_ids.push(field("id:").unwrap());
            spec.push_str(block);
        }
        block.clear();
    };
    for line in demo.lines() {
        if line.starts_with("  - id:") || !line.starts_with("  ") {
            flush(&mut block, &mut spec, &mut kept_ids);
        }
        if line.starts_with("  - id:") || (line.starts_with("    ") && !block.is_empty()) {
            block.push_str(line);
            block.push('\n');
        } else {
            spec.push_str(&line.replace("name: demo", "name: frames"));
            spec.push('\n');
        }
    }
    flush(&mut block, &mut spec, &mut kept_ids);
    assert!(
        kept_ids.iter().any(|k| k == "descriptors") && !kept_ids.iter().any(|k| k == "qa"),
        "{spec}"
    );
    let path = scratch.path("frames.yaml");
    std::fs::write(&path, spec).unwrap();
    path.display().to_string()
}

/// du, gc and verify on a store that holds the demo and the variants run above.
fn check_store_upkeep(scratch: &Scratch) {
    let demo = "pipelines/demo.yaml";
    let run = run_demo(scratch, &[]);
    assert_eq!(run["cache"]["misses"], 0, "{:#}", run["cache"]);
    let out = scratch.out("demo");
    let kept_files = || {
        (
            read_tree(&out.join("descriptors")),
            std::fs::read(out.join("bench.jsonl")).unwrap(),
            std::fs::read(out.join("scores.csv")).unwrap(),
        )
    };
    let before = kept_files();

    // du: per operator kind and version, and what the demo reaches of it.
    let (_, du) = store(scratch, &["du"], demo);
    let total = number_after(&du, ": ");
    let reached = number_after(&du, "together they reach ");
    assert!(reached > 0 && reached < total, "{du}");
    assert!(
        du.contains("flow@") && du.contains("respond@") && du.contains("reached by [1]"),
        "{du}"
    );
    assert!(
        du.contains("[1] pipelines/demo.yaml --set defaults.out="),
        "{du}"
    );

    // Refused while another process holds the store.
    {
        let _held = maflow_engine::store::Store::open(&scratch.path("store")).unwrap();
        let mut args: Vec<String> = vec!["store".into(), "gc".into(), demo.into()];
        args.extend(scratch.redirect());
        let refused = maflow(&args);
        assert_eq!(refused.status.code(), Some(1));
        assert!(
            text(&refused.stderr).contains("another maflow process is using it"),
            "{}",
            text(&refused.stderr)
        );
    }

    // gc keeping the demo: the variants go, and a rerun computes nothing and writes the same.
    let (_, dry) = store(scratch, &["gc", "--dry-run"], demo);
    assert_eq!(
        number_after(&dry, "would remove "),
        total - reached,
        "{dry}"
    );
    assert_eq!(
        number_after(&store(scratch, &["du"], demo).1, ": "),
        total,
        "a dry run removed something"
    );
    let (_, gc) = store(scratch, &["gc"], demo);
    assert_eq!(number_after(&gc, "removed "), total - reached, "{gc}");
    let run = run_demo(scratch, &[]);
    assert_eq!(run["cache"]["misses"], 0, "{:#}", run["cache"]);
    assert!(
        kept_files() == before,
        "the demo's outputs changed after gc"
    );

    // gc keeping only the frame stages: a demo rerun computes the language stages and nothing before them.
    let frames = frames_only(scratch);
    store(scratch, &["gc"], &frames);
    let run = run_demo(scratch, &[]);
    for node in [
        "clips",
        "decode",
        "pose",
        "segment",
        "flow",
        "align",
        "descriptors",
        "contact-sheets",
        "pictures",
    ] {
        assert_eq!(
            run["operators"][node]["computed"], 0,
            "{node}: {:#}",
            run["operators"]
        );
    }
    for node in ["facts", "captions", "descriptions"] {
        assert_eq!(run["operators"][node]["computed"], 3, "{node}");
    }
    assert!(
        kept_files() == before,
        "the demo's outputs changed after a frames-only gc"
    );

    // verify: a blob changed in place (same length, so a run's checks cannot see it) is found, dropped and
    // computed again.
    let (code, clean) = store(scratch, &["verify"], demo);
    assert_eq!(code, Some(0), "{clean}");
    let blob = crate::support::read_tree(&scratch.path("store/blobs"))
        .into_keys()
        .find(|p| p.extension().is_some_and(|e| e == "png"))
        .expect("the store holds pictures");
    let path = scratch.path("store/blobs").join(blob);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let (code, found) = store(scratch, &["verify"], demo);
    assert_eq!(code, Some(2), "{found}");
    assert!(
        found.contains("does not match its hash") && found.contains("verify: 1 of"),
        "{found}"
    );
    assert_eq!(store(scratch, &["verify"], demo).0, Some(0));
    let run = run_demo(scratch, &[]);
    assert!(
        run["cache"]["misses"].as_u64().unwrap() >= 1,
        "{:#}",
        run["cache"]
    );
    assert!(kept_files() == before);
}
