//! One fused frame stage over one clip, inside one worker.
//!
//! The producer streams frames; each needed consumer sees every frame as it
//! is decoded, so memory holds one frame plus what consumers keep (e.g. a
//! few thumbnails), never the clip. A stream that fails midway fails every
//! consumer too: a partial result is never stored as a finished one.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::data::{Blob, Clip, Frame, Output, Pictures, VideoInfo};
use crate::graph::Plan;
use crate::registry::{FrameInputs, FrameProduct, FrameTask, Runtime};

/// Work for one clip and one stage.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StageJob {
    /// Clip position in the run.
    pub seq: u64,
    /// Stage index in the plan.
    pub stage: usize,
    /// The clip.
    #[serde(with = "super::clip_wire")]
    pub clip: Clip,
    /// Stage nodes whose outputs are missing from the store: computed and returned.
    pub needed: Vec<usize>,
    /// Cached consumers computed again only to feed `needed` ones (they cannot replay).
    pub feeders: Vec<usize>,
    /// Cached consumers that feed `needed` ones by replaying their stored records.
    pub replay: Vec<(usize, WireOutput)>,
}

/// An output in a form that crosses processes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireOutput {
    /// The record as JSON text.
    pub record: String,
    /// Blobs.
    pub blobs: Vec<Blob>,
    /// Pictures: their note as JSON text, and the pictures.
    pub pictures: Option<(String, Vec<Blob>)>,
}

impl WireOutput {
    /// An output as it crosses processes.
    pub fn from_output(o: Output) -> Self {
        Self {
            record: o.record.to_string(),
            blobs: o.blobs,
            pictures: o.pictures.map(|p| (p.note.to_string(), p.blobs)),
        }
    }

    /// Back to an [`Output`].
    pub fn into_output(self) -> Output {
        let json = |text: &str| serde_json::from_str(text).expect("records are JSON we wrote");
        Output {
            record: json(&self.record),
            blobs: self.blobs,
            pictures: self.pictures.map(|(note, blobs)| Pictures {
                note: json(&note),
                blobs,
            }),
        }
    }
}

/// What happened to one node of the stage.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Outcome {
    /// Computed.
    Done(WireOutput),
    /// Failed with this cause.
    Failed(String),
    /// Not run because an upstream node failed.
    Skipped,
}

/// The results of one [`StageJob`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StageResult {
    /// Clip position in the run.
    pub seq: u64,
    /// Stage index.
    pub stage: usize,
    /// Per needed node (and failed feeder): (node, outcome, seconds spent in it).
    pub outcomes: Vec<(usize, Outcome, f64)>,
    /// Frames streamed.
    pub frames: u64,
}

/// How a consumer ended, when it did not finish.
enum Stop {
    Failed(String),
    Skipped,
}

/// One consumer's state while the frames of a clip stream by.
struct ConsumerRun {
    node: usize,
    /// Its inputs, as positions in the stage's run list (`None`: the producer).
    inputs: Vec<Option<usize>>,
    /// `None` once it stopped.
    task: Option<Box<dyn FrameTask>>,
    seconds: f64,
    stop: Option<Stop>,
}

/// Runs a stage job.
pub fn run_stage(plan: &Plan, job: StageJob) -> StageResult {
    let stage = &plan.stages[job.stage];
    let mut result = StageResult {
        seq: job.seq,
        stage: job.stage,
        outcomes: Vec::new(),
        frames: 0,
    };
    let Runtime::FrameProducer(producer) = &plan.nodes[stage.producer].runtime else {
        unreachable!("a stage starts at a frame producer")
    };
    let replayed: Vec<usize> = job.replay.iter().map(|(n, _)| *n).collect();
    let running: Vec<usize> = stage
        .consumers
        .iter()
        .copied()
        .filter(|c| job.needed.contains(c) || job.feeders.contains(c) || replayed.contains(c))
        .collect();
    let fail_all = |result: &mut StageResult, cause: String, producer_seconds: f64| {
        result
            .outcomes
            .push((stage.producer, Outcome::Failed(cause), producer_seconds));
        for &c in running.iter().filter(|&&c| job.needed.contains(&c)) {
            result.outcomes.push((c, Outcome::Skipped, 0.0));
        }
    };

    let t = Instant::now();
    let mut stream = match producer.open(&job.clip) {
        Ok(s) => s,
        Err(cause) => {
            fail_all(&mut result, cause, t.elapsed().as_secs_f64());
            return result;
        }
    };
    let mut producer_seconds = t.elapsed().as_secs_f64();
    let info = stream.info().clone();
    let mut runs = start_consumers(plan, stage.producer, &running, &job.clip, &info, job.replay);
    let mut frame_products = FrameProducts::default();
    loop {
        let t = Instant::now();
        let frame = stream.next_frame();
        producer_seconds += t.elapsed().as_secs_f64();
        match frame {
            Ok(Some(frame)) => {
                result.frames += 1;
                frame_products.push(&mut runs, &frame);
            }
            Ok(None) => break,
            Err(cause) => {
                fail_all(&mut result, cause, producer_seconds);
                return result;
            }
        }
    }

    let t = Instant::now();
    let produced = stream.finish();
    producer_seconds += t.elapsed().as_secs_f64();
    match produced {
        Ok(out) if job.needed.contains(&stage.producer) => result.outcomes.push((
            stage.producer,
            Outcome::Done(WireOutput::from_output(out)),
            producer_seconds,
        )),
        Ok(_) => {}
        Err(cause) => {
            fail_all(&mut result, cause, producer_seconds);
            return result;
        }
    }
    finish_consumers(runs, &job.needed, &replayed, &mut result);
    result
}

/// Starts (or, from its stored record, replays) each running consumer of the stage.
fn start_consumers(
    plan: &Plan,
    producer: usize,
    running: &[usize],
    clip: &Clip,
    info: &VideoInfo,
    mut replay: Vec<(usize, WireOutput)>,
) -> Vec<ConsumerRun> {
    let mut runs: Vec<ConsumerRun> = Vec::with_capacity(running.len());
    for &node in running {
        let Runtime::FrameConsumer(consumer) = &plan.nodes[node].runtime else {
            unreachable!("stage members after the producer are consumers")
        };
        let inputs = plan.nodes[node]
            .inputs
            .iter()
            .map(|&j| {
                if j == producer {
                    None
                } else {
                    running.iter().position(|&r| r == j)
                }
            })
            .collect();
        let t = Instant::now();
        let started = match replay.iter().position(|(n, _)| *n == node) {
            Some(at) => {
                let cached = replay.swap_remove(at).1.into_output();
                consumer.replay(clip, info, &cached)
            }
            None => consumer.start(clip, info),
        };
        let (task, stop) = match started {
            Ok(task) => (Some(task), None),
            Err(cause) => (None, Some(Stop::Failed(cause))),
        };
        runs.push(ConsumerRun {
            node,
            inputs,
            task,
            seconds: t.elapsed().as_secs_f64(),
            stop,
        });
    }
    runs
}

/// The per-frame products of one frame, by run position, and the buffer a consumer's inputs are gathered in.
#[derive(Default)]
struct FrameProducts {
    products: Vec<Option<FrameProduct>>,
    port_products: Vec<Option<FrameProduct>>,
}

impl FrameProducts {
    /// Hands one frame to every consumer still running, in order, each with its inputs' products.
    fn push(&mut self, runs: &mut [ConsumerRun], frame: &Frame) {
        self.products.clear();
        self.products.resize(runs.len(), None);
        for k in 0..runs.len() {
            if runs[k].task.is_none() {
                continue;
            }
            if runs[k]
                .inputs
                .iter()
                .flatten()
                .any(|&i| runs[i].task.is_none())
            {
                runs[k].task = None;
                runs[k].stop = Some(Stop::Skipped);
                continue;
            }
            self.port_products.clear();
            self.port_products.extend(
                runs[k]
                    .inputs
                    .iter()
                    .map(|i| i.and_then(|i| self.products[i].clone())),
            );
            let run = &mut runs[k];
            let task = run.task.as_mut().expect("checked above");
            let t = Instant::now();
            match task.push(frame, &FrameInputs::new(&self.port_products)) {
                Ok(product) => self.products[k] = product,
                Err(cause) => {
                    run.stop = Some(Stop::Failed(cause));
                    run.task = None;
                }
            }
            run.seconds += t.elapsed().as_secs_f64();
        }
    }
}

/// Each consumer's outcome after the last frame: needed ones always, cached feeders and replays only when they failed.
fn finish_consumers(
    runs: Vec<ConsumerRun>,
    needed: &[usize],
    replayed: &[usize],
    result: &mut StageResult,
) {
    for ConsumerRun {
        node,
        task,
        mut seconds,
        stop,
        ..
    } in runs
    {
        let outcome = match (task, stop) {
            (_, Some(Stop::Failed(cause))) => Outcome::Failed(cause),
            (_, Some(Stop::Skipped)) => Outcome::Skipped,
            // A replay has nothing to finish: its output is the stored one.
            (Some(_), None) if replayed.contains(&node) => continue,
            (Some(task), None) => {
                let t = Instant::now();
                let out = task.finish();
                seconds += t.elapsed().as_secs_f64();
                match out {
                    Ok(out) => Outcome::Done(WireOutput::from_output(out)),
                    Err(cause) => Outcome::Failed(cause),
                }
            }
            (None, None) => unreachable!("a task is dropped only with its stop"),
        };
        // A cached feeder or replay is reported only when it fails (its cause explains the skips).
        if needed.contains(&node) || matches!(outcome, Outcome::Failed(_)) {
            result.outcomes.push((node, outcome, seconds));
        }
    }
}
