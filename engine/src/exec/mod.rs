//! Running a compiled plan on timely, on one process or a cluster.
//!
//! Process 0 prepares (lists clips, keys outputs, looks them up), then feeds
//! the stage jobs of uncached items into a timely dataflow from worker 0, in
//! epochs with a bounded number in flight. Jobs are exchanged to workers by
//! clip id; each worker runs its jobs in a [`pooled_map`], so frames never
//! leave the worker that decodes them. Results, small records, go back to
//! worker 0 and through a channel to the [`Coordinator`] on process 0's main
//! thread, which alone touches the store and the output folder.

mod coordinator;
mod prepare;
mod stage;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::InputHandle;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Input, Probe};

pub use coordinator::{CoordinatorError, NodeStats};
pub use prepare::{ClipEntry, Prepared, prepare};
pub use stage::{Outcome, StageJob, StageResult, run_stage};

use crate::data::ItemError;
use crate::graph::Plan;
use crate::pool::pooled_map;
use crate::progress::ProgressMode;
use crate::registry::Runtime;
use crate::store::{Store, StoreError, write_atomic};
use coordinator::Coordinator;

/// Where this process sits in a run.
#[derive(Clone, Debug)]
pub enum Topology {
    /// One process with this many worker threads.
    Local {
        /// Worker threads.
        workers: usize,
    },
    /// One process of a timely cluster over TCP.
    Cluster {
        /// Worker threads per process.
        workers: usize,
        /// This process's index.
        process: usize,
        /// `host:port` of every process, in index order.
        hosts: Vec<String>,
    },
}

impl Topology {
    fn is_coordinator(&self) -> bool {
        matches!(self, Topology::Local { .. } | Topology::Cluster { process: 0, .. })
    }

    fn timely_config(&self) -> timely::Config {
        let communication = match self {
            Topology::Local { workers } => timely::CommunicationConfig::Process(*workers),
            Topology::Cluster { workers, process, hosts } => timely::CommunicationConfig::Cluster {
                threads: *workers,
                process: *process,
                addresses: hosts.clone(),
                report: false,
                zerocopy: false,
            },
        };
        timely::Config { communication, worker: timely::WorkerConfig::default() }
    }

    fn describe(&self) -> (usize, usize) {
        match self {
            Topology::Local { workers } => (*workers, 1),
            Topology::Cluster { workers, hosts, .. } => (*workers, hosts.len()),
        }
    }
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Threads and processes.
    pub topology: Topology,
    /// Progress display.
    pub progress: ProgressMode,
}

/// What a run did (process 0), or nothing for the other processes of a cluster.
#[derive(Debug)]
pub struct RunSummary {
    /// Item errors, in order.
    pub errors: Vec<ItemError>,
    /// Per-node counts, in plan order.
    pub stats: Vec<(String, NodeStats)>,
    /// The output folder.
    pub out_dir: PathBuf,
}

/// A run that could not finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The coordinator failed.
    #[error(transparent)]
    Coordinator(#[from] CoordinatorError),
    /// timely could not start or a worker died.
    #[error("dataflow: {0}")]
    Dataflow(String),
}

/// Epochs of jobs in flight at once: bounds memory whatever the number of clips.
const EPOCHS_IN_FLIGHT: u64 = 4;

/// Runs a plan. On a cluster, every process calls this with the same plan.
pub fn run(plan: Arc<Plan>, options: &RunOptions) -> Result<Option<RunSummary>, RunError> {
    let started = Instant::now();
    let started_unix = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let coordinator_side = options.topology.is_coordinator();
    let (store, prepared, jobs) = if coordinator_side {
        let store = Store::open(&plan.spec.defaults.store)?;
        let prepared = prepare(&plan, Some(&store))?;
        let jobs = stage_jobs(&plan, &prepared, &store)?;
        (Some(store), Some(prepared), jobs)
    } else {
        (None, None, Vec::new())
    };
    let job_count = jobs.len();
    let mut jobs_per_clip = vec![0u32; prepared.as_ref().map_or(0, |p| p.clips.len())];
    for job in &jobs {
        jobs_per_clip[job.seq as usize] += 1;
    }

    let (tx, rx) = crossbeam_channel::bounded::<StageResult>(256);
    let feed = Arc::new(Mutex::new(Some(jobs)));
    let sender = Arc::new(Mutex::new(coordinator_side.then_some(tx)));
    let worker_plan = plan.clone();
    let guards = timely::execute(options.topology.timely_config(), move |worker| {
        let plan = worker_plan.clone();
        let index = worker.index();
        let peers = worker.peers() as u64;
        let results_out = if index == 0 { sender.lock().expect("not poisoned").take() } else { None };
        let mut input = InputHandle::<u64, CapacityContainerBuilder<Vec<StageJob>>>::new();
        let probe = worker.dataflow::<u64, _, _>(|scope| {
            let jobs = scope.input_from(&mut input).container::<Vec<StageJob>>();
            let stage_plan = plan.clone();
            let results = pooled_map(jobs, "frame-stage", 1, |job: &StageJob| route(&job.clip.id), move |job| {
                run_stage(&stage_plan, job)
            });
            let (probe, results) = results.probe();
            results.sink(Exchange::new(|_: &StageResult| 0), "coordinator", move |(input, _)| {
                input.for_each(|_, data| {
                    for result in data.drain(..) {
                        if let Some(tx) = &results_out {
                            let _ = tx.send(result);
                        }
                    }
                });
            });
            probe
        });
        if index == 0 {
            let jobs = feed.lock().expect("not poisoned").take().unwrap_or_default();
            // Enough jobs per epoch to keep every worker busy.
            let batch = (peers as usize * 2).max(1);
            for (n, job) in jobs.into_iter().enumerate() {
                let epoch = (n / batch) as u64;
                if epoch > *input.time() {
                    input.advance_to(epoch);
                    while probe.less_than(&epoch.saturating_sub(EPOCHS_IN_FLIGHT)) {
                        worker.step_or_park(Some(Duration::from_millis(20)));
                    }
                }
                input.send(job);
            }
        }
        input.close();
        while !probe.done() {
            worker.step_or_park(Some(Duration::from_millis(20)));
        }
    })
    .map_err(RunError::Dataflow)?;

    let summary = match (store, prepared) {
        (Some(store), Some(prepared)) => {
            let out_dir = plan.spec.defaults.out.join(&plan.spec.name);
            let clips = prepared.clips.len();
            let mut coordinator = Coordinator::new(&plan, &store, &out_dir, prepared, jobs_per_clip, options.progress)?;
            coordinator.start()?;
            let mut received = 0;
            while received < job_count {
                let Ok(result) = rx.recv() else { break };
                coordinator.accept(result)?;
                received += 1;
            }
            let (stats, errors) = coordinator.finish()?;
            if received < job_count {
                return Err(RunError::Dataflow(format!(
                    "the dataflow stopped after {received} of {job_count} jobs (a worker or process died); rerun to resume from the store"
                )));
            }
            let stats: Vec<(String, NodeStats)> = plan.nodes.iter().map(|n| n.id.clone()).zip(stats).collect();
            write_run_json(&plan, clips, options, &out_dir, &stats, &errors, started, started_unix)?;
            Some(RunSummary { errors, stats, out_dir })
        }
        _ => None,
    };
    for result in guards.join() {
        result.map_err(|e| RunError::Dataflow(format!("a worker failed: {e}")))?;
    }
    Ok(summary)
}

/// The worker a clip goes to: a stable hash of its id, equal on every process.
fn route(id: &str) -> u64 {
    let hash = blake3::hash(id.as_bytes());
    u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// One job per (clip, stage) with at least one stage output missing from the
/// store. A cached consumer that feeds a missing one replays its stored record
/// when it can, and is computed again otherwise.
fn stage_jobs(plan: &Plan, prepared: &Prepared, store: &Store) -> Result<Vec<StageJob>, StoreError> {
    let mut jobs = Vec::new();
    for clip in &prepared.clips {
        for (s, stage) in plan.stages.iter().enumerate() {
            if stage.source != clip.source {
                continue;
            }
            let needed: Vec<usize> = std::iter::once(stage.producer)
                .chain(stage.consumers.iter().copied())
                .filter(|&n| !clip.cached[n])
                .collect();
            if needed.is_empty() {
                continue;
            }
            // Walk consumers downstream-first: whatever a computing consumer reads must be
            // replayed or computed too; a replay reads nothing.
            let mut computing: Vec<usize> = needed.clone();
            let (mut feeders, mut replay) = (Vec::new(), Vec::new());
            for &node in stage.consumers.iter().rev() {
                let feeds = computing.iter().any(|&r| plan.nodes[r].inputs.contains(&node));
                if !clip.cached[node] || !feeds {
                    continue;
                }
                let replays = matches!(&plan.nodes[node].runtime, Runtime::FrameConsumer(c) if c.can_replay());
                let stored = if replays { store.get(&clip.keys[node].expect("stage nodes have keys"))? } else { None };
                match stored {
                    Some(stored) => {
                        let output = crate::data::Output::record(stored.record);
                        replay.push((node, stage::WireOutput::from_output(output)));
                    }
                    None => {
                        feeders.push(node);
                        computing.push(node);
                    }
                }
            }
            jobs.push(StageJob { seq: clip.seq, stage: s, clip: clip.clip.clone(), needed, feeders, replay });
        }
    }
    Ok(jobs)
}

#[allow(clippy::too_many_arguments)]
fn write_run_json(
    plan: &Plan,
    clips: usize,
    options: &RunOptions,
    out_dir: &std::path::Path,
    stats: &[(String, NodeStats)],
    errors: &[ItemError],
    started: Instant,
    started_unix: u64,
) -> Result<(), StoreError> {
    let (workers, processes) = options.topology.describe();
    let operators: serde_json::Map<String, serde_json::Value> = stats
        .iter()
        .map(|(id, s)| (id.clone(), serde_json::to_value(s).expect("stats serialise")))
        .collect();
    let cache_hits: u64 = stats.iter().map(|(_, s)| s.cached).sum();
    let cache_misses: u64 = stats.iter().map(|(_, s)| s.items - s.cached).sum();
    let run = serde_json::json!({
        "spec": plan.spec.name,
        "description": plan.spec.description,
        "spec_hash": plan.spec.hash,
        "maflow_version": env!("CARGO_PKG_VERSION"),
        "started_unix": started_unix,
        "wall_seconds": started.elapsed().as_secs_f64(),
        "workers": workers,
        "processes": processes,
        "store": plan.spec.defaults.store,
        "clips": clips,
        "cache": {"hits": cache_hits, "misses": cache_misses},
        "errors": errors.len(),
        "operators": operators,
    });
    let text = serde_json::to_string_pretty(&run).expect("run.json serialises") + "\n";
    write_atomic(&out_dir.join("run.json"), text.as_bytes())
}

/// Per-node counts of what a run would do now.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PlanCounts {
    /// Node id.
    pub id: String,
    /// Clips it applies to.
    pub items: u64,
    /// Already in the store.
    pub cached: u64,
    /// Must run.
    pub to_run: u64,
}

/// What `maflow plan` reports: counts per computing node (record sinks compute nothing) and the listing errors.
pub fn plan_counts(plan: &Plan) -> Result<(Vec<PlanCounts>, Vec<ItemError>), StoreError> {
    let store = Store::open_read_only(&plan.spec.defaults.store)?;
    let prepared = prepare(plan, store.as_ref())?;
    let counts = plan
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, node)| !matches!(node.runtime, crate::registry::Runtime::RecordSink(_)))
        .map(|(i, node)| {
            let (items, cached) = prepared.clips.iter().fold((0, 0), |(n, c), clip| match clip.keys[i] {
                Some(_) => (n + 1, c + u64::from(clip.cached[i])),
                None => (n, c),
            });
            PlanCounts { id: node.id.clone(), items, cached, to_run: items - cached }
        })
        .collect();
    Ok((counts, prepared.errors))
}
