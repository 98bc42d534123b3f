//! End to end, side by side: the per-clip descriptor chain in maflow and
//! in a Python peer (`benches/peer/pipeline.py`), on the same clips in one
//! command. Two tables:
//!
//! 1. **With the models** (`pipelines/descriptors.yaml`): decode → pose →
//!    segment → flow → align → descriptor on the three MA-52 sample clips.
//!    The peer runs MediaPipe's own Python (`mediapipe==0.10.21`: Pose with
//!    model_complexity=1 and its tracking, SelfieSegmentation on the whole
//!    frame), OpenCV's DIS `MEDIUM` at the same scale (maflow runs its
//!    specs' settings: `medium` with stride 4 and 4 refinement passes), and numpy
//!    alignment with the same rules, in the environment `scripts/setup.sh`
//!    makes (`.maflow/peer-venv`, or `$MAFLOW_PEER_PYTHON`). Both sides are
//!    pinned with `taskset` to one core, then to two, so that they run on
//!    the same threads (a maflow worker with one thread decodes on it, so
//!    each stage's time is its own). Prints per-stage ms/frame and the ratios, the whole
//!    chain's frames/s and peak memory (maflow at 1 and 2 workers), maflow's
//!    chain from pose to descriptor against the peer's three library calls
//!    alone (the honest peer: Pose, SelfieSegmentation and DIS as a script's
//!    author calls them, its decoding outside them), then with decoding
//!    added on both sides, each also as the median of each round's ratio,
//!    steadier on a busy machine; whether one core meets the targets
//!    (the chain 2.5×, pose 1.5×, segment 2× their library calls); the
//!    landmarks' mean distance to MediaPipe's (both visible > 0.5) and the
//!    descriptors' mean difference, per clip.
//! 2. **From skeleton files** (`pipelines/descriptors-from-skeleton-files.yaml`):
//!    the models left out on both sides (COCO skeleton files, capsule
//!    masks), on `MAFLOW_E2E_COPIES` (default 2) copies of the sample clips,
//!    maflow on 1 and 2 workers against the peer with OpenCV on 1 thread
//!    and on every core.
//!
//! Every run is repeated `MAFLOW_E2E_ROUNDS` times (default 3), alternating,
//! and the tables give medians. With `MAFLOW_E2E_SCALING=1` it also runs
//! maflow on 10× the clips to show that its peak memory does not grow with
//! them. `MAFLOW_E2E_ONLY=models` or `=skeletons` runs one table.
//!
//! Run: `cargo bench --bench e2e` (after `bash scripts/setup.sh`, which
//! installs the peers' packages).

use std::path::{Path, PathBuf};

mod support;

use support::{Measured, SAMPLES, dataset, measure, median};

/// `threads`: each worker's threads inside a clip (`None`: the cores shared among the workers).
fn maflow_args(data: &Path, work: &Path, workers: usize, threads: Option<usize>) -> Vec<String> {
    let set = |k: &str, v: String| ["--set".to_string(), format!("{k}={v}")];
    let mut args: Vec<String> = [
        "run",
        "pipelines/descriptors-from-skeleton-files.yaml",
        "-q",
        "-w",
    ]
    .map(String::from)
    .to_vec();
    args.push(workers.to_string());
    if let Some(threads) = threads {
        args.extend(set("defaults.threads_per_worker", threads.to_string()));
    }
    args.extend(set("sources.clips.path", data.display().to_string()));
    args.extend(set(
        "skeleton.path",
        data.join("skeletons").display().to_string(),
    ));
    args.extend(set("defaults.out", work.join("out").display().to_string()));
    args.extend(set(
        "defaults.store",
        work.join("store").display().to_string(),
    ));
    args
}

/// Every descriptor vector of maflow's and the peer's, per clip: (mean, max) absolute difference in px/frame.
fn compare(ours: &Path, peer: &Path, clips: &[String]) -> Vec<(String, f64, f64)> {
    clips
        .iter()
        .map(|clip| {
            let read = |dir: &Path| -> serde_json::Value {
                serde_json::from_slice(&std::fs::read(dir.join(format!("{clip}.json"))).unwrap())
                    .unwrap()
            };
            let (a, b) = (read(ours), read(peer));
            let (mut sum, mut max, mut n) = (0.0, 0.0f64, 0usize);
            for (part, frames) in a.as_object().unwrap() {
                for (fa, fb) in frames
                    .as_array()
                    .unwrap()
                    .iter()
                    .zip(b[part].as_array().unwrap())
                {
                    for c in 0..2 {
                        let d = (fa["vector"][c].as_f64().unwrap()
                            - fb["vector"][c].as_f64().unwrap())
                        .abs();
                        (sum, max, n) = (sum + d, max.max(d), n + 1);
                    }
                }
            }
            (clip.clone(), sum / n.max(1) as f64, max)
        })
        .collect()
}

fn main() {
    let only = std::env::var("MAFLOW_E2E_ONLY").unwrap_or_default();
    let rounds: usize = std::env::var("MAFLOW_E2E_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    if only != "skeletons" {
        models_table(rounds);
    }
    if only != "models" {
        skeleton_files_table(rounds);
    }
}

/// Table 2: both sides from skeleton files, no models.
fn skeleton_files_table(rounds: usize) {
    let copies: usize = std::env::var("MAFLOW_E2E_COPIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let root = tempfile::tempdir().expect("temp dir");
    let (data, clips) = dataset(&root.path().join("data"), copies);
    let maflow = env!("CARGO_BIN_EXE_maflow");

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let peer_out = root.path().join("peer");
    let peer_args: Vec<String> = vec![
        "benches/peer/pipeline.py".into(),
        "--clips".into(),
        data.join("videos").display().to_string(),
        "--skeletons".into(),
        data.join("skeletons").display().to_string(),
        "--out".into(),
        peer_out.display().to_string(),
    ];
    let mut peer_threaded = peer_args.clone();
    peer_threaded.extend(["--threads".into(), cores.to_string()]);

    // (name, program, args, work folder to clear between rounds); maflow with
    // the cores shared among its workers, then with one thread each.
    let mut runs: Vec<(String, &str, Vec<String>, Option<PathBuf>)> = Vec::new();
    for (workers, threads) in [(1, None), (2, None), (1, Some(1)), (2, Some(1))] {
        let share = threads.unwrap_or((cores / workers).max(1));
        let name = format!("maflow, {workers} worker(s) × {share} thread(s)");
        if runs.iter().any(|(n, ..)| *n == name) {
            continue;
        }
        let work = root
            .path()
            .join(format!("maflow-{workers}-{}", threads.unwrap_or(0)));
        runs.push((
            name,
            maflow,
            maflow_args(&data, &work, workers, threads),
            Some(work),
        ));
    }
    runs.push((
        "Python peer, OpenCV on 1 thread".into(),
        "python3",
        peer_args,
        None,
    ));
    // Same outputs folder: the second run overwrites the first's identical descriptors.
    runs.push((
        format!("Python peer, OpenCV on {cores} threads"),
        "python3",
        peer_threaded,
        None,
    ));

    // Rounds alternate every run, so each sees the same load; the table gives medians.
    let mut measured: Vec<Vec<Measured>> = runs.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (i, (_, program, args, work)) in runs.iter().enumerate() {
            // Every round computes again rather than reading the last one's store.
            if let Some(work) = work {
                std::fs::remove_dir_all(work.join("store")).ok();
            }
            measured[i].push(measure(program, args, None));
        }
    }
    let rows: Vec<(String, Measured)> = runs
        .iter()
        .zip(measured)
        .map(|((name, ..), mut ms)| {
            ms.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
            let peak_mb = ms.iter().map(|m| m.peak_mb).fold(0.0, f64::max);
            (
                name.clone(),
                Measured {
                    seconds: ms[ms.len() / 2].seconds,
                    peak_mb,
                    stdout: String::new(),
                },
            )
        })
        .collect();
    let seconds_of = |prefix: &str| {
        rows.iter()
            .find(|(n, _)| n.starts_with(prefix))
            .expect("measured")
            .1
            .seconds
    };
    let run: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.path().join("maflow-1-0/out/skeleton-files/run.json"))
            .expect("run.json"),
    )
    .expect("JSON");
    let frames = run["operators"]["decode"]["frames"]
        .as_u64()
        .expect("decoded frames");

    println!(
        "\nFrom skeleton files, no models: {clips} clips, {frames} frames at 1080×1296 (medium, scale 0.5, skeleton masks), median of {rounds} rounds, peak of all:"
    );
    let peer_seconds = seconds_of("Python peer, OpenCV on 1 thread");
    let threaded_peer_seconds = seconds_of(&format!("Python peer, OpenCV on {cores} threads"));
    println!(
        "| run | seconds | clips/s | frames/s | peak MB | speed vs peer | vs peer on {cores} threads |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, m) in &rows {
        println!(
            "| {name} | {:.1} | {:.2} | {:.1} | {:.0} | {:.2}× | {:.2}× |",
            m.seconds,
            clips as f64 / m.seconds,
            frames as f64 / m.seconds,
            m.peak_mb,
            peer_seconds / m.seconds,
            threaded_peer_seconds / m.seconds
        );
    }
    let shared = seconds_of("maflow, 1 worker(s)") / seconds_of("maflow, 2 worker(s)");
    let single = seconds_of("maflow, 1 worker(s) × 1 thread(s)")
        / seconds_of("maflow, 2 worker(s) × 1 thread(s)");
    println!("maflow 1 → 2 workers, cores shared among the workers: {shared:.2}×");
    println!("maflow 1 → 2 workers, 1 thread each: {single:.2}× (target ≥ 1.7×)");

    let ids: Vec<String> = (0..SAMPLES.len())
        .map(|s| format!("9000_01_{:04}", s + 1))
        .collect();
    println!("\nDescriptors, maflow against the peer (px/frame over every part and frame):");
    for (clip, mean, max) in compare(
        &root
            .path()
            .join("maflow-2-0/out/skeleton-files/descriptors"),
        &peer_out,
        &ids,
    ) {
        println!("  {clip}: mean |Δ| {mean:.3}, max {max:.2}");
    }

    if std::env::var_os("MAFLOW_E2E_SCALING").is_some() {
        let big = root.path().join("big");
        let (big_data, big_clips) = dataset(&big.join("data"), copies * 10);
        let m = measure(
            maflow,
            &maflow_args(&big_data, &big.join("work"), 2, None),
            None,
        );
        let twelve = rows
            .iter()
            .find(|(n, _)| n.starts_with("maflow, 2 worker(s)"))
            .expect("measured")
            .1
            .peak_mb;
        println!(
            "\nmaflow, 2 workers: {clips} clips peak {twelve:.0} MB; {big_clips} clips peak {:.0} MB",
            m.peak_mb
        );
    }
}

/// The Python that has `mediapipe==0.10.21` (numpy < 2, so not the system's).
fn peer_python() -> String {
    if let Some(p) = std::env::var_os("MAFLOW_PEER_PYTHON") {
        return p.to_string_lossy().into_owned();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".maflow/peer-venv/bin/python");
    assert!(
        venv.is_file(),
        "{} is missing: run `bash scripts/setup.sh` (it makes the MediaPipe peer's environment)",
        venv.display()
    );
    venv.display().to_string()
}

/// The stages both sides time, in the order of the chain.
const STAGES: [&str; 6] = ["decode", "pose", "segment", "flow", "align", "descriptor"];

/// The peer's three library calls alone (MediaPipe's Pose and SelfieSegmentation `process`,
/// OpenCV's `DIS.calc`), timed inside its stages: what a researcher's script spends most in.
const LIBRARY: [&str; 3] = ["library:pose", "library:segment", "library:flow"];

/// One side's run in the models table.
struct ModelRun {
    name: String,
    program: String,
    args: Vec<String>,
    cores: &'static str,
    /// maflow's out and store folders; `None` for the peer.
    work: Option<PathBuf>,
}

/// Seconds per stage of one run: maflow's from its run.json, the peer's from the line it prints.
fn stage_seconds(run: &ModelRun, m: &Measured) -> Vec<f64> {
    match &run.work {
        Some(work) => {
            let path = work.join("out/descriptors/run.json");
            let run_json: serde_json::Value =
                serde_json::from_slice(&std::fs::read(path).expect("run.json")).expect("JSON");
            let node = |s: &'static str| if s == "descriptor" { "descriptors" } else { s };
            STAGES
                .iter()
                .map(|s| {
                    run_json["operators"][node(s)]["seconds"]
                        .as_f64()
                        .unwrap_or(0.0)
                })
                .chain(LIBRARY.map(|_| 0.0))
                .collect()
        }
        None => {
            let line = m
                .stdout
                .lines()
                .rev()
                .find(|l| l.starts_with('{'))
                .expect("the peer prints its timing");
            let printed: serde_json::Value = serde_json::from_str(line).expect("JSON");
            STAGES
                .iter()
                .chain(&LIBRARY)
                .map(|s| printed["stages"][*s].as_f64().unwrap_or(0.0))
                .collect()
        }
    }
}

/// maflow's chain and the peer's three library calls, in the units of the
/// stage vectors (see [`stage_seconds`]): from pose to descriptor, the
/// peer's decoding being outside its calls; with `with_decode`, decoding
/// added on both sides.
fn chain_ms(ours: &[f64], theirs: &[f64], with_decode: bool) -> (f64, f64) {
    // Decoding is the first stage on both sides.
    let first = if with_decode { 0 } else { 1 };
    let ours: f64 = ours[first..STAGES.len()].iter().sum();
    let calls: f64 = theirs[STAGES.len()..].iter().sum();
    (ours, calls + if with_decode { theirs[0] } else { 0.0 })
}

/// The peer's time over maflow's for [`chain_ms`].
fn chain_ratio(ours: &[f64], theirs: &[f64], with_decode: bool) -> f64 {
    let (ours, theirs) = chain_ms(ours, theirs, with_decode);
    theirs / ours.max(1e-9)
}

/// Table 1: the chain with the models on both sides.
fn models_table(rounds: usize) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = tempfile::tempdir().expect("temp dir");
    let maflow = env!("CARGO_BIN_EXE_maflow").to_string();
    let python = peer_python();
    let two_cores = std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2;
    let peer_out = |cores: &str| root.path().join(format!("peer-{}", cores.replace(',', "")));
    let maflow_run = |workers: usize, threads: usize, cores: &'static str| {
        let work = root.path().join(format!("maflow-{workers}x{threads}"));
        let set = |k: &str, v: String| ["--set".to_string(), format!("{k}={v}")];
        let mut args: Vec<String> = ["run", "pipelines/descriptors.yaml", "-q", "-w"]
            .map(String::from)
            .to_vec();
        args.push(workers.to_string());
        args.extend(set("defaults.threads_per_worker", threads.to_string()));
        if threads == 1 {
            // A one-thread worker decodes on its own thread: decoder threads
            // would take turns on the same core and be timed in the next stage.
            args.extend(set("decode.params.threads", "1".into()));
        }
        args.extend(set("defaults.out", work.join("out").display().to_string()));
        args.extend(set(
            "defaults.store",
            work.join("store").display().to_string(),
        ));
        ModelRun {
            name: format!("maflow, {workers} worker(s) × {threads} thread(s)"),
            program: maflow.clone(),
            args,
            cores,
            work: Some(work),
        }
    };
    let peer_run = |threads: usize, cores: &'static str| ModelRun {
        name: format!("MediaPipe Python peer, OpenCV on {threads} thread(s)"),
        program: python.clone(),
        args: [
            "benches/peer/pipeline.py",
            "--models",
            "--clips",
            &repo.join("tests/data/ma52/videos").display().to_string(),
            "--out",
            &peer_out(cores).display().to_string(),
            "--threads",
            &threads.to_string(),
        ]
        .map(String::from)
        .to_vec(),
        cores,
        work: None,
    };
    let mut runs = vec![maflow_run(1, 1, "0"), peer_run(1, "0")];
    if two_cores {
        runs.extend([
            maflow_run(1, 2, "0,1"),
            maflow_run(2, 1, "0,1"),
            peer_run(2, "0,1"),
        ]);
    }
    let mut measured: Vec<Vec<(Measured, Vec<f64>)>> = runs.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (i, run) in runs.iter().enumerate() {
            if let Some(work) = &run.work {
                std::fs::remove_dir_all(work).ok();
            }
            let m = measure(&run.program, &run.args, Some(run.cores));
            let stages = stage_seconds(run, &m);
            measured[i].push((m, stages));
        }
    }
    let frames = {
        let run_json: serde_json::Value = serde_json::from_slice(
            &std::fs::read(root.path().join("maflow-1x1/out/descriptors/run.json")).unwrap(),
        )
        .unwrap();
        run_json["operators"]["decode"]["frames"]
            .as_u64()
            .expect("decoded frames") as f64
    };
    // Per run: median seconds, peak MB, median ms/frame per stage.
    let summary: Vec<(f64, f64, Vec<f64>)> = measured
        .iter()
        .map(|ms| {
            let seconds = median(ms.iter().map(|m| m.0.seconds).collect());
            let peak = ms.iter().map(|m| m.0.peak_mb).fold(0.0, f64::max);
            let stages = (0..STAGES.len() + LIBRARY.len())
                .map(|s| median(ms.iter().map(|m| m.1[s]).collect()) * 1000.0 / frames)
                .collect();
            (seconds, peak, stages)
        })
        .collect();
    let position = |prefix: &str| runs.iter().position(|r| r.name.starts_with(prefix));
    let by_name = |prefix: &str| position(prefix).map(|i| &summary[i]);
    // The peer's library calls over maflow's stages, round by round: the two
    // runs of a round are minutes apart at most, so a busy spell on a shared
    // machine weighs on both, where the medians of each side may come from
    // different spells. `with_decode` adds decoding on both sides. (median,
    // lowest, highest).
    let round_ratios = |ours: &str, theirs: &str, with_decode: bool| {
        let (Some(m), Some(p)) = (position(ours), position(theirs)) else {
            return None;
        };
        let mut ratios: Vec<f64> = measured[m]
            .iter()
            .zip(&measured[p])
            .map(|(a, b)| chain_ratio(&a.1, &b.1, with_decode))
            .collect();
        ratios.sort_by(f64::total_cmp);
        Some((median(ratios.clone()), ratios[0], ratios[ratios.len() - 1]))
    };

    println!(
        "\nWith the models: the 3 sample clips, {frames} frames at 1080×1296 (pose full, segment both, flow medium at scale 0.5), median of {rounds} rounds:"
    );
    println!("\nPer stage, ms/frame (each side pinned to the same cores):");
    let (m1, p1) = (
        by_name("maflow, 1 worker(s) × 1").unwrap(),
        by_name("MediaPipe Python peer, OpenCV on 1").unwrap(),
    );
    let two = by_name("maflow, 1 worker(s) × 2").zip(by_name("MediaPipe Python peer, OpenCV on 2"));
    print!("| stage | maflow, 1 core | peer, 1 core | peer / maflow |");
    if two.is_some() {
        print!(" maflow, 2 cores (1 worker × 2 threads) | peer, 2 cores | peer / maflow |");
    }
    println!(
        "\n|---|---|---|---|{}",
        if two.is_some() { "---|---|---|" } else { "" }
    );
    for (s, stage) in STAGES.iter().enumerate() {
        print!(
            "| {stage} | {:.1} | {:.1} | {:.2}× |",
            m1.2[s],
            p1.2[s],
            p1.2[s] / m1.2[s].max(1e-9)
        );
        if let Some((m2, p2)) = two {
            print!(
                " {:.1} | {:.1} | {:.2}× |",
                m2.2[s],
                p2.2[s],
                p2.2[s] / m2.2[s].max(1e-9)
            );
        }
        println!();
    }
    println!(
        "\nWhole chain (peer: pose = MediaPipe Pose; segment = SelfieSegmentation on the frame, then the capsule cut):"
    );
    println!(
        "| run | cores | seconds | frames/s | peak MB | speed vs the peer on the same cores |"
    );
    println!("|---|---|---|---|---|---|");
    for (run, (seconds, peak, _)) in runs.iter().zip(&summary) {
        let peer = runs
            .iter()
            .zip(&summary)
            .find(|(r, _)| r.work.is_none() && r.cores == run.cores)
            .map(|(_, s)| s.0)
            .unwrap();
        println!(
            "| {} | {} | {seconds:.1} | {:.1} | {peak:.0} | {:.2}× |",
            run.name,
            run.cores,
            frames / seconds,
            peer / seconds
        );
    }

    // The honest peer: its three library calls alone, against maflow's chain
    // from pose to descriptor (the peer's calls leave its decoding out), and
    // with decoding added on both sides.
    println!(
        "\nThe chain against the peer's three library calls alone (Pose.process, \
         SelfieSegmentation.process and DIS.calc; the rest of its script untimed), ms/frame:"
    );
    println!(
        "| cores | decode | maflow | peer, library calls | peer / maflow | the same, round by round: median (range) |"
    );
    println!("|---|---|---|---|---|---|");
    for (m, p) in [Some((m1, p1)), two].into_iter().flatten() {
        let cores = if std::ptr::eq(m, m1) { 1 } else { 2 };
        for with_decode in [false, true] {
            let (ours, theirs) = chain_ms(&m.2, &p.2, with_decode);
            let (mid, low, high) = round_ratios(
                &format!("maflow, 1 worker(s) × {cores}"),
                &format!("MediaPipe Python peer, OpenCV on {cores}"),
                with_decode,
            )
            .expect("both runs");
            let calls = format!(
                "pose {:.1}, segment {:.1}, flow {:.1}",
                p.2[STAGES.len()],
                p.2[STAGES.len() + 1],
                p.2[STAGES.len() + 2],
            );
            println!(
                "| {cores} | {} | {ours:.1} | {theirs:.1} ({calls}{}) | {:.2}× | {mid:.2}× ({low:.2}–{high:.2}) |",
                if with_decode {
                    "both sides"
                } else {
                    "left out"
                },
                if with_decode {
                    format!(", decode {:.1}", p.2[0])
                } else {
                    String::new()
                },
                theirs / ours.max(1e-9)
            );
        }
    }

    // The targets on one core, against the library calls: the chain from pose
    // to descriptor 2.5×, pose 1.5×, segment 2× (each stage against its call).
    // A stage's ratio: the peer's call for it over maflow's stage.
    let stage_ratio = |stage: &str| {
        let ours = STAGES.iter().position(|s| *s == stage).expect("a stage");
        let call = LIBRARY
            .iter()
            .position(|l| l.strip_prefix("library:") == Some(stage))
            .expect("a library call");
        p1.2[STAGES.len() + call] / m1.2[ours].max(1e-9)
    };
    let (ours, theirs) = chain_ms(&m1.2, &p1.2, false);
    let verdict = |ratio: f64, target: f64| {
        format!(
            "{ratio:.2}× (target ≥ {target}×: {})",
            if ratio >= target { "met" } else { "missed" }
        )
    };
    println!(
        "\nOn one core against the library calls: chain {}, pose {}, segment {}",
        verdict(theirs / ours.max(1e-9), 2.5),
        verdict(stage_ratio("pose"), 1.5),
        verdict(stage_ratio("segment"), 2.0),
    );

    // Agreement, from the one-core runs of the last round.
    let maflow_out = root.path().join("maflow-1x1/out/descriptors");
    let skeletons =
        std::fs::read_to_string(maflow_out.join("skeletons.jsonl")).expect("skeletons.jsonl");
    println!(
        "\nLandmarks against MediaPipe Python's (both visible > 0.5), and descriptors against the peer's:"
    );
    let ids: Vec<String> = SAMPLES.iter().map(|s| s.to_string()).collect();
    let descriptor_diffs = compare(&maflow_out.join("descriptors"), &peer_out("0"), &ids);
    let mut all = (0.0, 0usize);
    for (clip, (_, mean_d, max_d)) in ids.iter().zip(&descriptor_diffs) {
        let ours: serde_json::Value = skeletons
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|v| v["clip"] == clip.as_str())
            .expect("the clip's skeleton track");
        let theirs: serde_json::Value = serde_json::from_slice(
            &std::fs::read(peer_out("0").join(format!("{clip}.landmarks.json"))).unwrap(),
        )
        .unwrap();
        let (mut sum, mut n) = (0.0, 0usize);
        for (a, b) in ours["frames"]
            .as_array()
            .unwrap()
            .iter()
            .zip(theirs.as_array().unwrap())
        {
            for (p, q) in a["keypoints"]
                .as_array()
                .unwrap()
                .iter()
                .zip(b.as_array().unwrap())
            {
                let v = |k: &serde_json::Value, i: usize| k[i].as_f64().unwrap();
                if v(p, 2) > 0.5 && v(q, 2) > 0.5 {
                    sum += (v(p, 0) - v(q, 0)).hypot(v(p, 1) - v(q, 1));
                    n += 1;
                }
            }
        }
        all = (all.0 + sum, all.1 + n);
        println!(
            "  {clip}: landmarks mean {:.1} px over {n}; descriptors mean |Δ| {mean_d:.3} px/frame, max {max_d:.2}",
            sum / n.max(1) as f64
        );
    }
    println!(
        "  all clips: landmarks mean {:.1} px (target ≤ 12 px)",
        all.0 / all.1.max(1) as f64
    );
}
