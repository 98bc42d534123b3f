//! End to end, side by side: the per-clip descriptor chain (decode →
//! skeleton → segment → flow → align → descriptor) in maflow and in a
//! Python peer (`benches/peer/pipeline.py`: PyAV, OpenCV's DIS, numpy), on
//! the same clips in one command.
//!
//! The clips are the real MA-52 sample clips with their COCO skeleton files,
//! copied `MAFLOW_E2E_COPIES` times (default 4) under new ids. Both sides use
//! the `medium` preset at scale 0.5 and the skeleton-capsule body mask; the
//! pose and segmentation models are left out of both (the peer would have
//! to reimplement BlazePose's detector and tracking). Prints wall seconds,
//! clips/s, frames/s and peak memory for maflow on 1 and 2 workers, with the
//! cores shared among the workers (the default) and with one thread each
//! (workers as the only parallelism), and for the peer with OpenCV on one
//! thread and on every core; the ratios; and how far the peer's descriptors
//! are from maflow's (px/frame). Every run is repeated `MAFLOW_E2E_ROUNDS` times
//! (default 3), alternating, and the table gives medians. With
//! `MAFLOW_E2E_SCALING=1` it also runs maflow on
//! 10× the clips to show that its peak memory does not grow with them.
//!
//! Run: `cargo bench --bench e2e` (after `bash scripts/setup.sh`, which
//! installs the peer's packages).

use std::path::{Path, PathBuf};
use std::process::Command;

const SAMPLES: [&str; 3] = ["0030_01_0002", "0010_02_0101", "0019_02_0078"];

struct Measured {
    seconds: f64,
    peak_mb: f64,
}

/// Runs a command under `/usr/bin/time -f %M` (peak resident set in KB) and times it.
fn measure(program: &str, args: &[String]) -> Measured {
    let report = tempfile::NamedTempFile::new().expect("temp file");
    let started = std::time::Instant::now();
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(report.path())
        .arg(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("/usr/bin/time runs (apt install time)");
    let seconds = started.elapsed().as_secs_f64();
    assert!(status.success(), "{program} {args:?} failed");
    let kb: f64 = std::fs::read_to_string(report.path()).unwrap().trim().lines().last().unwrap().parse().unwrap();
    Measured { seconds, peak_mb: kb / 1024.0 }
}

/// A dataset of `copies` × the sample clips (videos, list file, skeletons).
fn dataset(root: &Path, copies: usize) -> (PathBuf, usize) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (videos, skeletons) = (root.join("videos"), root.join("skeletons"));
    std::fs::create_dir_all(&videos).unwrap();
    std::fs::create_dir_all(&skeletons).unwrap();
    let mut list = String::new();
    for c in 0..copies {
        for (s, sample) in SAMPLES.iter().enumerate() {
            let id = format!("9{:03}_01_{:04}", c, s + 1);
            std::fs::copy(repo.join(format!("tests/data/ma52/videos/{sample}.mp4")), videos.join(format!("{id}.mp4"))).unwrap();
            std::fs::copy(repo.join(format!("tests/data/skeletons/{sample}.json")), skeletons.join(format!("{id}.json"))).unwrap();
            list.push_str(&format!("{id}.mp4 9\n"));
        }
    }
    std::fs::write(root.join("train_list_videos.txt"), list).unwrap();
    (root.to_path_buf(), copies * SAMPLES.len())
}

/// `threads`: each worker's threads inside a clip (`None`: the cores shared among the workers).
fn maflow_args(data: &Path, work: &Path, workers: usize, threads: Option<usize>) -> Vec<String> {
    let set = |k: &str, v: String| ["--set".to_string(), format!("{k}={v}")];
    let mut args: Vec<String> = ["run", "pipelines/descriptors-from-skeleton-files.yaml", "-q", "-w"].map(String::from).to_vec();
    args.push(workers.to_string());
    if let Some(threads) = threads {
        args.extend(set("defaults.threads_per_worker", threads.to_string()));
    }
    args.extend(set("sources.clips.path", data.display().to_string()));
    args.extend(set("skeleton.path", data.join("skeletons").display().to_string()));
    args.extend(set("defaults.out", work.join("out").display().to_string()));
    args.extend(set("defaults.store", work.join("store").display().to_string()));
    args
}

/// Every descriptor vector of maflow's and the peer's, per clip: (mean, max) absolute difference in px/frame.
fn compare(ours: &Path, peer: &Path, clips: &[String]) -> Vec<(String, f64, f64)> {
    clips
        .iter()
        .map(|clip| {
            let read = |dir: &Path| -> serde_json::Value {
                serde_json::from_slice(&std::fs::read(dir.join(format!("{clip}.json"))).unwrap()).unwrap()
            };
            let (a, b) = (read(ours), read(peer));
            let (mut sum, mut max, mut n) = (0.0, 0.0f64, 0usize);
            for (part, frames) in a.as_object().unwrap() {
                for (fa, fb) in frames.as_array().unwrap().iter().zip(b[part].as_array().unwrap()) {
                    for c in 0..2 {
                        let d = (fa["vector"][c].as_f64().unwrap() - fb["vector"][c].as_f64().unwrap()).abs();
                        (sum, max, n) = (sum + d, max.max(d), n + 1);
                    }
                }
            }
            (clip.clone(), sum / n.max(1) as f64, max)
        })
        .collect()
}

fn main() {
    let copies: usize = std::env::var("MAFLOW_E2E_COPIES").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let root = tempfile::tempdir().expect("temp dir");
    let (data, clips) = dataset(&root.path().join("data"), copies);
    let maflow = env!("CARGO_BIN_EXE_maflow");

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rounds: usize = std::env::var("MAFLOW_E2E_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
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
        let work = root.path().join(format!("maflow-{workers}-{}", threads.unwrap_or(0)));
        runs.push((name, maflow, maflow_args(&data, &work, workers, threads), Some(work)));
    }
    runs.push(("Python peer, OpenCV on 1 thread".into(), "python3", peer_args, None));
    // Same outputs folder: the second run overwrites the first's identical descriptors.
    runs.push((format!("Python peer, OpenCV on {cores} threads"), "python3", peer_threaded, None));

    // Rounds alternate every run, so each sees the same load; the table gives medians.
    let mut measured: Vec<Vec<Measured>> = runs.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (i, (_, program, args, work)) in runs.iter().enumerate() {
            // Every round computes again rather than reading the last one's store.
            if let Some(work) = work {
                std::fs::remove_dir_all(work.join("store")).ok();
            }
            measured[i].push(measure(program, args));
        }
    }
    let rows: Vec<(String, Measured)> = runs
        .iter()
        .zip(measured)
        .map(|((name, ..), mut ms)| {
            ms.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
            let peak_mb = ms.iter().map(|m| m.peak_mb).fold(0.0, f64::max);
            (name.clone(), Measured { seconds: ms[ms.len() / 2].seconds, peak_mb })
        })
        .collect();
    let seconds_of = |prefix: &str| rows.iter().find(|(n, _)| n.starts_with(prefix)).expect("measured").1.seconds;
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.path().join("maflow-1-0/out/skeleton-files/run.json")).expect("run.json")).expect("JSON");
    let frames = run["operators"]["decode"]["frames"].as_u64().expect("decoded frames");

    println!("\n{clips} clips, {frames} frames at 1080×1296 (medium, scale 0.5, skeleton masks), median of {rounds} rounds, peak of all:");
    let peer_seconds = seconds_of("Python peer, OpenCV on 1 thread");
    let threaded_peer_seconds = seconds_of(&format!("Python peer, OpenCV on {cores} threads"));
    println!("| run | seconds | clips/s | frames/s | peak MB | speed vs peer | vs peer on {cores} threads |");
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
    let single = seconds_of("maflow, 1 worker(s) × 1 thread(s)") / seconds_of("maflow, 2 worker(s) × 1 thread(s)");
    println!("maflow 1 → 2 workers, cores shared among the workers: {shared:.2}×");
    println!("maflow 1 → 2 workers, 1 thread each: {single:.2}× (target ≥ 1.7×)");

    let ids: Vec<String> = (0..SAMPLES.len()).map(|s| format!("9000_01_{:04}", s + 1)).collect();
    println!("\nDescriptors, maflow against the peer (px/frame over every part and frame):");
    for (clip, mean, max) in compare(&root.path().join("maflow-2-0/out/skeleton-files/descriptors"), &peer_out, &ids) {
        println!("  {clip}: mean |Δ| {mean:.3}, max {max:.2}");
    }

    if std::env::var_os("MAFLOW_E2E_SCALING").is_some() {
        let big = root.path().join("big");
        let (big_data, big_clips) = dataset(&big.join("data"), copies * 10);
        let m = measure(maflow, &maflow_args(&big_data, &big.join("work"), 2, None));
        let twelve = rows.iter().find(|(n, _)| n.starts_with("maflow, 2 worker(s)")).expect("measured").1.peak_mb;
        println!("\nmaflow, 2 workers: {clips} clips peak {twelve:.0} MB; {big_clips} clips peak {:.0} MB", m.peak_mb);
    }
}
