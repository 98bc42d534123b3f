//! DIS optical flow, maflow's CPU version against OpenCV's, in one run.
//!
//! Pairs: the three Middlebury pairs with ground truth and one real MA-52
//! frame pair at 1080×1296. For each preset and for 1 and 2 threads it runs
//! ours and OpenCV's alternately (OpenCV in a long-lived Python process that
//! serves one run per request), so both see the same machine load, and
//! prints median ms/pair for both, the median of the per-run speed ratios
//! (OpenCV time / ours) and the endpoint errors. Ours runs as a video's pairs
//! do, writing into the field it returned before; "fresh ms" is ours when
//! every result needs new memory. Needs `python3` with opencv-python-headless
//! (scripts/setup.sh installs it).
//!
//! Run: `cargo bench --bench flow_vs_opencv`

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Instant;

use maflow_kernels::flow::cpu::DisFlow;
use maflow_kernels::flow::field::{FlowField, average_endpoint_error};
use maflow_kernels::flow::image::GrayImage;
use maflow_kernels::flow::params::{DisParams, Preset};
use maflow_kernels::png_io::read_gray_png;
use support::ma52_frames;

const REPEATS: usize = 21;

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
    let (a, b) = (dir.join("ma52_10.png"), dir.join("ma52_11.png"));
    let frames = ma52_frames(None);
    for (path, f) in [(&a, &frames.0), (&b, &frames.1)] {
        let bytes: Vec<u8> = f.data.iter().map(|&v| v as u8).collect();
        write_gray_png(path, f.width as u32, f.height as u32, &bytes);
    }
    Pair {
        name: format!(
            "MA-52 {} ({}x{})",
            support::CLIP,
            frames.0.width,
            frames.0.height
        ),
        a,
        b,
        gt: None,
    }
}

fn load(path: &Path) -> GrayImage {
    let p = read_gray_png(path).unwrap();
    GrayImage::from_u8(p.width, p.height, &p.data)
}

/// The OpenCV peer process, serving one timed run per request.
struct Peer {
    child: Child,
    replies: BufReader<ChildStdout>,
}

impl Peer {
    fn run(&mut self, pair: &Pair, preset: &str, threads: usize) -> (f64, Option<f64>) {
        let stdin = self.child.stdin.as_mut().expect("peer stdin");
        writeln!(stdin, "{} {preset} {threads}", pair.name).expect("peer takes requests");
        let mut line = String::new();
        self.replies.read_line(&mut line).expect("peer replies");
        let reply: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("peer reply {line:?}: {e}"));
        (reply["ms"].as_f64().unwrap(), reply["epe"].as_f64())
    }
}

/// A pause before each timed run: both thread pools spin for a while after a
/// job, and a 2 ms job is measurably slowed by the other side's spinning threads.
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(5));
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

impl Peer {
    /// Starts the peer on `pairs`, listed in a file in `dir`.
    fn start(pairs: &[Pair], dir: &Path) -> Self {
        let spec: Vec<serde_json::Value> = pairs
            .iter()
            .map(|p| serde_json::json!({"name": p.name, "a": p.a, "b": p.b, "gt": p.gt}))
            .collect();
        let spec_path = dir.join("pairs.json");
        std::fs::write(&spec_path, serde_json::to_vec(&spec).unwrap()).unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/peer/opencv_dis.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(&spec_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let replies = BufReader::new(child.stdout.take().expect("peer stdout"));
        Peer { child, replies }
    }
}

/// One row of the table: a pair, a preset and a thread count.
struct Row<'a> {
    pair: &'a Pair,
    images: (&'a GrayImage, &'a GrayImage),
    preset: &'a str,
    params: &'a DisParams,
    threads: usize,
}

/// Each side's times of a row, ms per run, and their ratios run by run.
struct Timings {
    mine: Vec<f64>,
    fresh: Vec<f64>,
    theirs: Vec<f64>,
    ratio: Vec<f64>,
}

impl Row<'_> {
    /// Both sides' runs, alternating, with our last field and OpenCV's endpoint error.
    fn run(&self, peer: &mut Peer) -> (Timings, FlowField, Option<f64>) {
        let (a, b, params) = (self.images.0, self.images.1, self.params);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .unwrap();
        // Both sides keep their working memory from one call to the next, ours in
        // the estimator, OpenCV's in its DIS object. Ours writes its result into
        // the field it returned before, which the caller gave back (as the flow
        // operator does); OpenCV 5.0 takes a field passed to `calc` as the initial
        // flow, so it returns a new numpy array each time (numpy maps one of 4 MB
        // or more on huge pages: cheap to fault in). "fresh ms" is ours when the
        // caller keeps every field, so each result needs new memory.
        let estimator = DisFlow::new(params.clone());
        let mut flow = pool.install(|| estimator.flow_with(a, b, params, None));
        let (_, cv_epe) = peer.run(self.pair, self.preset, self.threads);
        // Alternate one run of each, so both see the same machine load.
        let mut t = Timings {
            mine: Vec::new(),
            fresh: Vec::new(),
            theirs: Vec::new(),
            ratio: Vec::new(),
        };
        let mut kept = Vec::new();
        for _ in 0..REPEATS {
            estimator.recycle(flow);
            settle();
            let started = Instant::now();
            flow = pool.install(|| estimator.flow_with(a, b, params, None));
            let ms = started.elapsed().as_secs_f64() * 1e3;
            settle();
            let (cv_ms, _) = peer.run(self.pair, self.preset, self.threads);
            settle();
            let started = Instant::now();
            kept.push(pool.install(|| estimator.flow_with(a, b, params, None)));
            t.fresh.push(started.elapsed().as_secs_f64() * 1e3);
            t.mine.push(ms);
            t.theirs.push(cv_ms);
            t.ratio.push(cv_ms / ms);
        }
        drop(kept);
        (t, flow, cv_epe)
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let middlebury = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/middlebury");
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

    let mut peer = Peer::start(&pairs, dir.path());

    println!(
        "{:<32} {:<9} {:>3} {:>10} {:>10} {:>10} {:>7} {:>8} {:>8}",
        "pair", "preset", "thr", "ours ms", "fresh ms", "opencv ms", "ratio", "our EPE", "cv EPE"
    );
    let mut ratios = Vec::new();
    for pair in &pairs {
        let (a, b) = (load(&pair.a), load(&pair.b));
        let truth = pair
            .gt
            .as_ref()
            .map(|gt| FlowField::read_flo(std::fs::File::open(gt).unwrap()).unwrap());
        for (preset, pname) in [
            (Preset::Ultrafast, "ultrafast"),
            (Preset::Fast, "fast"),
            (Preset::Medium, "medium"),
        ] {
            let params = DisParams::preset(preset);
            for threads in [1usize, 2] {
                let row = Row {
                    pair,
                    images: (&a, &b),
                    preset: pname,
                    params: &params,
                    threads,
                };
                let (
                    Timings {
                        mine,
                        fresh,
                        theirs,
                        ratio,
                    },
                    flow,
                    cv_epe,
                ) = row.run(&mut peer);
                let epe = truth.as_ref().map(|t| average_endpoint_error(&flow, t));
                let fmt = |e: Option<f64>| e.map_or("-".to_string(), |e| format!("{e:.3}"));
                let r = median(ratio);
                ratios.push(r);
                println!(
                    "{:<32} {:<9} {:>3} {:>10.1} {:>10.1} {:>10.1} {:>7.2} {:>8} {:>8}",
                    pair.name,
                    pname,
                    threads,
                    median(mine),
                    median(fresh),
                    median(theirs),
                    r,
                    fmt(epe),
                    fmt(cv_epe)
                );
            }
        }
    }
    drop(peer.child.stdin.take());
    let _ = peer.child.wait();
    println!(
        "ratio = OpenCV ms / maflow ms (above 1: maflow is faster), median over {REPEATS} alternating runs of each"
    );
    println!("median ratio over all rows: {:.2}", median(ratios));
}
