//! The coordinator: the one place that writes the store and the output folder.
//!
//! It runs on the main thread of process 0. Cached outputs need no work;
//! stage results arrive from the workers in any order, are committed to the
//! store at once, and clips are handed to the sinks in source order as soon
//! as every job of a clip is back, so outputs are identical whatever the
//! number of workers or processes and sinks write as the run goes. Once a
//! clip's frame stages are in, its record-level chain is dispatched as one
//! [`RecordJob`] (a bounded number in flight).

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use crossbeam_channel::{Receiver, Sender};

use super::prepare::{ClipEntry, Prepared};
use super::records::{RecordJob, RecordResult};
use super::stage::{Outcome, StageResult};
use super::written::Written;
use super::{RunOptions, RunScope, WorkResult};
use crate::data::{ItemError, Output};
use crate::graph::{Plan, PlanNode};
use crate::progress::{LINE_EVERY, Progress, Row};
use crate::registry::{CallCounts, RunInfo, Runtime, SinkFailure, SinkWriter};
use crate::store::{HeldRenames, Key, Store, StoreError, Stored, hold_renames, write_atomic};

/// Per-node counts for `run.json`.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct NodeStats {
    /// Operator kind.
    pub kind: String,
    /// Operator version.
    pub version: u32,
    /// Clips this node applies to.
    pub items: u64,
    /// Outputs found in the store.
    pub cached: u64,
    /// Outputs computed in this run.
    pub computed: u64,
    /// Items that failed here.
    pub failed: u64,
    /// Items not run because an upstream node failed.
    pub skipped: u64,
    /// Seconds spent computing (summed over workers).
    pub seconds: f64,
    /// Frames streamed (frame producers).
    pub frames: u64,
    /// Records written (record sinks).
    pub written: u64,
    /// Clips whose chain failed in this run, written from the last run that wrote them (record sinks).
    #[serde(skip_serializing_if = "is_zero")]
    pub kept: u64,
    /// Remote calls (record operators that ask a service).
    #[serde(skip_serializing_if = "CallCounts::is_empty")]
    pub calls: CallCounts,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What a run ends with: per-node counts, every error in order, and the sinks' notes.
pub struct Finished {
    /// Per node, in plan order.
    pub stats: Vec<NodeStats>,
    /// Listing failures, then item failures, in order.
    pub errors: Vec<ItemError>,
    /// Per sink that stated them, its notes.
    pub sink_notes: Vec<(String, serde_json::Value)>,
}

/// Results that never came back from the workers (a worker or process died).
#[derive(Clone, Copy, Debug)]
pub struct Lost {
    /// Results taken.
    pub received: usize,
    /// Results still outstanding when the workers hung up.
    pub missing: usize,
}

/// Where a clip's record-level chain stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Records {
    /// Nothing to compute, or done.
    Done,
    /// Waiting for the clip's frame stages.
    Waiting,
    /// Queued for dispatch.
    Queued,
    /// Sent to a worker.
    Running,
}

/// Why a run could not go on (the store or the output folder failed).
#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    /// Store failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Output folder failure.
    #[error("writing {path}: {source}")]
    Output {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// An open sink and what it was not given as this run's own.
struct SinkState {
    node: usize,
    writer: Box<dyn SinkWriter>,
    /// Per node: whether it feeds this sink (its failures are the sink's).
    upstream: Vec<bool>,
    failures: Vec<SinkFailure>,
}

/// State of the run on the coordinator.
pub struct Coordinator<'a> {
    plan: &'a Plan,
    store: &'a Store,
    out_dir: PathBuf,
    prepared: Prepared,
    pending_jobs: Vec<u32>,
    records: Vec<Records>,
    record_queue: VecDeque<usize>,
    records_in_flight: usize,
    max_records_in_flight: usize,
    next_emit: usize,
    sinks: Vec<SinkState>,
    /// What the sinks of this folder were given by the last run, and by this one.
    written: (Written, Written),
    /// Stats per node, in plan order.
    pub stats: Vec<NodeStats>,
    errors: BTreeMap<(u64, usize), ItemError>,
    progress: Progress,
    /// Per node: its row in the progress display.
    progress_rows: Vec<Option<usize>>,
    scope: RunScope,
    /// When the run started (monotonic, and Unix seconds).
    started: (std::time::Instant, u64),
    /// Every file the sinks write, held back until all have finished: the
    /// folder changes whole or not at all (see [`hold_renames`]).
    held: Option<HeldRenames>,
}

/// Makes the output folder and removes the temporary files a run killed
/// mid-write left there; they are never outputs.
fn prepare_output(out_dir: &Path) -> Result<(), CoordinatorError> {
    let output_error = |source| CoordinatorError::Output {
        path: out_dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(out_dir).map_err(output_error)?;
    let stale = crate::store::remove_stale_temp_files(out_dir).map_err(output_error)?;
    if stale > 0 {
        tracing::info!(stale, "removed temporary files left by an interrupted run");
    }
    Ok(())
}

/// Each node's items and how many of them the store already holds.
fn initial_stats(plan: &Plan, prepared: &Prepared) -> Vec<NodeStats> {
    let mut stats: Vec<NodeStats> = plan
        .nodes
        .iter()
        .map(|n| NodeStats {
            kind: n.kind.name.into(),
            version: n.kind.version,
            ..Default::default()
        })
        .collect();
    for clip in &prepared.clips {
        for (i, key) in clip.keys.iter().enumerate() {
            if key.is_some() {
                stats[i].items += 1;
                stats[i].cached += u64::from(clip.cached[i]);
            }
        }
    }
    stats
}

/// Opens every record sink's writer on the output folder.
fn open_sinks(plan: &Plan, out_dir: &Path) -> Result<Vec<SinkState>, CoordinatorError> {
    let mut sinks = Vec::new();
    for (i, node) in plan.nodes.iter().enumerate() {
        if let Runtime::RecordSink(sink) = &node.runtime {
            let writer =
                sink.open(out_dir, &node.id)
                    .map_err(|source| CoordinatorError::Output {
                        path: out_dir.join(&node.id),
                        source,
                    })?;
            sinks.push(SinkState {
                node: i,
                writer,
                upstream: upstream_of(plan, i),
                failures: Vec::new(),
            });
        }
    }
    Ok(sinks)
}

/// The progress rows, one per node that computes per clip (the frame stages
/// and, unless only those run, the record operators), and each node's row.
fn progress_rows(
    plan: &Plan,
    stats: &[NodeStats],
    scope: RunScope,
) -> (Vec<Row>, Vec<Option<usize>>) {
    let shown = |n: &crate::graph::PlanNode| {
        n.stage.is_some()
            || (scope == RunScope::Everything && matches!(n.runtime, Runtime::Record(_)))
    };
    let mut progress_rows = vec![None; plan.nodes.len()];
    let mut rows = Vec::new();
    for (i, (n, s)) in plan.nodes.iter().zip(stats).enumerate() {
        if shown(n) {
            progress_rows[i] = Some(rows.len());
            let calls = matches!(n.runtime, Runtime::Record(_));
            rows.push(Row {
                name: n.id.clone(),
                total: s.items,
                done: s.cached,
                calls,
            });
        }
    }
    (rows, progress_rows)
}

/// The errors of clip `seq` upstream of a sink (`upstream[n]`: node n
/// feeds it), or, when none is recorded, that an input was not computed.
fn upstream_errors(
    errors: &BTreeMap<(u64, usize), ItemError>,
    seq: usize,
    upstream: &[bool],
    clip: &ClipEntry,
    sink: &PlanNode,
) -> Vec<ItemError> {
    let mut found: Vec<ItemError> = errors
        .range((seq as u64, 0)..(seq as u64 + 1, 0))
        .filter(|((_, n), _)| upstream[*n])
        .map(|(_, e)| e.clone())
        .collect();
    if found.is_empty() {
        found.push(ItemError {
            clip: clip.clip.id.clone(),
            operator: sink.id.clone(),
            cause: "an input was not computed".into(),
        });
    }
    found
}

/// Writes every node's blobs (pictures) of `clip` for people to look at,
/// the outputs' through `read` and the pictures' own.
fn write_pictures(
    plan: &Plan,
    store: &Store,
    out_dir: &Path,
    clip: &ClipEntry,
    read: &mut impl FnMut(usize) -> Result<Option<Stored>, StoreError>,
) -> Result<(), CoordinatorError> {
    for (i, node) in plan.nodes.iter().enumerate() {
        if matches!(node.runtime, Runtime::RecordSink(_) | Runtime::Source(_)) {
            continue;
        }
        let pictures = match clip.picture_keys[i] {
            Some(key) => store.get(&key)?,
            None => None,
        };
        for stored in read(i)?.iter().chain(&pictures) {
            if !stored.blobs.is_empty() {
                materialise_blobs(store, stored, &out_dir.join(&node.id), &clip.clip.id)?;
            }
        }
    }
    Ok(())
}

impl<'a> Coordinator<'a> {
    /// Sets up sinks and counts; `jobs_per_clip[seq]` is how many stage jobs each clip waits for.
    pub fn new(
        plan: &'a Plan,
        store: &'a Store,
        out_dir: &Path,
        prepared: Prepared,
        jobs_per_clip: Vec<u32>,
        max_records_in_flight: usize,
        options: &RunOptions,
    ) -> Result<Self, CoordinatorError> {
        let scope = options.scope;
        let held = Some(hold_renames());
        prepare_output(out_dir)?;
        let stats = initial_stats(plan, &prepared);
        let sinks = if scope == RunScope::Everything {
            open_sinks(plan, out_dir)?
        } else {
            Vec::new()
        };
        let records = prepared
            .clips
            .iter()
            .map(|clip| {
                match scope == RunScope::FrameStages || record_nodes_needed(plan, clip).is_empty() {
                    true => Records::Done,
                    false => Records::Waiting,
                }
            })
            .collect();
        let (rows, progress_rows) = progress_rows(plan, &stats, scope);
        let progress = Progress::new(rows, options.progress);
        Ok(Self {
            plan,
            store,
            out_dir: out_dir.to_path_buf(),
            prepared,
            pending_jobs: jobs_per_clip,
            records,
            record_queue: VecDeque::new(),
            records_in_flight: 0,
            max_records_in_flight: max_records_in_flight.max(1),
            next_emit: 0,
            sinks,
            written: (
                if scope == RunScope::Everything {
                    Written::load(out_dir)
                } else {
                    Written::default()
                },
                Written::default(),
            ),
            stats,
            errors: BTreeMap::new(),
            progress,
            progress_rows,
            scope,
            started: (std::time::Instant::now(), 0),
            held,
        })
    }

    /// Sets when the run started (before listing and keying), for the sinks' run details.
    pub fn started(mut self, at: std::time::Instant, unix: u64) -> Self {
        self.started = (at, unix);
        self
    }

    /// What ran, for the sinks that show it.
    fn run_info(&self, sinks: Vec<(String, serde_json::Value)>) -> RunInfo {
        RunInfo {
            spec: self.plan.spec.name.clone(),
            spec_hash: self.plan.spec.hash.clone(),
            version: env!("CARGO_PKG_VERSION"),
            started_unix: self.started.1,
            wall_seconds: self.started.0.elapsed().as_secs_f64(),
            clips: self.prepared.clips.len(),
            cache_hits: self.stats.iter().map(|s| s.cached).sum(),
            cache_misses: self.stats.iter().map(|s| s.items - s.cached).sum(),
            nodes: self
                .plan
                .nodes
                .iter()
                .map(|n| (n.id.clone(), n.kind.name.to_string(), n.full_config()))
                .collect(),
            sources: self.prepared.notes.clone(),
            sinks,
        }
    }

    /// The coordinator's loop over a run: emits what is cached, then takes
    /// each of the `stage_jobs` stage results and the record results as they
    /// come, releasing record jobs to worker 0 as clips become ready, until
    /// none is outstanding or the workers hang up. Hangs up on worker 0 at
    /// the end, which closes its record input and ends the dataflow.
    pub fn drive(
        mut self,
        results: &Receiver<WorkResult>,
        record_jobs: Sender<RecordJob>,
        stage_jobs: usize,
    ) -> Result<(Finished, Lost), CoordinatorError> {
        self.start()?;
        let mut outstanding = stage_jobs;
        let mut received = 0;
        outstanding += self.release_records(&record_jobs)?;
        while outstanding > 0 {
            // Long record stages (a model answering) print progress while nothing comes back.
            let result = match results.recv_timeout(LINE_EVERY / 5) {
                Ok(result) => result,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    self.progress.tick();
                    continue;
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            };
            match result {
                WorkResult::Stage(result) => self.accept(result)?,
                WorkResult::Records(result) => self.accept_records(result)?,
            }
            outstanding -= 1;
            received += 1;
            outstanding += self.release_records(&record_jobs)?;
        }
        drop(record_jobs);
        let finished = self.finish()?;
        Ok((
            finished,
            Lost {
                received,
                missing: outstanding,
            },
        ))
    }

    /// Sends the record jobs ready now; returns how many went out.
    fn release_records(
        &mut self,
        record_jobs: &Sender<RecordJob>,
    ) -> Result<usize, CoordinatorError> {
        let mut sent = 0;
        for job in self.dispatch_records()? {
            // Worker 0 is gone only if the dataflow died; the jobs missing at the end report that.
            if record_jobs.send(job).is_ok() {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Stores source records that are not cached yet, then emits clips that need no jobs.
    fn start(&mut self) -> Result<(), CoordinatorError> {
        let mut fresh: Vec<([u8; 32], String, Output)> = Vec::new();
        for clip in &self.prepared.clips {
            let key = clip.keys[clip.source].expect("a source keys its own clips");
            if !clip.cached[clip.source] {
                let record = serde_json::to_value(&clip.clip).expect("clips serialise");
                let origin = self.plan.nodes[clip.source].origin();
                fresh.push((key, origin, Output::record(record)));
                self.stats[clip.source].computed += 1;
            }
        }
        let items: Vec<_> = fresh.iter().map(|(k, m, o)| (*k, m.clone(), o)).collect();
        self.store.put_many(&items)?;
        for seq in 0..self.prepared.clips.len() {
            self.queue_records(seq);
        }
        self.emit_ready()
    }

    /// Takes one stage result: commits outputs, records errors, emits what is complete.
    fn accept(&mut self, result: StageResult) -> Result<(), CoordinatorError> {
        let seq = result.seq as usize;
        let mut done: Vec<([u8; 32], String, Output)> = Vec::new();
        for (node, outcome, seconds) in result.outcomes {
            // The producer read the clip's frames, and every consumer that computed went over them all
            // (a consumer replayed from the store, skipped or failed counts none).
            let over_frames = node == self.plan.stages[result.stage].producer
                || matches!(outcome, Outcome::Done(_));
            done.extend(self.tally(seq, node, outcome, seconds));
            let frames = if over_frames { result.frames } else { 0 };
            self.stats[node].frames += frames;
            if let Some(row) = self.progress_rows[node] {
                self.progress.advance(row, frames, None);
            }
        }
        let items: Vec<_> = done.iter().map(|(k, m, o)| (*k, m.clone(), o)).collect();
        self.store.put_many(&items)?;
        self.pending_jobs[seq] -= 1;
        self.queue_records(seq);
        self.emit_ready()
    }

    /// Takes one record job's result: commits outputs, records errors, emits what is complete.
    fn accept_records(&mut self, result: RecordResult) -> Result<(), CoordinatorError> {
        let seq = result.seq as usize;
        let mut done: Vec<([u8; 32], String, Output)> = Vec::new();
        for (node, outcome, seconds, calls) in result.outcomes {
            self.stats[node].calls.merge(&calls);
            done.extend(self.tally(seq, node, outcome, seconds));
            if let Some(row) = self.progress_rows[node] {
                let said = match &self.plan.nodes[node].runtime {
                    Runtime::Record(op) => {
                        let s = &self.stats[node];
                        op.calls_report(&s.calls, s.computed).progress
                    }
                    _ => None,
                };
                self.progress.advance(row, 0, said);
            }
        }
        let items: Vec<_> = done.iter().map(|(k, m, o)| (*k, m.clone(), o)).collect();
        self.store.put_many(&items)?;
        self.records[seq] = Records::Done;
        self.records_in_flight -= 1;
        self.emit_ready()
    }

    /// Counts one node's outcome for a clip and records its error; returns
    /// what to commit when it was computed.
    fn tally(
        &mut self,
        seq: usize,
        node: usize,
        outcome: Outcome,
        seconds: f64,
    ) -> Vec<([u8; 32], String, Output)> {
        let clip = &self.prepared.clips[seq];
        let plan_node = &self.plan.nodes[node];
        let stats = &mut self.stats[node];
        stats.seconds += seconds;
        match outcome {
            Outcome::Done(wire) => {
                stats.computed += 1;
                let mut output = wire.into_output();
                let pictures = output.pictures.take();
                let key = clip.keys[node].expect("computed nodes have keys");
                let mut commit = vec![(key, plan_node.origin(), output)];
                // Pictures go under their own key; a node told to draw none has none to keep.
                if let (Some(key), Some(pictures)) = (clip.picture_keys[node], pictures) {
                    let pictures = Output::new(pictures.note, pictures.blobs);
                    commit.push((key, plan_node.picture_origin(), pictures));
                }
                return commit;
            }
            Outcome::Failed(cause) => {
                stats.failed += 1;
                let error = ItemError {
                    clip: clip.clip.id.clone(),
                    operator: self.plan.nodes[node].id.clone(),
                    cause,
                };
                tracing::info!(clip = %error.clip, operator = %error.operator, cause = %error.cause, "item failed");
                self.errors.insert((seq as u64, node), error);
            }
            Outcome::Skipped => stats.skipped += 1,
        }
        Vec::new()
    }

    /// Queues the clip's record chain once its frame stages are all back.
    fn queue_records(&mut self, seq: usize) {
        if self.pending_jobs[seq] == 0 && self.records[seq] == Records::Waiting {
            self.records[seq] = Records::Queued;
            self.record_queue.push_back(seq);
        }
    }

    /// Record jobs that may start now (within the in-flight bound), with the stored records they read.
    fn dispatch_records(&mut self) -> Result<Vec<RecordJob>, CoordinatorError> {
        let mut jobs = Vec::new();
        while self.records_in_flight < self.max_records_in_flight {
            let Some(seq) = self.record_queue.pop_front() else {
                break;
            };
            let clip = &self.prepared.clips[seq];
            let needed = record_nodes_needed(self.plan, clip);
            let mut inputs = Vec::new();
            let mut read: Vec<usize> = needed
                .iter()
                .flat_map(|&n| self.plan.nodes[n].inputs.iter().copied())
                .filter(|j| !needed.contains(j))
                .collect();
            read.sort_unstable();
            read.dedup();
            for j in read {
                if let Some(key) = clip.keys[j]
                    && let Some(stored) = self.store.get(&key)?
                {
                    inputs.push((j, stored.record.to_string()));
                }
            }
            self.records[seq] = Records::Running;
            self.records_in_flight += 1;
            jobs.push(RecordJob {
                seq: seq as u64,
                clip: clip.clip.clone(),
                needed,
                inputs,
            });
        }
        Ok(jobs)
    }

    /// Hands finished clips to the sinks, in order.
    fn emit_ready(&mut self) -> Result<(), CoordinatorError> {
        while self.next_emit < self.prepared.clips.len()
            && self.pending_jobs[self.next_emit] == 0
            && self.records[self.next_emit] == Records::Done
        {
            let seq = self.next_emit;
            let clip = &self.prepared.clips[seq];
            // Each stored output is read once per clip, whether a sink or the pictures need it.
            let mut stored: Vec<Option<Option<Stored>>> = vec![None; self.plan.nodes.len()];
            let mut read = |i: usize| -> Result<Option<Stored>, StoreError> {
                if stored[i].is_none() {
                    stored[i] = Some(match clip.keys[i] {
                        Some(key) => self.store.get(&key)?,
                        None => None,
                    });
                }
                Ok(stored[i].clone().flatten())
            };
            for sink in &mut self.sinks {
                let node = &self.plan.nodes[sink.node];
                let input = sink_input(self.store, &self.written.0, node, clip, &mut read)?;
                if input.incomplete {
                    let errors = upstream_errors(&self.errors, seq, &sink.upstream, clip, node);
                    sink.failures
                        .extend(errors.into_iter().map(|error| SinkFailure {
                            error,
                            kept: input.kept,
                        }));
                    self.stats[sink.node].kept += u64::from(input.kept);
                }
                let present: Vec<Option<Key>> = input
                    .keys
                    .iter()
                    .zip(&input.outputs)
                    .map(|(k, o)| o.as_ref().and(*k))
                    .collect();
                self.written.1.insert(&node.id, &clip.clip.id, &present);
                let records: Vec<Option<&serde_json::Value>> = input
                    .outputs
                    .iter()
                    .map(|o| o.as_ref().map(|o| &o.record))
                    .collect();
                sink.writer
                    .write_inputs(&clip.clip, &records)
                    .map_err(|source| CoordinatorError::Output {
                        path: self.out_dir.join(&node.id),
                        source,
                    })?;
                self.stats[sink.node].written += u64::from(records[0].is_some());
            }
            write_pictures(self.plan, self.store, &self.out_dir, clip, &mut read)?;
            self.next_emit += 1;
        }
        Ok(())
    }

    /// Closes sinks and writes `errors.jsonl`; returns every error in order.
    fn finish(mut self) -> Result<Finished, CoordinatorError> {
        // Failures first: what a sink notes may depend on them (a submission missing answers).
        for sink in &mut self.sinks {
            // Entries that never became clips (missing or unreadable files) are failures of every sink.
            let unlisted = self.prepared.errors.iter().map(|error| SinkFailure {
                error: error.clone(),
                kept: false,
            });
            let failures: Vec<SinkFailure> = unlisted.chain(sink.failures.drain(..)).collect();
            sink.writer.failures(&failures);
        }
        let notes: Vec<(String, serde_json::Value)> = self
            .sinks
            .iter_mut()
            .filter_map(|sink| Some((self.plan.nodes[sink.node].id.clone(), sink.writer.notes()?)))
            .collect();
        let run = self.run_info(notes);
        self.progress.finish();
        let has_sinks = !self.sinks.is_empty();
        // The sinks' files land together once all are written: a sink that fails (a full disk, a
        // read-only folder) leaves every file, and the record of what the sinks were given, as they were.
        let held = self
            .held
            .take()
            .expect("renames are held until the sinks finish");
        let output_error = |what: &str, source: std::io::Error| CoordinatorError::Output {
            path: self.out_dir.clone(),
            source: std::io::Error::new(
                source.kind(),
                format!("{what}: {source}; every output file is as the last run left it"),
            ),
        };
        for mut sink in self.sinks {
            sink.writer.run_info(&run);
            let id = &self.plan.nodes[sink.node].id;
            sink.writer
                .finish()
                .map_err(|e| output_error(&format!("sink `{id}`"), e))?;
        }
        held.place_all()
            .map_err(|source| CoordinatorError::Output {
                path: self.out_dir.clone(),
                source,
            })?;
        if has_sinks {
            self.written.1.save(&self.out_dir)?;
        }
        let errors: Vec<ItemError> = self
            .prepared
            .errors
            .into_iter()
            .chain(self.errors.into_values())
            .collect();
        let finished = Finished {
            stats: self.stats,
            errors,
            sink_notes: run.sinks,
        };
        if self.scope == RunScope::FrameStages {
            return Ok(finished);
        }
        let mut text = String::new();
        for e in &finished.errors {
            text.push_str(&serde_json::to_string(e).expect("errors serialise"));
            text.push('\n');
        }
        write_atomic(&self.out_dir.join("errors.jsonl"), text.as_bytes())?;
        Ok(finished)
    }
}

/// The clip's record-level nodes whose outputs are not in the store, in plan order.
fn record_nodes_needed(plan: &Plan, clip: &super::prepare::ClipEntry) -> Vec<usize> {
    (0..plan.nodes.len())
        .filter(|&i| {
            matches!(plan.nodes[i].runtime, Runtime::Record(_))
                && clip.keys[i].is_some()
                && !clip.cached[i]
        })
        .collect()
}

/// What a sink is given for one clip.
struct SinkInput {
    /// Per input: the key of the record given.
    keys: Vec<Option<Key>>,
    /// Per input: the record given, if any.
    outputs: Vec<Option<Stored>>,
    /// Whether this run lacks an input the clip has (a node upstream failed).
    incomplete: bool,
    /// Whether the records are the ones the sink was last given, because they hold more than this run's.
    kept: bool,
}

/// A sink's records of one clip: this run's, or, when this run's chain
/// failed for the clip, the ones the sink was last given, if those hold more.
fn sink_input(
    store: &Store,
    earlier: &Written,
    node: &crate::graph::PlanNode,
    clip: &super::prepare::ClipEntry,
    read: &mut dyn FnMut(usize) -> Result<Option<Stored>, StoreError>,
) -> Result<SinkInput, StoreError> {
    let keys: Vec<Option<Key>> = node.inputs.iter().map(|&j| clip.keys[j]).collect();
    let outputs = node
        .inputs
        .iter()
        .map(|&j| read(j))
        .collect::<Result<Vec<_>, _>>()?;
    let incomplete = keys
        .iter()
        .zip(&outputs)
        .any(|(k, o)| k.is_some() && o.is_none());
    if incomplete && let Some(earlier_keys) = earlier.get(&node.id, &clip.clip.id, keys.len()) {
        let found = earlier_keys
            .iter()
            .map(|k| k.map_or(Ok(None), |k| store.get(&k)))
            .collect::<Result<Vec<_>, _>>()?;
        let present = |o: &[Option<Stored>]| o.iter().filter(|o| o.is_some()).count();
        if present(&found) > present(&outputs) {
            return Ok(SinkInput {
                keys: earlier_keys,
                outputs: found,
                incomplete,
                kept: true,
            });
        }
    }
    Ok(SinkInput {
        keys,
        outputs,
        incomplete,
        kept: false,
    })
}

/// Per node: whether it feeds `sink`, directly or not.
fn upstream_of(plan: &Plan, sink: usize) -> Vec<bool> {
    let mut up = vec![false; plan.nodes.len()];
    let mut todo = plan.nodes[sink].inputs.clone();
    while let Some(n) = todo.pop() {
        if !std::mem::replace(&mut up[n], true) {
            todo.extend(plan.nodes[n].inputs.iter().copied());
        }
    }
    up
}

/// Copies a stored output's blobs to `<dir>/<clip>.<ext>`, unless an identical file is there.
fn materialise_blobs(
    store: &Store,
    stored: &Stored,
    dir: &Path,
    clip: &str,
) -> Result<(), CoordinatorError> {
    for blob in &stored.blobs {
        let path = dir.join(format!("{clip}.{}", blob.ext));
        let same = fs::metadata(&path).is_ok_and(|m| m.len() == blob.len)
            && fs::read(&path)
                .is_ok_and(|bytes| blake3::hash(&bytes).to_hex().as_str() == blob.hash);
        if !same {
            write_atomic(&path, &store.read_blob(blob)?)?;
        }
    }
    Ok(())
}
