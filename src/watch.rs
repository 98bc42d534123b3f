//! `maflow watch`: keeps a spec's outputs up to date while its files are
//! edited. The record level (captions, descriptions, QA, answers,
//! judgements) is a differential dataflow that stays alive between
//! revisions ([`run_incremental`]); the spec's parameters and prompt files
//! enter it as an input collection of node fingerprints, so an edit is an
//! update and only the outputs it touches are computed.
//!
//! Every `poll` seconds the spec is compiled again (which digests the prompt
//! templates and the folders it reads) and every clip's output keys are
//! derived; when any key differs from the last revision, a revision runs:
//! frame stages whose outputs are missing are computed by the batch engine,
//! the graph takes the new inputs, and a run over the now complete store
//! rewrites the sinks atomically. Each revision prints, per operator, the
//! items retracted and added (an item whose content changed counts once in
//! each). A spec with mistakes is reported once and the last good outputs
//! stay until it is fixed; an edit that changes the graph's shape (nodes,
//! edges, store) rebuilds it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use maflow_engine::exec::{self, Changes, Prepared, Revisions, RunOptions, RunScope, Shape, Topology, prepare, run_incremental};
use maflow_engine::graph::{Plan, compile};
use maflow_engine::progress::ProgressMode;
use maflow_engine::registry::Runtime;
use maflow_engine::spec;
use maflow_engine::store::Store;
use maflow_operators::registry;

/// (operator, clip) → output key.
type Keys = BTreeMap<(String, String), [u8; 32]>;

/// What to watch and how.
pub struct Watch {
    /// The spec.
    pub spec: PathBuf,
    /// `--set` overrides.
    pub set: Vec<String>,
    /// Worker threads (default: the spec's).
    pub workers: Option<usize>,
    /// Seconds between checks.
    pub poll: f64,
    /// Stop after this many revisions (for scripts and tests).
    pub revisions: Option<usize>,
}

/// Why a graph's driver returned.
enum Next {
    /// The spec took another shape: build a graph for this plan.
    Reshape(Box<Plan>),
    /// Done, with this exit code.
    Exit(u8),
}

/// Runs until interrupted (or until `revisions` revisions have run).
pub fn watch(w: &Watch) -> ExitCode {
    let mut plan = wait_for_valid_spec(w);
    let mut revision = 0;
    loop {
        let store = match Store::open(&plan.spec.defaults.store) {
            Ok(store) => Arc::new(store),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        };
        let settings = Settings { spec: w.spec.clone(), set: w.set.clone(), workers: w.workers, poll: w.poll, revisions: w.revisions };
        let workers = settings.workers_for(&plan);
        let graph_plan = Arc::new(plan);
        let driver_store = store.clone();
        let first = graph_plan.clone();
        let outcome =
            run_incremental(graph_plan, workers, store, move |graph| drive(graph, &settings, &driver_store, first, revision));
        match outcome {
            Ok((Next::Reshape(next), revisions)) => {
                eprintln!("watch: the spec's graph changed shape; building it again (its first revision lists every output as added)");
                plan = *next;
                revision = revisions;
            }
            Ok((Next::Exit(code), _)) => return ExitCode::from(code),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    }
}

/// What the driver needs of [`Watch`], owned (it runs on a worker thread).
struct Settings {
    spec: PathBuf,
    set: Vec<String>,
    workers: Option<usize>,
    poll: f64,
    revisions: Option<usize>,
}

/// Worker 0's loop: a revision whenever the keys change, until the shape changes or the revisions are done.
fn drive(graph: &mut Revisions<'_>, s: &Settings, store: &Store, first: Arc<Plan>, mut revision: usize) -> (Next, usize) {
    let mut last_keys: Option<Keys> = None;
    let mut last_error = String::new();
    let shape = Shape::of(&first);
    let workers = s.workers_for(&first);
    let mut pending = match prepare(&first, Some(store)) {
        Ok(prepared) => Some((first, prepared)),
        Err(e) => {
            eprintln!("error: {e}");
            return (Next::Exit(1), revision);
        }
    };
    loop {
        if let Some((plan, prepared)) = pending.take() {
            let keys = keys(&plan, &prepared);
            revision += 1;
            if let Err(e) = run_revision(graph, &plan, prepared, store, workers, revision) {
                eprintln!("error: {e}");
                return (Next::Exit(1), revision);
            }
            last_keys = Some(keys);
            if s.revisions.is_some_and(|n| revision >= n) {
                return (Next::Exit(0), revision);
            }
        }
        std::thread::sleep(Duration::from_secs_f64(s.poll));
        let compiled = compile_spec(&s.spec, &s.set)
            .and_then(|plan| prepare(&plan, Some(store)).map(|prepared| (plan, prepared)).map_err(|e| e.to_string()));
        match compiled {
            Err(rendered) => {
                if rendered != last_error {
                    eprint!("{rendered}");
                    eprintln!("watch: waiting for the spec to be fixed; the last outputs stay");
                    last_error = rendered;
                }
            }
            Ok((plan, prepared)) => {
                last_error.clear();
                if Shape::of(&plan) != shape || s.workers_for(&plan) != workers {
                    return (Next::Reshape(Box::new(plan)), revision);
                }
                if last_keys.as_ref() != Some(&keys(&plan, &prepared)) {
                    pending = Some((Arc::new(plan), prepared));
                }
            }
        }
    }
}

impl Settings {
    /// `-w`, or else the spec's own worker count.
    fn workers_for(&self, plan: &Plan) -> usize {
        self.workers.unwrap_or(plan.spec.defaults.workers).max(1)
    }
}

/// One revision: missing frame stages, then the graph, then the sinks.
fn run_revision(
    graph: &mut Revisions<'_>,
    plan: &Arc<Plan>,
    mut prepared: Prepared,
    store: &Store,
    workers: usize,
    revision: usize,
) -> Result<(), String> {
    let options = |scope| RunOptions { topology: Topology::Local { workers }, progress: ProgressMode::Quiet, scope };
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut computed = 0;
    let frames_missing = prepared.clips.iter().any(|clip| {
        plan.nodes.iter().zip(&clip.cached).zip(&clip.keys).any(|((node, cached), key)| {
            key.is_some() && !cached && !matches!(node.runtime, Runtime::Record(_) | Runtime::RecordSink(_))
        })
    });
    if frames_missing {
        let summary = exec::run_with(plan.clone(), &options(RunScope::FrameStages), Some(store)).map_err(|e| err(&e))?;
        computed += summary.map_or(0, |s| s.stats.iter().map(|(_, n)| n.computed).sum::<u64>());
        prepared = prepare(plan, Some(store)).map_err(|e| err(&e))?;
    }
    let changes = graph.apply(plan.clone(), &prepared);
    computed += changes.nodes.iter().map(|(_, c)| c.computed).sum::<u64>();
    // Everything is in the store now but what failed (tried once more here): this writes the sinks.
    let summary = exec::run_with(plan.clone(), &options(RunScope::Everything), Some(store))
        .map_err(|e| err(&e))?
        .expect("a local run is its own coordinator");
    computed += summary.stats.iter().map(|(_, n)| n.computed).sum::<u64>();
    eprintln!(
        "revision {revision}: {computed} computed, {} error(s); outputs in {}",
        summary.errors.len(),
        summary.out_dir.display()
    );
    report(&changes);
    Ok(())
}

/// Per record operator: the items retracted and added, and how many were computed.
fn report(changes: &Changes) {
    for (node, c) in &changes.nodes {
        if c.retracted + c.added + c.computed + c.failed == 0 {
            continue;
        }
        let mut line = format!("  {node}: -{} +{}", c.retracted, c.added);
        line.push_str(&format!(" ({} computed, {} from the store", c.computed, c.cached));
        if c.failed > 0 {
            line.push_str(&format!(", {} failed", c.failed));
        }
        line.push(')');
        eprintln!("{line}");
    }
    for e in &changes.errors {
        eprintln!("  error: {} at {}: {}", e.clip, e.operator, e.cause);
    }
}

/// Compiles the spec, or renders why it cannot be.
fn compile_spec(path: &std::path::Path, set: &[String]) -> Result<Plan, String> {
    let spec = spec::load(path, set).map_err(|e| e.render())?;
    compile(spec, registry()).map_err(|e| e.render())
}

/// Compiles the spec until it is valid, reporting each new mistake once.
fn wait_for_valid_spec(w: &Watch) -> Plan {
    let mut last_error = String::new();
    loop {
        match compile_spec(&w.spec, &w.set) {
            Ok(plan) => return plan,
            Err(rendered) => {
                if rendered != last_error {
                    eprint!("{rendered}");
                    eprintln!("watch: waiting for the spec to be fixed");
                    last_error = rendered;
                }
            }
        }
        std::thread::sleep(Duration::from_secs_f64(w.poll));
    }
}

/// Every clip's output key per operator, as the next run would derive them.
fn keys(plan: &Plan, prepared: &Prepared) -> Keys {
    let mut keys = Keys::new();
    for clip in &prepared.clips {
        for (node, key) in plan.nodes.iter().zip(&clip.keys) {
            if let Some(key) = key {
                keys.insert((node.id.clone(), clip.clip.id.clone()), *key);
            }
        }
    }
    keys
}
