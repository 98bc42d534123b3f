//! Keeping a spec's outputs up to date while its files are edited (`maflow watch`).
//!
//! The record level (captions, descriptions, QA, answers, judgements) is a
//! differential dataflow that stays alive between revisions
//! ([`run_incremental`]); the spec's parameters and prompt files enter it as
//! an input collection of node fingerprints, so an edit is an update and only
//! the outputs it touches are computed.
//!
//! Every `poll` seconds the spec is compiled again (which digests the prompt
//! templates and the folders it reads) and every clip's output keys are
//! derived; when any key differs from the last revision, a revision runs:
//! frame stages whose outputs are missing are computed by the batch engine,
//! the graph takes the new inputs, and a run over the now complete store
//! rewrites the sinks atomically. A spec with mistakes is reported once and
//! the last good outputs stay until it is fixed; an edit that changes the
//! graph's shape (nodes, edges, store) rebuilds it. What happens is told to
//! the caller as [`WatchEvent`]s; the engine prints nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{
    Changes, Prepared, Revisions, RunOptions, RunScope, Shape, Topology, prepare, run_incremental,
    run_with,
};
use crate::graph::{Plan, compile};
use crate::progress::ProgressMode;
use crate::registry::Registry;
use crate::spec;
use crate::store::Store;

/// (operator, clip) → output key.
type Keys = BTreeMap<(String, String), [u8; 32]>;

/// What to watch and how.
#[derive(Clone, Debug)]
pub struct WatchOptions {
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

impl WatchOptions {
    /// `workers`, or else the spec's own worker count.
    fn workers_for(&self, plan: &Plan) -> usize {
        self.workers.unwrap_or(plan.spec.defaults.workers).max(1)
    }
}

/// What a revision did.
#[derive(Debug)]
pub struct RevisionReport {
    /// Its number, from 1.
    pub revision: usize,
    /// Outputs computed, frame stages and record level together.
    pub computed: u64,
    /// Item errors of the run that wrote the sinks.
    pub errors: usize,
    /// The output folder.
    pub out_dir: PathBuf,
    /// Per record operator: items retracted and added.
    pub changes: Changes,
}

/// What the watcher tells its caller.
#[derive(Debug)]
pub enum WatchEvent<'a> {
    /// The spec cannot be compiled (told once per distinct mistake); `outputs_kept`
    /// says whether outputs of an earlier revision stay meanwhile.
    SpecError {
        /// The rendered diagnostics.
        rendered: &'a str,
        /// Whether a revision has run already.
        outputs_kept: bool,
    },
    /// The spec's graph changed shape and is built again.
    Reshaped,
    /// A revision ran.
    Revision(&'a RevisionReport),
}

/// Reports watch events; called from a worker thread.
pub type WatchListener = Arc<dyn Fn(WatchEvent<'_>) + Send + Sync>;

/// Why a graph's driver returned.
enum Next {
    /// The spec took another shape: build a graph for this plan.
    Reshape(Box<Plan>),
    /// Done.
    Exit(Result<(), String>),
}

/// Watches until `revisions` revisions have run (or forever); `Err` when the store or a run fails.
pub fn watch(
    options: &WatchOptions,
    registry: &'static Registry,
    listener: WatchListener,
) -> Result<(), String> {
    let mut plan = wait_for_valid_spec(options, registry, &listener);
    let mut revision = 0;
    loop {
        let store = Arc::new(Store::open(&plan.spec.defaults.store).map_err(|e| e.to_string())?);
        let workers = options.workers_for(&plan);
        let graph_plan = Arc::new(plan);
        let first = graph_plan.clone();
        let driver_store = store.clone();
        let (settings, listener_here) = (options.clone(), listener.clone());
        let outcome = run_incremental(graph_plan, workers, store, move |graph| {
            let driver = Driver {
                options: &settings,
                registry,
                store: &driver_store,
                listener: &listener_here,
            };
            driver.drive(graph, first, revision)
        })
        .map_err(|e| e.to_string())?;
        match outcome {
            (Next::Reshape(next), revisions) => {
                listener(WatchEvent::Reshaped);
                plan = *next;
                revision = revisions;
            }
            (Next::Exit(result), _) => return result,
        }
    }
}

/// What worker 0's revision loop works with.
struct Driver<'a> {
    options: &'a WatchOptions,
    registry: &'static Registry,
    store: &'a Store,
    listener: &'a WatchListener,
}

impl Driver<'_> {
    /// Worker 0's loop: a revision whenever the keys change, until the shape changes or the revisions are done.
    fn drive(
        &self,
        graph: &mut Revisions<'_>,
        first: Arc<Plan>,
        mut revision: usize,
    ) -> (Next, usize) {
        let mut last_keys: Option<Keys> = None;
        let mut last_error = String::new();
        let shape = Shape::of(&first);
        let workers = self.options.workers_for(&first);
        let mut pending = match prepare(&first, Some(self.store)) {
            Ok(prepared) => Some((first, prepared)),
            Err(e) => return (Next::Exit(Err(e.to_string())), revision),
        };
        loop {
            if let Some((plan, prepared)) = pending.take() {
                let keys = keys(&plan, &prepared);
                revision += 1;
                if let Err(e) = self.run_revision(graph, &plan, prepared, workers, revision) {
                    return (Next::Exit(Err(e)), revision);
                }
                last_keys = Some(keys);
                if self.options.revisions.is_some_and(|n| revision >= n) {
                    return (Next::Exit(Ok(())), revision);
                }
            }
            std::thread::sleep(Duration::from_secs_f64(self.options.poll));
            let compiled = compile_spec(&self.options.spec, &self.options.set, self.registry)
                .and_then(|plan| {
                    prepare(&plan, Some(self.store))
                        .map(|prepared| (plan, prepared))
                        .map_err(|e| e.to_string())
                });
            match compiled {
                Err(rendered) => {
                    if rendered != last_error {
                        (self.listener)(WatchEvent::SpecError {
                            rendered: &rendered,
                            outputs_kept: true,
                        });
                        last_error = rendered;
                    }
                }
                Ok((plan, prepared)) => {
                    last_error.clear();
                    if Shape::of(&plan) != shape || self.options.workers_for(&plan) != workers {
                        return (Next::Reshape(Box::new(plan)), revision);
                    }
                    if last_keys.as_ref() != Some(&keys(&plan, &prepared)) {
                        pending = Some((Arc::new(plan), prepared));
                    }
                }
            }
        }
    }

    /// One revision: missing frame stages, then the graph, then the sinks.
    fn run_revision(
        &self,
        graph: &mut Revisions<'_>,
        plan: &Arc<Plan>,
        mut prepared: Prepared,
        workers: usize,
        revision: usize,
    ) -> Result<(), String> {
        let options = |scope| RunOptions {
            topology: Topology::Local { workers },
            progress: ProgressMode::Quiet,
            scope,
        };
        let err = |e: &dyn std::fmt::Display| e.to_string();
        let mut computed = 0;
        let frames_missing = prepared.clips.iter().any(|clip| {
            plan.nodes
                .iter()
                .zip(&clip.cached)
                .zip(&clip.keys)
                .any(|((node, cached), key)| {
                    key.is_some() && !cached && !node.runtime.is_record_level()
                })
        });
        if frames_missing {
            let summary = run_with(
                plan.clone(),
                &options(RunScope::FrameStages),
                Some(self.store),
            )
            .map_err(|e| err(&e))?;
            computed += summary.map_or(0, |s| s.stats.iter().map(|(_, n)| n.computed).sum::<u64>());
            prepared = prepare(plan, Some(self.store)).map_err(|e| err(&e))?;
        }
        let changes = graph.apply(plan.clone(), &prepared);
        computed += changes.nodes.iter().map(|(_, c)| c.computed).sum::<u64>();
        // Everything is in the store now but what failed (tried once more here): this writes the sinks.
        let summary = run_with(
            plan.clone(),
            &options(RunScope::Everything),
            Some(self.store),
        )
        .map_err(|e| err(&e))?
        .expect("a local run is its own coordinator");
        computed += summary.stats.iter().map(|(_, n)| n.computed).sum::<u64>();
        let report = RevisionReport {
            revision,
            computed,
            errors: summary.errors.len(),
            out_dir: summary.out_dir,
            changes,
        };
        (self.listener)(WatchEvent::Revision(&report));
        Ok(())
    }
}

/// Compiles the spec, or renders why it cannot be.
fn compile_spec(path: &Path, set: &[String], registry: &'static Registry) -> Result<Plan, String> {
    let spec = spec::load(path, set).map_err(|e| e.render())?;
    let mut plan = compile(spec, registry).map_err(|e| e.render())?;
    let unresolved = plan.unresolved();
    if !unresolved.is_empty() {
        return Err(unresolved
            .iter()
            .map(|d| d.render(&plan.spec.sources) + "\n")
            .collect());
    }
    plan.ask_services();
    Ok(plan)
}

/// Compiles the spec until it is valid, reporting each new mistake once.
fn wait_for_valid_spec(
    options: &WatchOptions,
    registry: &'static Registry,
    listener: &WatchListener,
) -> Plan {
    let mut last_error = String::new();
    loop {
        match compile_spec(&options.spec, &options.set, registry) {
            Ok(plan) => return plan,
            Err(rendered) => {
                if rendered != last_error {
                    listener(WatchEvent::SpecError {
                        rendered: &rendered,
                        outputs_kept: false,
                    });
                    last_error = rendered;
                }
            }
        }
        std::thread::sleep(Duration::from_secs_f64(options.poll));
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
