//! Throughput of the descriptor chain on the real MA-52 sample clips.
//!
//! Runs `pipelines/demo.yaml` (decode → pose → segment → flow → align →
//! descriptor) from an empty store, `ROUNDS` times, with one and with two
//! workers, and prints per operator the median seconds, frames/s and share
//! of compute time, and the fused per-clip stage's frames/s of wall time.
//! Figures come from each run's `run.json` (seconds measured per operator
//! inside the stage).
//!
//! Run: `cargo bench --bench descriptor_stages` (after `bash scripts/setup.sh`).

use std::path::Path;
use std::process::Command;

const ROUNDS: usize = 3;
const NODES: [&str; 6] = ["decode", "pose", "segment", "flow", "align", "descriptors"];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run_once(workers: usize) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let status = Command::new(env!("CARGO_BIN_EXE_maflow"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "pipelines/demo.yaml",
            "-q",
            "-w",
            &workers.to_string(),
        ])
        .args([
            "--set",
            &format!("defaults.out={}", dir.path().join("out").display()),
        ])
        .args([
            "--set",
            &format!("defaults.store={}", dir.path().join("store").display()),
        ])
        .status()
        .expect("maflow runs");
    assert!(status.success(), "the demo failed");
    let run = std::fs::read(Path::new(&dir.path().join("out/demo/run.json"))).expect("run.json");
    serde_json::from_slice(&run).expect("JSON")
}

fn main() {
    // `cargo bench` passes flags such as `--bench`; this bench takes none.
    for workers in [1, 2] {
        let runs: Vec<serde_json::Value> = (0..ROUNDS).map(|_| run_once(workers)).collect();
        let frames = runs[0]["operators"]["decode"]["frames"].as_f64().unwrap();
        let seconds = |node: &str| {
            median(
                runs.iter()
                    .map(|r| r["operators"][node]["seconds"].as_f64().unwrap())
                    .collect(),
            )
        };
        let total: f64 = NODES.iter().map(|n| seconds(n)).sum();
        let wall = median(
            runs.iter()
                .map(|r| r["wall_seconds"].as_f64().unwrap())
                .collect(),
        );
        println!("\n{workers} worker(s), {frames} frames, median of {ROUNDS} cold runs:");
        println!("| operator | seconds | frames/s | share |");
        println!("|---|---|---|---|");
        for node in NODES {
            let s = seconds(node);
            println!(
                "| {node} | {s:.2} | {:.1} | {:.0}% |",
                frames / s,
                100.0 * s / total
            );
        }
        println!(
            "| fused stage (wall) | {wall:.2} | {:.1} | |",
            frames / wall
        );
    }
}
