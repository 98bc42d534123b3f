//! DIS optical flow, maflow's CPU version against OpenCV's, in one run.
//!
//! Pairs: the three Middlebury pairs with ground truth and one real MA-52
//! frame pair at 1080×1296. For each preset and for 1 and 2 threads it
//! prints median ms/pair for both, the speed ratio (OpenCV time / ours) and
//! the endpoint errors. Needs `python3` with opencv-python-headless
//! (scripts/setup.sh installs it).
//!
//! Run: `cargo bench --bench flow_vs_opencv`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use maflow_engine::data::PixelFormat;
use maflow_engine::registry::FrameStream;
use maflow_kernels::flow::dis::{DisParams, Preset, dis_flow};
use maflow_kernels::flow::field::{FlowField, average_endpoint_error};
use maflow_kernels::flow::image::GrayImage;
use maflow_operators::decode::{DecodeConfig, open_stream};
use maflow_operators::image_files::read_gray_png;

const REPEATS: usize = 5;

struct Pair {
    name: String,
    a: PathBuf,
    b: PathBuf,
    gt: Option<PathBuf>,
}

fn write_gray_png(path: &Path, w: u32, h: u32, data: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(data).unwrap();
}

/// Frames 10 and 11 of a real clip, as gray PNGs in `dir`.
fn ma52_pair(dir: &Path) -> Pair {
    let clip = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/ma52/videos/0030_01_0002.mp4");
    let cfg = DecodeConfig { format: PixelFormat::Gray, width: None, height: None, fps: None, threads: 2, max_pixels: 1 << 24 };
    let mut stream = open_stream(&cfg, &clip).unwrap();
    let mut frames = Vec::new();
    while let Some(f) = stream.next_frame().unwrap() {
        if f.index == 10 || f.index == 11 {
            frames.push(f);
        }
    }
    let (a, b) = (dir.join("ma52_10.png"), dir.join("ma52_11.png"));
    write_gray_png(&a, frames[0].width, frames[0].height, &frames[0].data);
    write_gray_png(&b, frames[1].width, frames[1].height, &frames[1].data);
    Pair { name: "MA-52 0030_01_0002 (1080x1296)".into(), a, b, gt: None }
}

fn load(path: &Path) -> GrayImage {
    let p = read_gray_png(path).unwrap();
    GrayImage::from_u8(p.width, p.height, &p.data)
}

fn ours(pair: &Pair, preset: Preset, threads: usize) -> (f64, Option<f64>) {
    let (a, b) = (load(&pair.a), load(&pair.b));
    let params = DisParams::preset(preset);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let mut flow = pool.install(|| dis_flow(&a, &b, &params, None));
    let mut times: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let t = Instant::now();
            flow = pool.install(|| dis_flow(&a, &b, &params, None));
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let epe = pair.gt.as_ref().map(|gt| {
        average_endpoint_error(&flow, &FlowField::read_flo(std::fs::File::open(gt).unwrap()).unwrap())
    });
    (times[REPEATS / 2], epe)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let middlebury = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/middlebury");
    let mut pairs: Vec<Pair> = ["Dimetrodon", "Grove2", "Urban2"]
        .iter()
        .map(|n| Pair {
            name: n.to_string(),
            a: middlebury.join(n).join("frame10.png"),
            b: middlebury.join(n).join("frame11.png"),
            gt: Some(middlebury.join(n).join("flow10.flo")),
        })
        .collect();
    pairs.push(ma52_pair(dir.path()));

    let spec: Vec<serde_json::Value> = pairs
        .iter()
        .map(|p| serde_json::json!({"name": p.name, "a": p.a, "b": p.b, "gt": p.gt}))
        .collect();
    let spec_path = dir.path().join("pairs.json");
    std::fs::write(&spec_path, serde_json::to_vec(&spec).unwrap()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/peer/opencv_dis.py");
    let out = Command::new("python3").arg(&script).arg(&spec_path).arg(REPEATS.to_string()).output().expect("python3 runs");
    assert!(out.status.success(), "OpenCV peer failed: {}", String::from_utf8_lossy(&out.stderr));
    let peer: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();

    println!("{:<32} {:<9} {:>3} {:>10} {:>10} {:>7} {:>8} {:>8}", "pair", "preset", "thr", "ours ms", "opencv ms", "ratio", "our EPE", "cv EPE");
    for pair in &pairs {
        for (preset, pname) in [(Preset::Ultrafast, "ultrafast"), (Preset::Fast, "fast"), (Preset::Medium, "medium")] {
            for threads in [1usize, 2] {
                let (ms, epe) = ours(pair, preset, threads);
                let cv = peer
                    .iter()
                    .find(|l| l["name"] == pair.name.as_str() && l["preset"] == pname && l["threads"] == threads)
                    .expect("peer line");
                let cv_ms = cv["ms"].as_f64().unwrap();
                let fmt = |e: Option<f64>| e.map_or("-".to_string(), |e| format!("{e:.3}"));
                println!(
                    "{:<32} {:<9} {:>3} {:>10.1} {:>10.1} {:>7.2} {:>8} {:>8}",
                    pair.name, pname, threads, ms, cv_ms, cv_ms / ms, fmt(epe), fmt(cv["epe"].as_f64())
                );
            }
        }
    }
    println!("ratio = OpenCV ms / maflow ms (above 1: maflow is faster); medians of {REPEATS} runs");
}
