//! Rendered clips of micro-actions with known truth (`maflow synth`).
//!
//! A seated, textured, articulated figure ([`figure`]) performs each
//! requested action ([`actions`]) with amplitude, speed and onset drawn
//! (seeded) around typical values, at MA-52 geometry (portrait 1080×1296 ×
//! `scale`, 30 fps, 1.5–2.5 s). Written under the output folder, in MA-52's
//! own layout so the `ma52` source reads it:
//! - `videos/<id>.mp4` (H.264, yuv420p) and `train_list_videos.txt`
//!   (`<id>.mp4 <action id>`; empty `val`/`test` lists beside it);
//! - `skeletons/<id>.csv`: the true skeleton, BlazePose-33 layout, for the
//!   `skeleton` operator (`format: csv`, `layout: blazepose33`);
//! - `truth/<id>.json`: the performance, and per part and frame the true
//!   motion of its visible pixels ([vx, vy] px/frame, y up; `null` where the
//!   part is hidden), and the parts that move most;
//! - `descriptors/<id>.json` and `<id>.meta.json`: the truth as a motion
//!   descriptor, in the `descriptor` operator's own files (vectors from the
//!   true motion, coords the centroids of each part's visible pixels), for
//!   `descriptor-files` to feed the language stages a perfect descriptor.

pub mod actions;
mod encode;
pub mod figure;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::json;

use maflow_engine::data::VideoInfo;

use actions::{Action, Performance};
use maflow_operators::common::body::{PART_COUNT, PARTS};
use maflow_operators::common::rounding::round_to;
use maflow_operators::frame::align::PartsFrame;
use maflow_operators::frame::descriptor::{DescriptorConfig, assemble};

/// What to render.
#[derive(Clone, Debug)]
pub struct SynthOptions {
    /// Output folder.
    pub out: PathBuf,
    /// Actions to render.
    pub actions: Vec<Action>,
    /// Clips per action.
    pub per_action: usize,
    /// Seed of the drawn amplitudes, speeds, onsets and durations.
    pub seed: u64,
    /// Frame size as a fraction of 1080×1296.
    pub scale: f32,
    /// x264 constant quality (0 lossless; 12 is visually lossless).
    pub crf: u32,
    /// Whether to texture and encode the videos (without: skeletons, truth and descriptors only).
    pub video: bool,
    /// Fixes the amplitude of every clip instead of drawing it (1 = typical).
    pub amplitude: Option<f32>,
    /// Fixes the speed (cycles/s, or 1 / duration for one-way actions).
    pub speed: Option<f32>,
    /// Fixes the onset in seconds.
    pub onset: Option<f32>,
    /// Fixes the clip length in seconds.
    pub seconds: Option<f32>,
}

/// One rendered clip.
#[derive(Clone, Debug)]
pub struct SynthClip {
    /// Clip id (MA-52 style: participant 9000).
    pub id: String,
    /// What it performs.
    pub performance: Performance,
    /// Frames.
    pub frames: usize,
    /// The parts with the most true motion (both sides for mirror-image actions).
    pub dominant: Vec<&'static str>,
}

/// Frames per second of rendered clips.
pub const FPS: u32 = 30;

/// splitmix64: a small, seedable generator (same clips on every machine).
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
    }
    fn between(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.next()
    }
}

/// Renders every clip and writes the files; returns the clips in list order.
pub fn generate(options: &SynthOptions) -> Result<Vec<SynthClip>, String> {
    let out = &options.out;
    for dir in ["videos", "skeletons", "truth", "descriptors"] {
        std::fs::create_dir_all(out.join(dir))
            .map_err(|e| format!("cannot create {}: {e}", out.join(dir).display()))?;
    }
    let width = ((1080.0 * options.scale / 2.0).round() as usize * 2).max(64);
    let height = ((1296.0 * options.scale / 2.0).round() as usize * 2).max(64);
    let mut draw = Draw(options.seed);
    let mut jobs = Vec::new();
    for (a, &action) in options.actions.iter().enumerate() {
        for k in 0..options.per_action {
            let repeated = matches!(
                action,
                Action::Nodding
                    | Action::ShakingHead
                    | Action::TiltingHead
                    | Action::Shrugging
                    | Action::ShakingLegs
                    | Action::Waving
            );
            // Draws happen whether or not a value is fixed, so fixing one leaves the others as they were.
            let drawn = Performance {
                action,
                amplitude: draw.between(0.7, 1.3),
                speed: if repeated {
                    draw.between(1.2, 2.0)
                } else {
                    1.0 / draw.between(0.6, 1.0)
                },
                onset: draw.between(0.2, 0.5),
            };
            let performance = Performance {
                action,
                amplitude: options.amplitude.unwrap_or(drawn.amplitude),
                speed: options.speed.unwrap_or(drawn.speed),
                onset: options.onset.unwrap_or(drawn.onset),
            };
            let seconds = options.seconds.unwrap_or(draw.between(1.5, 2.5));
            let id = format!("9000_{:02}_{:04}", a + 1, k + 1);
            jobs.push((id, performance, (seconds * FPS as f32).round() as usize));
        }
    }
    let clips: Vec<SynthClip> = jobs
        .par_iter()
        .map(|(id, performance, frames)| {
            render_clip(
                out,
                id,
                performance,
                *frames,
                (width, height),
                options.video.then_some(options.crf),
            )
        })
        .collect::<Result<_, String>>()?;
    let list: String = clips
        .iter()
        .map(|c| format!("{}.mp4 {}\n", c.id, c.performance.action.ma52_id()))
        .collect();
    let write = |name: &str, text: &str| {
        std::fs::write(out.join(name), text).map_err(|e| format!("cannot write {name}: {e}"))
    };
    write("train_list_videos.txt", &list)?;
    write("val_list_videos.txt", "")?;
    write("test_list_videos.txt", "")?;
    let labels: String = maflow_operators::common::taxonomy::ACTIONS
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{i}\t{}\n", a.name))
        .collect();
    write("label_name.txt", &labels)?;
    Ok(clips)
}

/// Renders one clip; `crf` is the video's quality, `None` for no video.
fn render_clip(
    out: &Path,
    id: &str,
    performance: &Performance,
    frames: usize,
    (width, height): (usize, usize),
    crf: Option<u32>,
) -> Result<SynthClip, String> {
    let mut video = match crf {
        Some(crf) => Some(encode::Mp4Writer::create(
            &out.join(format!("videos/{id}.mp4")),
            width as u32,
            height as u32,
            FPS,
            crf,
        )?),
        None => None,
    };
    let mut csv = String::from("frame,joint,x,y,score\n");
    let mut truth: Vec<Vec<Option<[f32; 2]>>> = (0..PART_COUNT)
        .map(|_| Vec::with_capacity(frames))
        .collect();
    let mut energy = [0f64; PART_COUNT];
    let mut measured: Vec<PartsFrame> = Vec::with_capacity(frames);
    let mut previous: Option<(figure::Pose, Vec<u8>)> = None;
    for t in 0..frames {
        let pose = performance.pose(t as f32 / FPS as f32);
        let frame = figure::render(&pose, width, height, video.is_some());
        if let Some(video) = &mut video {
            video.push(&frame.rgb)?;
        }
        for (j, k) in figure::skeleton(&pose, height).keypoints.iter().enumerate() {
            csv.push_str(&format!("{t},{j},{:.2},{:.2},{}\n", k.x, k.y, k.score));
        }
        let motion = match &previous {
            Some((before, owner)) => figure::true_motion(before, &pose, owner, width, height),
            None => std::array::from_fn(|_| Some([0.0, 0.0])),
        };
        let centroids = centroids(&frame.owner, width, height);
        let mut parts = PartsFrame {
            vector: [[0.0; 2]; PART_COUNT],
            coord: [[0.0; 2]; PART_COUNT],
            sure: [false; PART_COUNT],
            pixels: [0; PART_COUNT],
        };
        for p in 0..PART_COUNT {
            if let Some([vx, vy]) = motion[p] {
                energy[p] += f64::from(vx * vx + vy * vy);
            }
            truth[p].push(motion[p]);
            if let (Some(v), Some((c, pixels))) = (motion[p], centroids[p]) {
                (
                    parts.vector[p],
                    parts.coord[p],
                    parts.sure[p],
                    parts.pixels[p],
                ) = (v, c, true, pixels);
            }
        }
        measured.push(parts);
        previous = Some((pose, frame.owner));
    }
    if let Some(video) = video {
        video.finish()?;
    }
    // The parts that move most: within 5% of the largest true energy (mirror-image
    // actions move both sides alike).
    let top = energy.iter().copied().fold(0.0, f64::max);
    let dominant: Vec<&'static str> = (0..PART_COUNT)
        .filter(|&p| energy[p] >= 0.95 * top)
        .map(|p| PARTS[p])
        .collect();
    let round = |v: f32| round_to(f64::from(v), 4);
    let parts: serde_json::Map<String, serde_json::Value> = PARTS
        .iter()
        .zip(&truth)
        .map(|(name, track)| {
            (
                name.to_string(),
                json!(
                    track
                        .iter()
                        .map(|m| m.map(|v| v.map(round)))
                        .collect::<Vec<_>>()
                ),
            )
        })
        .collect();
    let record = json!({
        "clip": id,
        "performance": performance,
        "fps": FPS,
        "frames": frames,
        "width": width,
        "height": height,
        "dominant": dominant,
        "vector_units": "pixels/frame, x right, y up; median over the part's visible pixels; null: hidden",
        "parts": parts,
    });
    let write = |path: PathBuf, bytes: &[u8]| {
        std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write(out.join(format!("skeletons/{id}.csv")), csv.as_bytes())?;
    write(
        out.join(format!("truth/{id}.json")),
        (serde_json::to_string(&record).expect("JSON") + "\n").as_bytes(),
    )?;
    let info = VideoInfo {
        width: width as u32,
        height: height as u32,
        fps: f64::from(FPS),
        declared_frames: Some(frames as u64),
        codec: "synth".into(),
    };
    let descriptor = assemble(&measured, &info, &DescriptorConfig::default())
        .map_err(|e| format!("{id}: {e}"))?;
    for blob in &descriptor.blobs {
        write(
            out.join(format!("descriptors/{id}.{}", blob.ext)),
            &blob.bytes,
        )?;
    }
    Ok(SynthClip {
        id: id.to_string(),
        performance: *performance,
        frames,
        dominant,
    })
}

/// Per part: the centroid of its visible pixels (normalised, origin top-left)
/// and their count; `None` for slivers under 50 pixels, as in [`figure::true_motion`].
fn centroids(owner: &[u8], width: usize, height: usize) -> [Option<([f32; 2], u32)>; PART_COUNT] {
    let mut sums = [(0f64, 0f64, 0u32); PART_COUNT];
    for (i, &k) in owner.iter().enumerate() {
        if let Some(s) = sums.get_mut(k as usize) {
            *s = (
                s.0 + (i % width) as f64 + 0.5,
                s.1 + (i / width) as f64 + 0.5,
                s.2 + 1,
            );
        }
    }
    sums.map(|(x, y, n)| {
        (n >= 50).then(|| {
            (
                [
                    (x / f64::from(n) / width as f64) as f32,
                    (y / f64::from(n) / height as f64) as f32,
                ],
                n,
            )
        })
    })
}
