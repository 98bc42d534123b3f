//! One fused frame stage over one clip, inside one worker.
//!
//! The producer streams frames; each needed consumer sees every frame as it
//! is decoded, so memory holds one frame plus what consumers keep (e.g. a
//! few thumbnails), never the clip. A stream that fails midway fails every
//! consumer too: a partial result is never stored as a finished one.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::data::{Blob, Clip, Output};
use crate::graph::Plan;
use crate::registry::{FrameTask, Runtime};

/// Work for one clip and one stage; `needed` lists the stage nodes to compute.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StageJob {
    /// Clip position in the run.
    pub seq: u64,
    /// Stage index in the plan.
    pub stage: usize,
    /// The clip.
    pub clip: Clip,
    /// Stage nodes whose outputs are missing from the store.
    pub needed: Vec<usize>,
}

/// An output in a form that crosses processes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireOutput {
    /// The record as JSON text.
    pub record: String,
    /// Blobs.
    pub blobs: Vec<Blob>,
}

impl WireOutput {
    fn from_output(o: Output) -> Self {
        Self { record: o.record.to_string(), blobs: o.blobs }
    }

    /// Back to an [`Output`].
    pub fn into_output(self) -> Output {
        Output { record: serde_json::from_str(&self.record).expect("records are JSON we wrote"), blobs: self.blobs }
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
    /// Per needed node: (node, outcome, seconds spent in it).
    pub outcomes: Vec<(usize, Outcome, f64)>,
    /// Frames streamed.
    pub frames: u64,
}

/// One consumer's state while the frames of a clip stream by.
struct ConsumerRun {
    node: usize,
    /// `None` once it failed (or never started).
    task: Option<Box<dyn FrameTask>>,
    seconds: f64,
    error: Option<String>,
}

/// Runs a stage job.
pub fn run_stage(plan: &Plan, job: StageJob) -> StageResult {
    let stage = &plan.stages[job.stage];
    let mut result = StageResult { seq: job.seq, stage: job.stage, outcomes: Vec::new(), frames: 0 };
    let Runtime::FrameProducer(producer) = &plan.nodes[stage.producer].runtime else {
        unreachable!("a stage starts at a frame producer")
    };
    let consumers: Vec<usize> = stage.consumers.iter().copied().filter(|c| job.needed.contains(c)).collect();
    let producer_needed = job.needed.contains(&stage.producer);
    let fail_all = |result: &mut StageResult, cause: String, producer_seconds: f64| {
        result.outcomes.push((stage.producer, Outcome::Failed(cause), producer_seconds));
        for &c in &consumers {
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
    let mut tasks: Vec<ConsumerRun> = consumers
        .iter()
        .map(|&node| {
            let Runtime::FrameConsumer(consumer) = &plan.nodes[node].runtime else {
                unreachable!("stage members after the producer are consumers")
            };
            let t = Instant::now();
            let (task, error) = match consumer.start(&job.clip, &info) {
                Ok(task) => (Some(task), None),
                Err(cause) => (None, Some(cause)),
            };
            ConsumerRun { node, task, seconds: t.elapsed().as_secs_f64(), error }
        })
        .collect();

    loop {
        let t = Instant::now();
        let frame = stream.next_frame();
        producer_seconds += t.elapsed().as_secs_f64();
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(cause) => {
                fail_all(&mut result, cause, producer_seconds);
                return result;
            }
        };
        result.frames += 1;
        for run in &mut tasks {
            let Some(task) = run.task.as_mut() else { continue };
            let t = Instant::now();
            if let Err(cause) = task.push(&frame) {
                run.error = Some(cause);
                run.task = None;
            }
            run.seconds += t.elapsed().as_secs_f64();
        }
    }

    let t = Instant::now();
    let produced = stream.finish();
    producer_seconds += t.elapsed().as_secs_f64();
    match produced {
        Ok(out) if producer_needed => {
            result.outcomes.push((stage.producer, Outcome::Done(WireOutput::from_output(out)), producer_seconds))
        }
        Ok(_) => {}
        Err(cause) => {
            fail_all(&mut result, cause, producer_seconds);
            return result;
        }
    }
    for ConsumerRun { node, task, mut seconds, error } in tasks {
        let outcome = match (task, error) {
            (_, Some(cause)) => Outcome::Failed(cause),
            (Some(task), None) => {
                let t = Instant::now();
                let out = task.finish();
                seconds += t.elapsed().as_secs_f64();
                match out {
                    Ok(out) => Outcome::Done(WireOutput::from_output(out)),
                    Err(cause) => Outcome::Failed(cause),
                }
            }
            (None, None) => unreachable!("a task is dropped only with its error"),
        };
        result.outcomes.push((node, outcome, seconds));
    }
    result
}
