//! What the end-to-end benches share: timed, pinned runs and a dataset of
//! copies of the sample clips.

// Each bench compiles its own copy and uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub const SAMPLES: [&str; 3] = ["0030_01_0002", "0010_02_0101", "0019_02_0078"];

pub struct Measured {
    pub seconds: f64,
    pub peak_mb: f64,
    /// What the command printed.
    pub stdout: String,
}

/// Runs a command under `/usr/bin/time -f %M` (peak resident set in KB),
/// pinned to `cores` with `taskset` when given, and times it.
pub fn measure(program: &str, args: &[String], cores: Option<&str>) -> Measured {
    let report = tempfile::NamedTempFile::new().expect("temp file");
    let mut command = Command::new("/usr/bin/time");
    command.args(["-f", "%M", "-o"]).arg(report.path());
    if let Some(cores) = cores {
        command.args(["taskset", "-c", cores]);
    }
    let started = std::time::Instant::now();
    let out = command
        .arg(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::null())
        .output()
        .expect("/usr/bin/time runs (apt install time)");
    let seconds = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{program} {args:?} failed");
    let kb: f64 = std::fs::read_to_string(report.path())
        .unwrap()
        .trim()
        .lines()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    Measured {
        seconds,
        peak_mb: kb / 1024.0,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A dataset of `copies` × the sample clips (videos, list file, skeletons).
pub fn dataset(root: &Path, copies: usize) -> (PathBuf, usize) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (videos, skeletons) = (root.join("videos"), root.join("skeletons"));
    std::fs::create_dir_all(&videos).unwrap();
    std::fs::create_dir_all(&skeletons).unwrap();
    let mut list = String::new();
    for c in 0..copies {
        for (s, sample) in SAMPLES.iter().enumerate() {
            let id = format!("9{:03}_01_{:04}", c, s + 1);
            std::fs::copy(
                repo.join(format!("tests/data/ma52/videos/{sample}.mp4")),
                videos.join(format!("{id}.mp4")),
            )
            .unwrap();
            std::fs::copy(
                repo.join(format!("tests/data/skeletons/{sample}.json")),
                skeletons.join(format!("{id}.json")),
            )
            .unwrap();
            list.push_str(&format!("{id}.mp4 9\n"));
        }
    }
    std::fs::write(root.join("train_list_videos.txt"), list).unwrap();
    (root.to_path_buf(), copies * SAMPLES.len())
}
