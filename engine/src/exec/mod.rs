//! Running a compiled plan on timely, on one process or a cluster.
//!
//! Process 0 prepares (lists clips, keys outputs, looks them up), then feeds
//! the stage jobs of uncached items into a timely dataflow from worker 0, in
//! epochs with a bounded number in flight. Jobs are dealt to workers
//! round-robin by clip position; each worker runs its jobs in a
//! [`pooled_map`], so frames never leave the worker that decodes them, and
//! parallelises inside a clip on its own share of the cores
//! (`threads_per_worker`). Results, small records, go back to
//! worker 0 and through a channel to the [`Coordinator`] on process 0's main
//! thread, which alone touches the store and the output folder.
//!
//! Record-level work (captions, QA, answers) starts when a clip's frame
//! stages are back: the coordinator hands worker 0 one [`RecordJob`] per
//! clip through a channel, and the job runs on the I/O pool of the worker
//! its clip routes to, since it mostly waits on services.

mod clip_wire;
mod coordinator;
mod incremental;
mod prepare;
mod records;
mod stage;
mod watch;
mod written;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Concat, Input, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};
use timely::worker::Worker;

pub use coordinator::{CoordinatorError, NodeStats};
pub use incremental::{Changes, NodeChanges, Revisions, Shape, run_incremental};
pub use prepare::{ClipEntry, PrepareError, Prepared, check_sources, prepare};
pub use records::{RecordJob, RecordResult, run_records};
pub use stage::{Outcome, StageJob, StageResult, run_stage};
pub use watch::{RevisionReport, WatchEvent, WatchListener, WatchOptions, watch};

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
        matches!(
            self,
            Topology::Local { .. } | Topology::Cluster { process: 0, .. }
        )
    }

    fn timely_config(&self) -> timely::Config {
        let communication = match self {
            Topology::Local { workers } => timely::CommunicationConfig::Process(*workers),
            Topology::Cluster {
                workers,
                process,
                hosts,
            } => timely::CommunicationConfig::Cluster {
                threads: *workers,
                process: *process,
                addresses: hosts.clone(),
                report: false,
                zerocopy: false,
            },
        };
        timely::Config {
            communication,
            worker: timely::WorkerConfig::default(),
        }
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
    /// What to compute.
    pub scope: RunScope,
}

/// What a run computes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RunScope {
    /// Every node, then the sinks, `errors.jsonl` and `run.json`.
    #[default]
    Everything,
    /// The frame stages alone (what record-level nodes read); no sink,
    /// `errors.jsonl` or `run.json` is written. `maflow watch` computes the
    /// record level itself.
    FrameStages,
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
    /// A source gives nothing to run on (or the store failed while listing).
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// timely could not start or a worker died.
    #[error("dataflow: {0}")]
    Dataflow(String),
}

/// Epochs of jobs in flight at once: bounds memory whatever the number of clips.
const EPOCHS_IN_FLIGHT: u64 = 4;

/// I/O threads per worker for record-level jobs (they mostly wait on services).
pub(super) const RECORD_THREADS: usize = 8;

/// What comes back from the workers.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(super) enum WorkResult {
    Stage(StageResult),
    Records(RecordResult),
}

/// Runs a plan. On a cluster, every process calls this with the same plan.
pub fn run(plan: Arc<Plan>, options: &RunOptions) -> Result<Option<RunSummary>, RunError> {
    let store = match options.topology.is_coordinator() {
        true => Some(Store::open(&plan.spec.defaults.store)?),
        false => None,
    };
    run_with(plan, options, store.as_ref())
}

/// [`run`] on a store the caller holds open (the coordinator's process
/// passes it, the other processes of a cluster pass `None`).
///
/// Three parts: every worker builds the same dataflow ([`build_dataflow`]);
/// worker 0 of process 0 feeds it ([`feed`]); process 0's main thread
/// coordinates ([`Coordinator::drive`]): it releases record jobs and takes
/// every result.
pub fn run_with(
    plan: Arc<Plan>,
    options: &RunOptions,
    store: Option<&Store>,
) -> Result<Option<RunSummary>, RunError> {
    let started = Instant::now();
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let coordinator_side = options.topology.is_coordinator();
    let (prepared, jobs) = match store {
        Some(store) if coordinator_side => {
            let prepared = prepare(&plan, Some(store))?;
            let jobs = stage_jobs(&plan, &prepared, store)?;
            (Some(prepared), jobs)
        }
        _ => (None, Vec::new()),
    };
    let job_count = jobs.len();
    let mut jobs_per_clip = vec![0u32; prepared.as_ref().map_or(0, |p| p.clips.len())];
    for job in &jobs {
        jobs_per_clip[job.seq as usize] += 1;
    }

    let (tx, rx) = crossbeam_channel::bounded::<WorkResult>(256);
    let (record_tx, record_rx) = crossbeam_channel::unbounded::<RecordJob>();
    let worker_zero = WorkerZero {
        jobs: Mutex::new(Some(jobs)),
        results: Mutex::new(coordinator_side.then_some(tx)),
        record_jobs: Mutex::new(coordinator_side.then_some(record_rx)),
    };
    let guards = start_workers(&plan, options, worker_zero)?;
    let summary = match (store, prepared) {
        (Some(store), Some(prepared)) => {
            let timing = RunTiming {
                started,
                started_unix,
            };
            Some(coordinate(
                &plan,
                options,
                store,
                prepared,
                (job_count, jobs_per_clip),
                (&rx, record_tx),
                timing,
            )?)
        }
        _ => None,
    };
    for result in guards.join() {
        result.map_err(|e| RunError::Dataflow(format!("a worker failed: {e}")))?;
    }
    Ok(summary)
}

/// Starts every worker of this process on the dataflow; worker 0 of the
/// coordinator's process feeds it what `worker_zero` holds.
fn start_workers(
    plan: &Arc<Plan>,
    options: &RunOptions,
    worker_zero: WorkerZero,
) -> Result<timely::communication::initialize::WorkerGuards<()>, RunError> {
    let shared = Arc::new((
        plan.clone(),
        worker_zero,
        threads_per_worker(plan, &options.topology),
    ));
    timely::execute(options.topology.timely_config(), move |worker| {
        let (plan, worker_zero, threads) = &*shared;
        let index = worker.index();
        let results_out = if index == 0 {
            worker_zero.results.lock().expect("not poisoned").take()
        } else {
            None
        };
        let mut inputs = build_dataflow(worker, plan, *threads, results_out);
        if index == 0 {
            let jobs = worker_zero
                .jobs
                .lock()
                .expect("not poisoned")
                .take()
                .unwrap_or_default();
            let record_jobs = worker_zero.record_jobs.lock().expect("not poisoned").take();
            feed(worker, &mut inputs, jobs, record_jobs);
        }
        let probe = inputs.probe.clone();
        drop(inputs);
        while !probe.done() {
            worker.step_or_park(Some(Duration::from_millis(20)));
        }
    })
    .map_err(RunError::Dataflow)
}

/// The coordinator's side of a run: releases record jobs, takes every
/// result, and writes `run.json` when the run covers everything.
fn coordinate(
    plan: &Plan,
    options: &RunOptions,
    store: &Store,
    prepared: Prepared,
    (job_count, jobs_per_clip): (usize, Vec<u32>),
    (rx, record_tx): (
        &crossbeam_channel::Receiver<WorkResult>,
        crossbeam_channel::Sender<RecordJob>,
    ),
    timing: RunTiming,
) -> Result<RunSummary, RunError> {
    let out_dir = plan.spec.defaults.out.join(&plan.spec.name);
    let clips = prepared.clips.len();
    let notes = prepared.notes.clone();
    let (workers, processes) = options.topology.describe();
    let max_records = RECORD_THREADS * workers * processes * 2;
    let coordinator = Coordinator::new(
        plan,
        store,
        &out_dir,
        prepared,
        jobs_per_clip,
        max_records,
        options,
    )?
    .started(timing.started, timing.started_unix);
    let (
        coordinator::Finished {
            stats,
            errors,
            sink_notes,
        },
        lost,
    ) = coordinator.drive(rx, record_tx, job_count)?;
    if lost.missing > 0 {
        return Err(RunError::Dataflow(format!(
            "the dataflow stopped after {} of {} jobs (a worker or process died); rerun to resume from the store",
            lost.received,
            lost.received + lost.missing
        )));
    }
    let stats: Vec<(String, NodeStats)> =
        plan.nodes.iter().map(|n| n.id.clone()).zip(stats).collect();
    if options.scope == RunScope::Everything {
        write_run_json(
            plan,
            (clips, &notes, &sink_notes),
            options,
            &out_dir,
            &stats,
            &errors,
            timing,
        )?;
    }
    Ok(RunSummary {
        errors,
        stats,
        out_dir,
    })
}

/// What worker 0 of the coordinator's process takes when the workers start:
/// the stage jobs to feed, the channel results go out on, and the channel
/// record jobs come in on.
struct WorkerZero {
    jobs: Mutex<Option<Vec<StageJob>>>,
    results: Mutex<Option<crossbeam_channel::Sender<WorkResult>>>,
    record_jobs: Mutex<Option<crossbeam_channel::Receiver<RecordJob>>>,
}

/// Threads each worker's frame stage parallelises on: the spec's, or the cores shared out among the workers.
fn threads_per_worker(plan: &Plan, topology: &Topology) -> usize {
    plan.spec.defaults.threads_per_worker.unwrap_or_else(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores / topology.describe().0).max(1)
    })
}

/// A worker's handles on its dataflow: the two inputs (worker 0 feeds them;
/// the others drop theirs at once) and the probes that follow the results.
struct DataflowInputs {
    stage_jobs: Option<InputHandle<u64, CapacityContainerBuilder<Vec<StageJob>>>>,
    record_jobs: Option<InputHandle<u64, CapacityContainerBuilder<Vec<RecordJob>>>>,
    /// Progress of stage results alone.
    stage_probe: ProbeHandle<u64>,
    /// Progress of every result.
    probe: ProbeHandle<u64>,
}

/// Builds one worker's dataflow: stage jobs run on a pool of the worker's
/// own `threads`, record jobs on its I/O threads, and every result goes to
/// worker 0, which passes it to the coordinator through `results_out`.
fn build_dataflow(
    worker: &mut Worker,
    plan: &Arc<Plan>,
    threads: usize,
    results_out: Option<crossbeam_channel::Sender<WorkResult>>,
) -> DataflowInputs {
    let index = worker.index();
    let mut stage_input = InputHandle::<u64, CapacityContainerBuilder<Vec<StageJob>>>::new();
    let mut record_input = InputHandle::<u64, CapacityContainerBuilder<Vec<RecordJob>>>::new();
    let cache_dir = plan.spec.defaults.store.join("requests");
    // Each worker's frame stage parallelises inside a clip on threads of its own.
    let stage_pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(move |t| format!("maflow-w{index}-{t}"))
            .build()
            .expect("a thread pool starts"),
    );
    let (probe, stage_probe) = worker.dataflow::<u64, _, _>(|scope| {
        let jobs = scope
            .input_from(&mut stage_input)
            .container::<Vec<StageJob>>();
        let stage_plan = plan.clone();
        // Stage jobs go round-robin by clip position: balanced in count
        // whatever the ids; a clip's stages all run on one worker.
        let results = pooled_map(
            jobs,
            "frame-stage",
            1,
            |job: &StageJob| job.seq,
            move |job| stage_pool.install(|| WorkResult::Stage(run_stage(&stage_plan, job))),
        );
        let record_jobs = scope
            .input_from(&mut record_input)
            .container::<Vec<RecordJob>>();
        let record_plan = plan.clone();
        let record_results = pooled_map(
            record_jobs,
            "records",
            RECORD_THREADS,
            |job: &RecordJob| route(&job.clip.id),
            move |job| WorkResult::Records(run_records(&record_plan, job, &cache_dir)),
        );
        // Stage jobs are fed against their own results' progress: the record
        // input stays open (at its last epoch) until the run ends, so the
        // joint frontier would stall the stage feed.
        let (stage_probe, results) = results.probe();
        let (probe, results) = results.concat(record_results).probe();
        results.sink(
            Exchange::new(|_: &WorkResult| 0),
            "coordinator",
            move |(input, _)| {
                input.for_each(|_, data| {
                    for result in data.drain(..) {
                        if let Some(tx) = &results_out {
                            let _ = tx.send(result);
                        }
                    }
                });
            },
        );
        (probe, stage_probe)
    });
    DataflowInputs {
        stage_jobs: Some(stage_input),
        record_jobs: Some(record_input),
        stage_probe,
        probe,
    }
}

/// Worker 0's loop: sends the stage jobs epoch by epoch, with a bounded
/// number of epochs in flight, and the record jobs as the coordinator
/// releases them, until the jobs are all sent and the coordinator hangs up.
fn feed(
    worker: &mut Worker,
    inputs: &mut DataflowInputs,
    jobs: Vec<StageJob>,
    record_jobs: Option<crossbeam_channel::Receiver<RecordJob>>,
) {
    let mut jobs = jobs.into_iter().enumerate().peekable();
    // Enough jobs per epoch to keep every worker busy.
    let batch = (worker.peers() * 2).max(1);
    loop {
        while let Some(handle) = inputs.stage_jobs.as_mut() {
            let Some((n, _)) = jobs.peek() else {
                inputs.stage_jobs.take().expect("open").close();
                break;
            };
            let epoch = (*n / batch) as u64;
            if epoch > *handle.time() {
                if inputs
                    .stage_probe
                    .less_than(&epoch.saturating_sub(EPOCHS_IN_FLIGHT))
                {
                    break;
                }
                handle.advance_to(epoch);
            }
            handle.send(jobs.next().expect("peeked").1);
        }
        if inputs.record_jobs.is_some() {
            let rx = record_jobs
                .as_ref()
                .expect("worker 0 of the coordinator holds the record feed");
            feed_record_jobs(&mut inputs.record_jobs, rx);
        }
        if inputs.stage_jobs.is_none() && inputs.record_jobs.is_none() {
            break;
        }
        worker.step_or_park(Some(Duration::from_millis(5)));
    }
}

/// Sends the record jobs the coordinator has released, in a new epoch per
/// batch (so each batch's progress is tracked on its own); closes the input
/// when the coordinator hangs up, which it does when the run is complete.
fn feed_record_jobs(
    input: &mut Option<InputHandle<u64, CapacityContainerBuilder<Vec<RecordJob>>>>,
    rx: &crossbeam_channel::Receiver<RecordJob>,
) {
    let Some(handle) = input.as_mut() else { return };
    let mut sent = false;
    loop {
        match rx.try_recv() {
            Ok(job) => {
                handle.send(job);
                sent = true;
            }
            Err(crossbeam_channel::TryRecvError::Empty) => break,
            Err(crossbeam_channel::TryRecvError::Disconnected) => {
                input.take().expect("open").close();
                return;
            }
        }
    }
    if sent {
        let next = *handle.time() + 1;
        handle.advance_to(next);
    }
}

/// The worker a clip goes to: a stable hash of its id, equal on every process.
pub(super) fn route(id: &str) -> u64 {
    let hash = blake3::hash(id.as_bytes());
    u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// One job per (clip, stage) with at least one stage output missing from the
/// store. A cached consumer that feeds a missing one replays its stored record
/// when it can, and is computed again otherwise.
fn stage_jobs(
    plan: &Plan,
    prepared: &Prepared,
    store: &Store,
) -> Result<Vec<StageJob>, StoreError> {
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
                let feeds = computing
                    .iter()
                    .any(|&r| plan.nodes[r].inputs.contains(&node));
                if !clip.cached[node] || !feeds {
                    continue;
                }
                let replays = matches!(&plan.nodes[node].runtime, Runtime::FrameConsumer(c) if c.can_replay());
                let stored = if replays {
                    store.get(&clip.keys[node].expect("stage nodes have keys"))?
                } else {
                    None
                };
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
            jobs.push(StageJob {
                seq: clip.seq,
                stage: s,
                clip: clip.clip.clone(),
                needed,
                feeders,
                replay,
            });
        }
    }
    Ok(jobs)
}

/// When a run started, for `run.json`.
#[derive(Clone, Copy)]
struct RunTiming {
    started: Instant,
    started_unix: u64,
}

/// Notes by node id.
type Notes = [(String, serde_json::Value)];

/// `clips`: how many, the sources' notes and the sinks' notes.
fn write_run_json(
    plan: &Plan,
    (clips, notes, sink_notes): (usize, &Notes, &Notes),
    options: &RunOptions,
    out_dir: &std::path::Path,
    stats: &[(String, NodeStats)],
    errors: &[ItemError],
    timing: RunTiming,
) -> Result<(), StoreError> {
    let (workers, processes) = options.topology.describe();
    let operators: serde_json::Map<String, serde_json::Value> = stats
        .iter()
        .zip(&plan.nodes)
        .map(|((id, s), node)| {
            let mut value = serde_json::to_value(s).expect("stats serialise");
            if let Runtime::Record(op) = &node.runtime
                && !s.calls.is_empty()
            {
                for (name, figure) in op.calls_report(&s.calls, s.computed).derived {
                    value["calls"][name] = figure;
                }
            }
            (id.clone(), value)
        })
        .collect();
    let cache_hits: u64 = stats.iter().map(|(_, s)| s.cached).sum();
    let cache_misses: u64 = stats.iter().map(|(_, s)| s.items - s.cached).sum();
    let run = serde_json::json!({
        "spec": plan.spec.name,
        "description": plan.spec.description,
        "spec_hash": plan.spec.hash,
        "maflow_version": env!("CARGO_PKG_VERSION"),
        "started_unix": timing.started_unix,
        "wall_seconds": timing.started.elapsed().as_secs_f64(),
        "workers": workers,
        "processes": processes,
        "store": plan.spec.defaults.store,
        "clips": clips,
        "cache": {"hits": cache_hits, "misses": cache_misses},
        "errors": errors.len(),
        "operators": operators,
    });
    let mut run = run;
    if !notes.is_empty() {
        run["sources"] = notes
            .iter()
            .cloned()
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    if !sink_notes.is_empty() {
        run["sinks"] = sink_notes
            .iter()
            .cloned()
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
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

/// What `maflow plan` reports: counts per computing node (record sinks compute nothing), the listing errors, and the sources' notes.
pub fn plan_counts(plan: &Plan) -> Result<PlanReport, PrepareError> {
    let store = Store::open_read_only(&plan.spec.defaults.store)?;
    let prepared = prepare(plan, store.as_ref())?;
    let counts =
        plan.nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| !matches!(node.runtime, Runtime::RecordSink(_)))
            .map(|(i, node)| {
                let (items, cached) = prepared.clips.iter().fold((0, 0), |(n, c), clip| match clip
                    .keys[i]
                {
                    Some(_) => (n + 1, c + u64::from(clip.cached[i])),
                    None => (n, c),
                });
                PlanCounts {
                    id: node.id.clone(),
                    items,
                    cached,
                    to_run: items - cached,
                }
            })
            .collect();
    Ok((counts, prepared.errors, prepared.notes))
}

/// Every store key a spec reaches now: each output and picture key of its
/// clips, and each key its output folder's sinks were last given (what a
/// later run hands them for a clip that fails). What `maflow store gc` keeps.
pub fn reached_keys(
    plan: &Plan,
    store: &Store,
) -> Result<std::collections::HashSet<crate::store::Key>, PrepareError> {
    let prepared = prepare(plan, Some(store))?;
    let mut keys: std::collections::HashSet<_> = prepared
        .clips
        .iter()
        .flat_map(|c| c.keys.iter().chain(&c.picture_keys).flatten().copied())
        .collect();
    let out_dir = plan.spec.defaults.out.join(&plan.spec.name);
    keys.extend(written::Written::load(&out_dir).keys());
    Ok(keys)
}

/// Counts per computing node, listing errors, and per source its notes.
pub type PlanReport = (
    Vec<PlanCounts>,
    Vec<ItemError>,
    Vec<(String, serde_json::Value)>,
);
