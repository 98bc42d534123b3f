//! `maflow watch`: keeps a spec's outputs up to date while its files are
//! edited. Every `poll` seconds the spec is compiled again (which digests
//! the prompt templates and the folders it reads) and every clip's output
//! keys are derived; when any key differs from the last revision, the run
//! goes again. The store memoises every output, so only what the edit
//! touches is computed; sinks rewrite their files atomically. Each revision
//! prints, per operator, how many items were retracted and added (an item
//! whose content changed counts once in each). A spec with mistakes is
//! reported once and the last good outputs stay until it is fixed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use maflow_engine::exec::{self, RunOptions, Topology, prepare};
use maflow_engine::graph::{Plan, compile};
use maflow_engine::progress::ProgressMode;
use maflow_engine::spec;
use maflow_engine::store::Store;
use maflow_operators::registry;

/// (operator, clip) → output key.
type Keys = BTreeMap<(String, String), [u8; 32]>;
/// (operator, clip) → digest of the stored output (`None`: the item failed).
type Contents = BTreeMap<(String, String), Option<[u8; 32]>>;

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

/// Runs until interrupted (or until `revisions` revisions have run).
pub fn watch(w: &Watch) -> ExitCode {
    let mut last: Option<(Keys, Contents)> = None;
    let mut last_error = String::new();
    let mut revision = 0;
    loop {
        match compile_spec(w).and_then(|plan| keys(&plan).map(|k| (plan, k))) {
            Err(rendered) => {
                if rendered != last_error {
                    eprint!("{rendered}");
                    eprintln!("watch: waiting for the spec to be fixed; the last outputs stay");
                    last_error = rendered;
                }
            }
            Ok((plan, keys)) if last.as_ref().is_none_or(|(k, _)| *k != keys) => {
                last_error.clear();
                revision += 1;
                let workers = w.workers.unwrap_or(plan.spec.defaults.workers).max(1);
                let options = RunOptions { topology: Topology::Local { workers }, progress: ProgressMode::Quiet };
                let store_dir = plan.spec.defaults.store.clone();
                let summary = match exec::run(Arc::new(plan), &options) {
                    Ok(Some(summary)) => summary,
                    Ok(None) => unreachable!("a local run is its own coordinator"),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(1);
                    }
                };
                let contents = match contents(&store_dir, &keys, last.as_ref()) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(1);
                    }
                };
                let computed: u64 = summary.stats.iter().map(|(_, s)| s.computed).sum();
                eprintln!(
                    "revision {revision}: {computed} computed, {} error(s); outputs in {}",
                    summary.errors.len(),
                    summary.out_dir.display()
                );
                let empty = Contents::new();
                let before = last.as_ref().map_or(&empty, |(_, c)| c);
                for (node, _) in &summary.stats {
                    let (retracted, added) = changes(before, &contents, node);
                    if retracted + added > 0 {
                        eprintln!("  {node}: -{retracted} +{added}");
                    }
                }
                last = Some((keys, contents));
                if w.revisions.is_some_and(|n| revision >= n) {
                    return ExitCode::SUCCESS;
                }
            }
            Ok(_) => {}
        }
        std::thread::sleep(Duration::from_secs_f64(w.poll));
    }
}

fn compile_spec(w: &Watch) -> Result<Plan, String> {
    let spec = spec::load(&w.spec, &w.set).map_err(|e| e.render())?;
    compile(spec, registry()).map_err(|e| e.render())
}

/// Every clip's output key per operator, as the next run would derive them.
fn keys(plan: &Plan) -> Result<Keys, String> {
    let store = Store::open(&plan.spec.defaults.store).map_err(|e| e.to_string())?;
    let prepared = prepare(plan, Some(&store)).map_err(|e| e.to_string())?;
    let mut keys = Keys::new();
    for clip in &prepared.clips {
        for (node, key) in plan.nodes.iter().zip(&clip.keys) {
            if let Some(key) = key {
                keys.insert((node.id.clone(), clip.clip.id.clone()), *key);
            }
        }
    }
    Ok(keys)
}

/// Digests of the stored outputs; an item whose key did not change keeps its last digest.
fn contents(store_dir: &std::path::Path, keys: &Keys, last: Option<&(Keys, Contents)>) -> Result<Contents, String> {
    let store = Store::open(store_dir).map_err(|e| e.to_string())?;
    let mut contents = Contents::new();
    for (item, key) in keys {
        if let Some((old_keys, old)) = last
            && old_keys.get(item) == Some(key)
            && let Some(digest) = old.get(item)
        {
            contents.insert(item.clone(), *digest);
            continue;
        }
        let digest = store.get(key).map_err(|e| e.to_string())?.map(|stored| {
            let mut h = blake3::Hasher::new();
            h.update(stored.record.to_string().as_bytes());
            for blob in &stored.blobs {
                h.update(blob.ext.as_bytes());
                h.update(blob.hash.as_bytes());
            }
            *h.finalize().as_bytes()
        });
        contents.insert(item.clone(), digest);
    }
    Ok(contents)
}

/// Items of `node` retracted and added between two revisions.
fn changes(before: &Contents, after: &Contents, node: &str) -> (usize, usize) {
    let of = |c: &Contents| -> BTreeMap<String, [u8; 32]> {
        c.iter().filter(|((n, _), _)| n == node).filter_map(|((_, clip), d)| d.map(|d| (clip.clone(), d))).collect()
    };
    let (old, new) = (of(before), of(after));
    let retracted = old.iter().filter(|(clip, d)| new.get(*clip) != Some(*d)).count();
    let added = new.iter().filter(|(clip, d)| old.get(*clip) != Some(*d)).count();
    (retracted, added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_item_is_one_retraction_and_one_addition() {
        let item = |n: &str, c: &str| (n.to_string(), c.to_string());
        let before: Contents = [(item("qa", "a"), Some([1; 32])), (item("qa", "b"), Some([2; 32])), (item("qa", "c"), None)].into();
        let after: Contents = [(item("qa", "a"), Some([1; 32])), (item("qa", "b"), Some([3; 32])), (item("qa", "c"), Some([4; 32]))].into();
        // b changed (−1 +1), c was an error and now exists (+1), a is unchanged.
        assert_eq!(changes(&before, &after, "qa"), (1, 2));
        assert_eq!(changes(&before, &after, "captions"), (0, 0));
    }
}
