//! Decode throughput on the real MA-52 sample clips, against the ffmpeg CLI.
//!
//! Criterion measures frames/s of maflow's `decode` operator (gray: Y plane
//! copy; rgb: swscale) and of `ffmpeg -f null` on the same files with the
//! same thread count. Then, in the same run, alternating rounds of the gray
//! path and the CLI give medians and their ratio (target ≥ 0.9).
//!
//! Run: `cargo bench --bench decode` (needs the `ffmpeg` command).

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use maflow_engine::data::PixelFormat;
use maflow_engine::registry::FrameStream;
use maflow_operators::frame::decode::{DecodeConfig, open_stream};

const THREADS: usize = 2;

fn clips() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/ma52/videos");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn config(format: PixelFormat) -> DecodeConfig {
    DecodeConfig {
        format,
        width: None,
        height: None,
        fps: None,
        threads: THREADS,
        max_pixels: 4096 * 4096,
    }
}

fn decode_all(clips: &[PathBuf], format: PixelFormat) -> u64 {
    let cfg = config(format);
    let mut frames = 0;
    for clip in clips {
        let mut stream = open_stream(&cfg, clip).expect("sample clips decode");
        while let Some(frame) = stream.next_frame().unwrap() {
            black_box(&frame.data);
            frames += 1;
        }
    }
    frames
}

fn ffmpeg_all(clips: &[PathBuf]) {
    for clip in clips {
        let status = Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-nostdin",
                "-threads",
                &THREADS.to_string(),
                "-i",
            ])
            .arg(clip)
            .args(["-map", "0:v:0", "-f", "null", "-"])
            .status()
            .expect("the ffmpeg command is installed (scripts/setup.sh)");
        assert!(status.success());
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn main() {
    let clips = clips();
    let frames = decode_all(&clips, PixelFormat::Gray);
    println!(
        "device: {} ({} threads available); {} clips, {frames} frames, decoder threads {THREADS}",
        cpu_name(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        clips.len()
    );

    let mut c = Criterion::default().sample_size(10).configure_from_args();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(frames));
    group.bench_function("maflow-gray", |b| {
        b.iter(|| decode_all(&clips, PixelFormat::Gray))
    });
    group.bench_function("maflow-rgb", |b| {
        b.iter(|| decode_all(&clips, PixelFormat::Rgb))
    });
    group.bench_function("ffmpeg-cli-null", |b| b.iter(|| ffmpeg_all(&clips)));
    group.finish();

    // Same-run comparison: alternate the two so machine noise hits both alike.
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..9 {
        let t = Instant::now();
        decode_all(&clips, PixelFormat::Gray);
        ours.push(frames as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        ffmpeg_all(&clips);
        theirs.push(frames as f64 / t.elapsed().as_secs_f64());
    }
    let (ours, theirs) = (median(ours), median(theirs));
    println!(
        "median frames/s: maflow decode (gray) {ours:.1}, ffmpeg -f null {theirs:.1}, ratio {:.3} (target >= 0.9)",
        ours / theirs
    );
}
