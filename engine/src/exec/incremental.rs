//! The record-level graph as a differential dataflow, kept alive across
//! revisions of a spec (`maflow watch`).
//!
//! Three input collections describe a revision: the clips, the keys of their
//! frame-level outputs already in the store (source records, stage outputs),
//! and each record node's fingerprint (kind, version, canonical params,
//! prompt digests). Every record node joins its inputs' collections by clip
//! and its fingerprint, which gives its output key. An edit is an update to
//! these inputs: a new fingerprint retracts the node's old keys and adds new
//! ones, and only those updates reach the node's computation. It runs on a
//! pool of threads per worker, as a run's record jobs do (they mostly wait
//! on services), exchanged by clip; an insertion computes the output, or
//! finds it in the store if any earlier run made it, and a retraction takes
//! the outcome remembered at insertion, so it replays no call. The
//! consolidated diffs of each node's (clip, content digest) collection are
//! what the revision changed: an output recomputed with the same content
//! retracts and adds the same thing, which cancels.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use differential_dataflow::input::{Input, InputSession};
use differential_dataflow::{AsCollection, VecCollection};
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

use super::prepare::Prepared;
use super::records::run_record_node;
use super::{RECORD_THREADS, RunError, route};
use crate::data::{Clip, ItemError};
use crate::graph::Plan;
use crate::keys::output_key;
use crate::pool::pooled_map;
use crate::registry::{CallCounts, Runtime};
use crate::store::{Key, Store};

/// A record node's outcome for one clip: its content digest, or why it failed.
type Outcome = Result<[u8; 32], String>;

/// An update to a record node's input: (clip, (output key, input keys, clip JSON)) at a time, with its multiplicity.
type Update = ((String, (Key, Vec<Key>, String)), u64, isize);

/// What one revision did at one record node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeChanges {
    /// Outputs computed.
    pub computed: u64,
    /// Outputs found in the store.
    pub cached: u64,
    /// Items that failed.
    pub failed: u64,
    /// Items whose content left the collection (an item whose content changed counts here and in `added`).
    pub retracted: u64,
    /// Items whose content entered the collection.
    pub added: u64,
    /// Remote calls made.
    pub calls: CallCounts,
}

/// What one revision changed, per record node (plan order) and the items that failed.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    /// (node id, what changed there), for every record node.
    pub nodes: Vec<(String, NodeChanges)>,
    /// Item errors raised by this revision's computations.
    pub errors: Vec<ItemError>,
}

/// The nodes a graph is built from: it can take any revision of a spec with
/// the same shape; a spec of another shape needs a new graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    nodes: Vec<(String, bool, Vec<usize>)>,
    store: PathBuf,
}

impl Shape {
    /// The shape of a plan: node ids, which are record nodes, and the edges.
    pub fn of(plan: &Plan) -> Self {
        let nodes = plan
            .nodes
            .iter()
            .map(|n| {
                (
                    n.id.clone(),
                    matches!(n.runtime, Runtime::Record(_)),
                    n.inputs.clone(),
                )
            })
            .collect();
        Self {
            nodes,
            store: plan.spec.defaults.store.clone(),
        }
    }
}

/// The input collections' contents for one revision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Facts {
    /// (clip id, clip as JSON).
    clips: BTreeSet<(String, String)>,
    /// (clip id, (node, key)) for frame-level outputs in the store.
    frames: BTreeSet<(String, (u32, Key))>,
    /// (record node, fingerprint).
    configs: BTreeSet<(u32, Key)>,
}

impl Facts {
    fn of(plan: &Plan, prepared: &Prepared) -> Self {
        let mut facts = Facts::default();
        for (n, node) in plan.nodes.iter().enumerate() {
            if matches!(node.runtime, Runtime::Record(_)) {
                facts.configs.insert((n as u32, node.fingerprint));
            }
        }
        for entry in &prepared.clips {
            let id = entry.clip.id.clone();
            facts.clips.insert((
                id.clone(),
                serde_json::to_string(&entry.clip).expect("clips serialise"),
            ));
            for (n, node) in plan.nodes.iter().enumerate() {
                let frame_level = !node.runtime.is_record_level();
                if let Some(key) = entry.keys[n]
                    && frame_level
                    && entry.cached[n]
                {
                    facts.frames.insert((id.clone(), (n as u32, key)));
                }
            }
        }
        facts
    }
}

/// What the graph's operators share with the driver.
struct Shared {
    /// The current revision's plan: its record operators hold the current prompts.
    plan: RwLock<Arc<Plan>>,
    store: Arc<Store>,
    cache_dir: PathBuf,
    /// Per node index, this revision's counts; errors in the order they came.
    tally: Mutex<(BTreeMap<usize, NodeChanges>, Vec<ItemError>)>,
    /// The outcome of every (node, clip, key) now in the graph.
    memo: Mutex<HashMap<(usize, String, Key), Outcome>>,
}

impl Shared {
    fn tally<R>(
        &self,
        f: impl FnOnce(&mut (BTreeMap<usize, NodeChanges>, Vec<ItemError>)) -> R,
    ) -> R {
        f(&mut self.tally.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The outcome of an update to `node`'s input for a clip: an insertion is
    /// computed (or found in the store) and remembered; a retraction takes the
    /// outcome remembered at its insertion, so it replays no call and retracts
    /// exactly what was added.
    fn outcome(
        &self,
        node: usize,
        clip: &str,
        record: &str,
        key: &Key,
        inputs: &[Key],
        diff: isize,
    ) -> Outcome {
        let memo_key = (node, clip.to_string(), *key);
        if diff > 0 {
            let outcome = self.compute(node, record, key, inputs);
            self.memo
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(memo_key, outcome.clone());
            return outcome;
        }
        let remembered = self
            .memo
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&memo_key);
        // A revision starts only when the last one is done, so its insertions are remembered.
        remembered.unwrap_or_else(|| self.compute(node, record, key, inputs))
    }

    /// The output of `node` for a clip under `key`: from the store, or computed from its inputs' stored records and stored.
    fn compute(&self, node: usize, clip: &str, key: &Key, inputs: &[Key]) -> Outcome {
        let plan = self
            .plan
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let clip: Clip = serde_json::from_str(clip).expect("clips are JSON we wrote");
        let fail = |cause: String| {
            self.tally(|(nodes, errors)| {
                nodes.entry(node).or_default().failed += 1;
                errors.push(ItemError {
                    clip: clip.id.clone(),
                    operator: plan.nodes[node].id.clone(),
                    cause: cause.clone(),
                });
            });
            Err(cause)
        };
        match self.store.get(key) {
            Ok(Some(stored)) => {
                self.tally(|(nodes, _)| nodes.entry(node).or_default().cached += 1);
                return Ok(stored.digest());
            }
            Ok(None) => {}
            Err(e) => return fail(format!("store: {e}")),
        }
        let mut records = Vec::with_capacity(inputs.len());
        for input in inputs {
            match self.store.get(input) {
                Ok(Some(stored)) => records.push(stored.record),
                Ok(None) => return fail("an input is missing from the store".into()),
                Err(e) => return fail(format!("store: {e}")),
            }
        }
        let Runtime::Record(op) = &plan.nodes[node].runtime else {
            unreachable!("the graph computes record nodes only")
        };
        let (result, _, calls) = run_record_node(
            op.as_ref(),
            &clip,
            &records.iter().collect::<Vec<_>>(),
            &self.cache_dir,
        );
        self.tally(|(nodes, _)| nodes.entry(node).or_default().calls.merge(&calls));
        match result.and_then(|output| {
            self.store
                .put_many(&[(*key, plan.nodes[node].origin(), &output)])
                .map_err(|e| format!("store: {e}"))
        }) {
            Ok(stored) => {
                self.tally(|(nodes, _)| nodes.entry(node).or_default().computed += 1);
                Ok(stored[0].digest())
            }
            Err(cause) => fail(cause),
        }
    }
}

/// The graph's inputs, as worker 0 holds them.
struct Inputs {
    clips: InputSession<u64, (String, String), isize>,
    frames: InputSession<u64, (String, (u32, Key)), isize>,
    configs: InputSession<u64, (u32, Key), isize>,
}

impl Inputs {
    /// Closes the epoch before `epoch` on every input and sends what is buffered.
    fn advance(&mut self, epoch: u64) {
        self.clips.advance_to(epoch);
        self.frames.advance_to(epoch);
        self.configs.advance_to(epoch);
        self.clips.flush();
        self.frames.flush();
        self.configs.flush();
    }
}

/// Builds the record-level graph of `plan` in `worker`.
fn build(worker: &mut Worker, plan: &Plan, shared: &Arc<Shared>) -> (Inputs, ProbeHandle<u64>) {
    worker.dataflow::<u64, _, _>(|scope| {
        let (clips_in, clips) = scope.new_collection::<(String, String), isize>();
        let (frames_in, frames) = scope.new_collection::<(String, (u32, Key)), isize>();
        let (configs_in, configs) = scope.new_collection::<(u32, Key), isize>();
        let probe = ProbeHandle::new();
        // (clip, output key) of every record node's successful outputs.
        let mut done: BTreeMap<usize, VecCollection<'_, u64, (String, Key)>> = BTreeMap::new();
        for (n, node) in plan.nodes.iter().enumerate() {
            if !matches!(node.runtime, Runtime::Record(_)) {
                continue;
            }
            let input = |j: usize| match done.get(&j) {
                Some(outputs) => outputs.clone(),
                None => frames
                    .clone()
                    .filter(move |(_, (m, _))| *m as usize == j)
                    .map(|(clip, (_, key))| (clip, key)),
            };
            let mut joined = input(node.inputs[0]).map(|(clip, key)| (clip, vec![key]));
            for &j in &node.inputs[1..] {
                joined = joined.join(input(j)).map(|(clip, (mut keys, key))| {
                    keys.push(key);
                    (clip, keys)
                });
            }
            let fingerprint = configs
                .clone()
                .filter(move |(m, _)| *m as usize == n)
                .map(|(_, fp)| ((), fp));
            // Consolidated, so an update that cancels within a revision never reaches the pool.
            let keyed = joined
                .map(|(clip, keys)| ((), (clip, keys)))
                .join(fingerprint)
                .map(|((), ((clip, keys), fp))| (clip, (output_key(&fp, &keys), keys)))
                .join(clips.clone())
                .map(|(clip, ((key, keys), record))| (clip, (key, keys, record)))
                .consolidate();
            let compute = shared.clone();
            let outcomes = pooled_map(
                keyed.inner,
                &node.id,
                RECORD_THREADS,
                |((clip, _), _, _): &Update| route(clip),
                move |((clip, (key, keys, record)), time, diff): Update| {
                    let outcome = compute.outcome(n, &clip, &record, &key, &keys, diff);
                    ((clip, (key, outcome)), time, diff)
                },
            )
            .as_collection();
            let count = shared.clone();
            outcomes
                .clone()
                .flat_map(|(clip, (_, outcome))| outcome.ok().map(|digest| (clip, digest)))
                .consolidate()
                .inspect(move |(_, _, diff)| {
                    count.tally(|(nodes, _)| {
                        let changes = nodes.entry(n).or_default();
                        match *diff > 0 {
                            true => changes.added += *diff as u64,
                            false => changes.retracted += diff.unsigned_abs() as u64,
                        }
                    })
                })
                .probe_with(&probe);
            done.insert(
                n,
                outcomes.flat_map(|(clip, (key, outcome))| outcome.ok().map(|_| (clip, key))),
            );
        }
        (
            Inputs {
                clips: clips_in,
                frames: frames_in,
                configs: configs_in,
            },
            probe,
        )
    })
}

/// Worker 0's handle on the graph: each [`Revisions::apply`] is one revision.
pub struct Revisions<'w> {
    worker: &'w mut Worker,
    inputs: Inputs,
    probe: ProbeHandle<u64>,
    shared: Arc<Shared>,
    facts: Facts,
    epoch: u64,
}

impl Revisions<'_> {
    /// Brings the graph to `plan` over `prepared`'s clips (frame-level outputs
    /// must already be in the store) and returns what changed.
    pub fn apply(&mut self, plan: Arc<Plan>, prepared: &Prepared) -> Changes {
        let facts = Facts::of(&plan, prepared);
        *self
            .shared
            .plan
            .write()
            .unwrap_or_else(PoisonError::into_inner) = plan.clone();
        update(&mut self.inputs.clips, &self.facts.clips, &facts.clips);
        update(&mut self.inputs.frames, &self.facts.frames, &facts.frames);
        update(
            &mut self.inputs.configs,
            &self.facts.configs,
            &facts.configs,
        );
        self.facts = facts;
        self.epoch += 1;
        self.inputs.advance(self.epoch);
        let epoch = self.epoch;
        let probe = &self.probe;
        self.worker.step_while(|| probe.less_than(&epoch));
        let (mut nodes, errors) = self.shared.tally(std::mem::take);
        let nodes = plan
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n.runtime, Runtime::Record(_)))
            .map(|(i, n)| (n.id.clone(), nodes.remove(&i).unwrap_or_default()))
            .collect();
        Changes { nodes, errors }
    }
}

/// Sends the difference between two sets as updates.
fn update<D: differential_dataflow::ExchangeData + Ord + Clone>(
    input: &mut InputSession<u64, D, isize>,
    before: &BTreeSet<D>,
    after: &BTreeSet<D>,
) {
    for gone in before.difference(after) {
        input.remove(gone.clone());
    }
    for new in after.difference(before) {
        input.insert(new.clone());
    }
}

/// Runs the record-level graph of `plan`'s shape on `workers` threads;
/// `drive` runs on worker 0 and applies revisions until it returns. The
/// other workers compute their share of every revision.
pub fn run_incremental<R, D>(
    plan: Arc<Plan>,
    workers: usize,
    store: Arc<Store>,
    drive: D,
) -> Result<R, RunError>
where
    R: Send + 'static,
    D: FnOnce(&mut Revisions<'_>) -> R + Send + 'static,
{
    let cache_dir = plan.spec.defaults.store.join("requests");
    let shared = Arc::new(Shared {
        plan: RwLock::new(plan),
        store,
        cache_dir,
        tally: Mutex::default(),
        memo: Mutex::default(),
    });
    let drive = Mutex::new(Some(drive));
    let config = timely::Config::process(workers.max(1));
    let guards = timely::execute(config, move |worker| {
        let plan = shared
            .plan
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let (inputs, probe) = build(worker, &plan, &shared);
        let drive = match worker.index() {
            0 => drive.lock().unwrap_or_else(PoisonError::into_inner).take(),
            _ => None,
        };
        // Only worker 0 feeds the inputs; the others close theirs at once, so
        // the graph ends when worker 0 closes its own.
        let result = match drive {
            Some(drive) => {
                let facts = Facts::default();
                let mut revisions = Revisions {
                    worker: &mut *worker,
                    inputs,
                    probe: probe.clone(),
                    shared: shared.clone(),
                    facts,
                    epoch: 0,
                };
                Some(drive(&mut revisions))
            }
            None => {
                drop(inputs);
                None
            }
        };
        while !probe.done() {
            worker.step_or_park(None);
        }
        result
    })
    .map_err(RunError::Dataflow)?;
    let mut result = None;
    for outcome in guards.join() {
        match outcome {
            Ok(Some(r)) => result = Some(r),
            Ok(None) => {}
            Err(e) => return Err(RunError::Dataflow(format!("a worker failed: {e}"))),
        }
    }
    Ok(result.expect("worker 0 drives the graph"))
}
