//! The record-level chain of one clip (captions, descriptions, QA, answers,
//! judgements), run on a worker's I/O pool once the clip's frame stages are done.
//!
//! A job carries the stored records its needed nodes read; nodes run in plan
//! order, each fed by stored records or by outputs computed earlier in the
//! same job. A node whose input failed is skipped, never run on partial data.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::stage::{Outcome, WireOutput};
use crate::data::{Clip, Output};
use crate::graph::Plan;
use crate::registry::{CallCounts, RecordContext, RecordOperator, Runtime};

/// Record-level work for one clip.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordJob {
    /// Clip position in the run.
    pub seq: u64,
    /// The clip.
    #[serde(with = "super::clip_wire")]
    pub clip: Clip,
    /// Record nodes whose outputs are missing from the store, in plan order.
    pub needed: Vec<usize>,
    /// Stored records (JSON text) of the nodes the needed ones read and do not compute.
    pub inputs: Vec<(usize, String)>,
}

/// What came of a [`RecordJob`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordResult {
    /// Clip position in the run.
    pub seq: u64,
    /// Per needed node: (node, outcome, seconds, remote calls).
    pub outcomes: Vec<(usize, Outcome, f64, CallCounts)>,
}

/// Runs a record job; `cache_dir` is the store's request-cache folder.
pub fn run_records(plan: &Plan, job: RecordJob, cache_dir: &Path) -> RecordResult {
    let mut records: Vec<Option<serde_json::Value>> = vec![None; plan.nodes.len()];
    for (node, text) in job.inputs {
        records[node] = serde_json::from_str(&text).ok();
    }
    let mut outcomes = Vec::with_capacity(job.needed.len());
    for &node in &job.needed {
        let Runtime::Record(op) = &plan.nodes[node].runtime else {
            unreachable!("record jobs list record nodes only")
        };
        let inputs: Option<Vec<&serde_json::Value>> = plan.nodes[node]
            .inputs
            .iter()
            .map(|&j| records[j].as_ref())
            .collect();
        let Some(inputs) = inputs else {
            outcomes.push((node, Outcome::Skipped, 0.0, CallCounts::default()));
            continue;
        };
        let (result, seconds, calls) = run_record_node(op.as_ref(), &job.clip, &inputs, cache_dir);
        let outcome = match result {
            Ok(output) => {
                let wire = WireOutput::from_output(output);
                records[node] = serde_json::from_str(&wire.record).ok();
                Outcome::Done(wire)
            }
            Err(cause) => Outcome::Failed(cause),
        };
        outcomes.push((node, outcome, seconds, calls));
    }
    RecordResult {
        seq: job.seq,
        outcomes,
    }
}

/// Runs one record operator on one clip: its result, the seconds it took and
/// the remote calls it made. A panic becomes the item's error.
pub(super) fn run_record_node(
    op: &dyn RecordOperator,
    clip: &Clip,
    inputs: &[&serde_json::Value],
    cache_dir: &Path,
) -> (Result<Output, String>, f64, CallCounts) {
    let mut ctx = RecordContext {
        cache_dir,
        calls: CallCounts::default(),
    };
    let t = Instant::now();
    // A panicking operator is a bug, but it must not take the run down with it.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        op.run(clip, inputs, &mut ctx)
    }))
    .unwrap_or_else(|panic| Err(format!("internal error: {}", panic_message(&panic))));
    (result, t.elapsed().as_secs_f64(), ctx.calls)
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "operator panicked".into())
}
