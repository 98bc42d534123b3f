//! All of MA-52 on one machine, projected from measurements: the descriptor
//! chain with the models (`pipelines/descriptors.yaml`: decode, pose `full`,
//! segment `both`, flow `medium` at scale 0.5 around the person, align,
//! descriptor) on `MAFLOW_PROJECTION_COPIES` (default 8) copies of the three
//! sample clips, run on one worker pinned to one core and on one worker per
//! core of this machine (each clip's decoder on one thread, as the workers
//! fill the cores), alternating for `MAFLOW_E2E_ROUNDS` rounds (default 3).
//!
//! Prints the median core time a frame (the whole run's wall time on one
//! core over its frames: start-up, decoding, the store's commits and the
//! coordinator included), the worker scaling (frames/s on every core over
//! frames/s on one, per core), and the hours MA-52's 1.43 M frames
//! (22,422 clips of about 64 frames) take on 16 cores at that core time and
//! that scaling. The scaling is measured on this machine's cores, not on 16.
//!
//! Run: `cargo bench --bench projection` (after `bash scripts/setup.sh`).

mod support;

use support::{dataset, measure, median};

/// MA-52's frames: 22,422 clips of about 64 frames.
const MA52_FRAMES: f64 = 1.43e6;

/// The machine the projection is for.
const TARGET_CORES: f64 = 16.0;

fn main() {
    let copies: usize = std::env::var("MAFLOW_PROJECTION_COPIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let rounds: usize = std::env::var("MAFLOW_E2E_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let root = tempfile::tempdir().expect("temp dir");
    let (data, clips) = dataset(&root.path().join("data"), copies);
    let maflow = env!("CARGO_BIN_EXE_maflow");
    let every_core = format!("0-{}", cores - 1);
    let runs = [(1, "0".to_string()), (cores, every_core)];
    let mut seconds = vec![Vec::new(); runs.len()];
    let mut peak_mb = vec![0f64; runs.len()];
    let mut frames = 0.0;
    for _ in 0..rounds {
        for (i, (workers, pinned)) in runs.iter().enumerate() {
            let work = root.path().join(format!("work-{workers}"));
            std::fs::remove_dir_all(&work).ok();
            let set = |k: &str, v: String| ["--set".to_string(), format!("{k}={v}")];
            let mut args: Vec<String> = ["run", "pipelines/descriptors.yaml", "-q", "-w"]
                .map(String::from)
                .to_vec();
            args.push(workers.to_string());
            args.extend(set("defaults.threads_per_worker", "1".into()));
            args.extend(set("decode.params.threads", "1".into()));
            args.extend(set("sources.clips.path", data.display().to_string()));
            args.extend(set("defaults.out", work.join("out").display().to_string()));
            args.extend(set(
                "defaults.store",
                work.join("store").display().to_string(),
            ));
            let m = measure(maflow, &args, Some(pinned));
            seconds[i].push(m.seconds);
            peak_mb[i] = peak_mb[i].max(m.peak_mb);
            let run: serde_json::Value = serde_json::from_slice(
                &std::fs::read(work.join("out/descriptors/run.json")).expect("run.json"),
            )
            .expect("JSON");
            frames = run["operators"]["decode"]["frames"]
                .as_f64()
                .expect("decoded frames");
        }
    }
    let one = median(seconds[0].clone());
    let all = median(seconds[1].clone());
    let core_ms = one * 1000.0 / frames;
    let speedup = one / all;
    let efficiency = speedup / cores as f64;
    let hours = MA52_FRAMES * core_ms / 1000.0 / (TARGET_CORES * efficiency) / 3600.0;
    println!(
        "\n{clips} clips, {frames} frames at 1080×1296, median of {rounds} rounds:\n\
         \n| workers | cores | seconds | frames/s | peak MB |\n|---|---|---|---|---|\n\
         | 1 | 1 | {one:.1} | {:.1} | {:.0} |\n| {cores} | {cores} | {all:.1} | {:.1} | {:.0} |\n\
         \ncore time a frame: {core_ms:.1} ms; {cores} workers: {speedup:.2}× one ({:.0} % per core)\n\
         MA-52 (1.43 M frames) on {TARGET_CORES} cores at {:.0} % per core: {hours:.2} h \
         ({:.2} h if they scaled perfectly)",
        frames / one,
        peak_mb[0],
        frames / all,
        peak_mb[1],
        efficiency * 100.0,
        efficiency * 100.0,
        MA52_FRAMES * core_ms / 1000.0 / TARGET_CORES / 3600.0,
    );
}
