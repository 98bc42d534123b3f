//! `maflow watch`'s output: what the engine's watcher reports, printed.

use std::process::ExitCode;
use std::sync::Arc;

use maflow_engine::exec::{Changes, WatchEvent, WatchOptions, watch};
use maflow_operators::registry;

/// Watches until interrupted (or until `--revisions` revisions have run), printing each event.
pub fn run(options: &WatchOptions) -> ExitCode {
    match watch(options, registry(), Arc::new(print_event)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn print_event(event: WatchEvent<'_>) {
    match event {
        WatchEvent::SpecError {
            rendered,
            outputs_kept,
        } => {
            eprint!("{rendered}");
            match outputs_kept {
                true => eprintln!("watch: waiting for the spec to be fixed; the last outputs stay"),
                false => eprintln!("watch: waiting for the spec to be fixed"),
            }
        }
        WatchEvent::Reshaped => {
            eprintln!(
                "watch: the spec's graph changed shape; building it again (its first revision lists every output as added)"
            )
        }
        WatchEvent::Revision(report) => {
            eprintln!(
                "revision {}: {} computed, {} error(s); outputs in {}",
                report.revision,
                report.computed,
                report.errors,
                report.out_dir.display()
            );
            print_changes(&report.changes);
        }
    }
}

/// Per record operator: the items retracted and added, and how many were computed.
fn print_changes(changes: &Changes) {
    for (node, c) in &changes.nodes {
        if c.retracted + c.added + c.computed + c.failed == 0 {
            continue;
        }
        let mut line = format!("  {node}: -{} +{}", c.retracted, c.added);
        line.push_str(&format!(
            " ({} computed, {} from the store",
            c.computed, c.cached
        ));
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
