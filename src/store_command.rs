//! `maflow store du|gc|verify`: what a store holds, keeping only what given
//! specs reach, and checking every blob ([`maflow_engine::store::upkeep`]).
//! Each spec may be followed by its own `--set` overrides; the store is
//! `--store` or the first spec's `defaults.store`.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use maflow_engine::exec;
use maflow_engine::store::upkeep::{self, Holding};
use maflow_engine::store::{Key, Store};

use crate::SpecArgs;
use crate::stdout::outln;

/// What a store command is asked to do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Entries and bytes per operator kind and version, and what the specs reach.
    Du,
    /// Keep what the specs reach, remove the rest.
    Gc,
    /// Check every blob against its hash.
    Verify,
}

/// The command line after the action: specs each with their `--set`s, `--store`, `--dry-run`.
struct Request {
    specs: Vec<SpecArgs>,
    store: Option<PathBuf>,
    dry_run: bool,
}

fn parse(args: &[String], action: Action) -> Result<Request, String> {
    let mut request = Request {
        specs: Vec::new(),
        store: None,
        dry_run: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag {
            "--set" => {
                let set = value("--set")?;
                let Some(spec) = request.specs.last_mut() else {
                    return Err(format!(
                        "`--set {set}` comes before any spec: write it after the spec it changes"
                    ));
                };
                spec.set.push(set);
            }
            "--store" => request.store = Some(PathBuf::from(value("--store")?)),
            "--dry-run" if action == Action::Gc => request.dry_run = true,
            flag if flag.starts_with('-') => {
                let known = match action {
                    Action::Gc => "--set, --store, --dry-run",
                    _ => "--set, --store",
                };
                return Err(format!("unknown option `{flag}` (known: {known})"));
            }
            spec => request.specs.push(SpecArgs {
                spec: PathBuf::from(spec),
                set: Vec::new(),
            }),
        }
    }
    if action == Action::Gc && request.specs.is_empty() {
        return Err("gc keeps what the given specs reach: name at least one spec".into());
    }
    Ok(request)
}

/// Runs `maflow store <action> ARGS…`.
pub fn run(action: Action, args: &[String]) -> ExitCode {
    match execute(action, args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

fn execute(action: Action, args: &[String]) -> Result<ExitCode, String> {
    let request = parse(args, action)?;
    let mut plans = Vec::new();
    for spec in &request.specs {
        let mut plan = crate::load_resolved(spec).map_err(|_| {
            format!(
                "{} cannot be loaded (see above); the store is untouched",
                spec.spec.display()
            )
        })?;
        plan.ask_services();
        plans.push((label(spec), plan));
    }
    let dir = match (&request.store, plans.first()) {
        (Some(dir), _) => dir.clone(),
        (None, Some((_, plan))) => plan.spec.defaults.store.clone(),
        (None, None) => return Err("name a spec or `--store DIR`".into()),
    };
    if !dir.join("index.redb").is_file() {
        return Err(format!("there is no store at {}", dir.display()));
    }
    // Opened for writing throughout: a run cannot start meanwhile, nor can this start during one.
    let store = Store::open(&dir).map_err(|e| e.to_string())?;
    let mut reach = Vec::new();
    for (label, plan) in &plans {
        reach.push(
            exec::reached_keys(plan, &store)
                .map_err(|e| format!("{label}: {e}; the store is untouched"))?,
        );
    }
    let labels: Vec<&str> = plans.iter().map(|(l, _)| l.as_str()).collect();
    let mut progress = Progress::new();
    match action {
        Action::Du => du(&store, &labels, &reach),
        Action::Gc => gc(&store, &labels, &reach, request.dry_run, &mut progress),
        Action::Verify => verify(&store, &mut progress),
    }
    .map_err(|e| e.to_string())
}

/// A spec as the output names it: its path and its `--set` values.
fn label(spec: &SpecArgs) -> String {
    let mut label = spec.spec.display().to_string();
    for set in &spec.set {
        label.push_str(&format!(" --set {set}"));
    }
    label
}

fn du(
    store: &Store,
    labels: &[&str],
    reach: &[HashSet<Key>],
) -> Result<ExitCode, maflow_engine::store::StoreError> {
    let usage = upkeep::usage(store, reach)?;
    outln!(
        "store {}: {} entries, {}",
        store.root().display(),
        usage.total.0.entries,
        bytes(usage.total.0.bytes)
    );
    outln!(
        "  on disk: index {}, {} blob files {} ({} referenced by no entry, {}), request cache {} files {}",
        bytes(usage.index_bytes),
        usage.blob_files.entries,
        bytes(usage.blob_files.bytes),
        usage.unreferenced_blob_files.entries,
        bytes(usage.unreferenced_blob_files.bytes),
        usage.requests.entries,
        bytes(usage.requests.bytes)
    );
    let mut header = format!("\n{:<34} {:>9} {:>11}", "made by", "entries", "bytes");
    for k in 0..labels.len() {
        header.push_str(&format!(" {:>22}", format!("reached by [{}]", k + 1)));
    }
    outln!("{header}");
    let row = |name: &str, all: &Holding, reached: &[Holding]| {
        let mut line = format!("{name:<34} {:>9} {:>11}", all.entries, bytes(all.bytes));
        for r in reached {
            line.push_str(&format!(
                " {:>22}",
                format!("{} · {}", r.entries, bytes(r.bytes))
            ));
        }
        line
    };
    for (origin, (all, reached)) in &usage.groups {
        outln!("{}", row(origin, all, reached));
    }
    outln!("{}", row("total", &usage.total.0, &usage.total.1));
    if !labels.is_empty() {
        outln!();
        for (k, label) in labels.iter().enumerate() {
            let r = usage.total.1[k];
            outln!(
                "[{}] {label}: reaches {} entries, {}",
                k + 1,
                r.entries,
                bytes(r.bytes)
            );
        }
        let all: HashSet<Key> = reach.iter().flatten().copied().collect();
        let together = upkeep::usage(store, std::slice::from_ref(&all))?.total.1[0];
        outln!(
            "together they reach {} entries, {}; `maflow store gc` with them would remove {} entries, {}",
            together.entries,
            bytes(together.bytes),
            usage.total.0.entries - together.entries,
            bytes(usage.total.0.bytes - together.bytes)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn gc(
    store: &Store,
    labels: &[&str],
    reach: &[HashSet<Key>],
    dry_run: bool,
    progress: &mut Progress,
) -> Result<ExitCode, maflow_engine::store::StoreError> {
    let keep: HashSet<Key> = reach.iter().flatten().copied().collect();
    outln!(
        "gc: keeping what these specs reach in {}:",
        store.root().display()
    );
    for label in labels {
        outln!("  {label}");
    }
    let collected = upkeep::collect(store, &keep, dry_run, &mut |step, done, total| {
        progress.show(step, done, total)
    })?;
    progress.finish();
    let (removed, deleted) = if dry_run {
        ("would remove", "would delete")
    } else {
        ("removed", "deleted")
    };
    let all = collected
        .removed
        .values()
        .fold(Holding::default(), |a, h| Holding {
            entries: a.entries + h.entries,
            bytes: a.bytes + h.bytes,
        });
    outln!("{removed} {} entries, {}:", all.entries, bytes(all.bytes));
    for (origin, h) in &collected.removed {
        outln!("  {origin:<34} {:>9} {:>11}", h.entries, bytes(h.bytes));
    }
    outln!(
        "{deleted} {} blob files, {}; kept {} entries, {}",
        collected.blob_files.entries,
        bytes(collected.blob_files.bytes),
        collected.kept.entries,
        bytes(collected.kept.bytes)
    );
    Ok(ExitCode::SUCCESS)
}

fn verify(
    store: &Store,
    progress: &mut Progress,
) -> Result<ExitCode, maflow_engine::store::StoreError> {
    let entries = store.len()?;
    let findings = upkeep::verify(store, &mut |step, done, total| {
        progress.show(step, done, total)
    })?;
    progress.finish();
    for f in &findings {
        outln!(
            "dropped {} {}: {}",
            f.origin,
            &blake3::Hash::from_bytes(f.key).to_hex()[..16],
            f.cause
        );
    }
    if findings.is_empty() {
        outln!(
            "verify: {entries} entries in {}, every blob matches its hash",
            store.root().display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        outln!(
            "verify: {} of {entries} entries had a corrupt or missing blob and were dropped; the next run computes them again",
            findings.len()
        );
        Ok(ExitCode::from(2))
    }
}

/// Bytes for people: B, KiB, MiB, GiB.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Progress of a long step on stderr: rewritten in place on a terminal, a line every few seconds elsewhere.
struct Progress {
    terminal: bool,
    last: Option<Instant>,
    shown: bool,
}

impl Progress {
    fn new() -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
            last: None,
            shown: false,
        }
    }

    fn show(&mut self, step: &str, done: u64, total: u64) {
        let every = if self.terminal {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(5)
        };
        if done < total && self.last.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        if self.last.is_none() && done == total {
            return; // a step done before the first report needs none
        }
        self.last = Some(Instant::now());
        if self.terminal {
            eprint!("\r{step}: {done}/{total}   ");
            self.shown = true;
        } else {
            eprintln!("{step}: {done}/{total}");
        }
    }

    fn finish(&mut self) {
        if self.shown {
            eprintln!();
        }
    }
}
