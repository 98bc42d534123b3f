//! The `maflow` command: parses arguments, calls the engine, shows results and
//! maps outcomes to exit codes (0 all items done, 2 finished with item
//! errors, 1 spec, usage or run error).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use maflow_engine::exec::{self, RunOptions, RunScope, Topology};
use maflow_engine::graph::{Plan, compile};
use maflow_engine::progress::ProgressMode;
use maflow_engine::spec;
use maflow_operators::registry;

mod stdout;
mod store_command;
mod watch;

use stdout::{out, outln};

/// Streaming dataflow engine that builds micro-action benchmarks from video.
#[derive(Parser)]
#[command(name = "maflow", version, about, long_about = None)]
struct Cli {
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a spec and report every mistake; runs nothing.
    Validate(SpecArgs),
    /// Print the graph and, per operator, how many items are cached and how many must run.
    Plan(SpecArgs),
    /// Run a spec.
    Run(RunArgs),
    /// Run a spec, then keep its outputs up to date as the spec, its prompts or its inputs change.
    Watch(WatchArgs),
    /// What the store holds, keeping only what given specs reach, and checking every blob.
    Store {
        #[command(subcommand)]
        action: StoreCommand,
    },
    /// List operator kinds with their documentation and an example config.
    Ops {
        /// Show only this kind.
        kind: Option<String>,
    },
    /// Optical flow (DIS) of one image pair, with its error against ground truth if given.
    Flow(FlowArgs),
    /// Render clips of a textured figure performing micro-actions, with their true skeleton and motion.
    Synth(SynthArgs),
    /// Set a run's items beside MA-Bench's published split and sample: option orders and letters,
    /// FMAR distractors, phrasings, questions naming a phase, yes share, reference length and register.
    CompareMaBench {
        /// The run's items (`bench.jsonl`).
        bench: PathBuf,
        /// The authors' starter kit (its `mabench_data.json` and `mabench_data_sample_100.json`).
        #[arg(long, default_value = "../shared/data/ma-bench/starter-kit")]
        kit: PathBuf,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Entries and bytes per operator kind and version, the total, and how much the given specs reach.
    Du(StoreArgs),
    /// Keep what the given specs reach (their outputs, pictures and what their output folders'
    /// sinks were last given) and remove the rest; refused while a run holds the store.
    Gc(StoreArgs),
    /// Check every entry's blobs against their hashes; drop the entries of corrupt or missing
    /// blobs so the next run computes them again (exit 2 when any).
    Verify(StoreArgs),
}

#[derive(Args)]
struct StoreArgs {
    /// Specs, each followed by its own overrides (`demo.yaml --set qa.params.seed=1 other.yaml`);
    /// `--store DIR` names the store (default: the first spec's `defaults.store`); gc takes
    /// `--dry-run` to say what it would remove and change nothing.
    #[arg(
        value_name = "SPEC [--set PATH=VALUE]… | --store DIR | --dry-run",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    args: Vec<String>,
}

#[derive(Args)]
struct SynthArgs {
    /// Output folder (MA-52 layout: videos/, list files, plus skeletons/ and truth/).
    #[arg(long)]
    out: PathBuf,
    /// Actions to render, comma-separated (default: all): nodding, shaking_head, turning_head,
    /// tilting_head, shrugging, shaking_legs, waving, touching_neck, crossing_arms.
    #[arg(long, value_delimiter = ',')]
    actions: Vec<String>,
    /// Clips per action.
    #[arg(long, default_value_t = 1)]
    per_action: usize,
    /// Seed of the drawn amplitudes, speeds, onsets and durations.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Frame size as a fraction of MA-52's 1080×1296.
    #[arg(long, default_value_t = 1.0)]
    scale: f32,
    /// x264 constant quality (0 = lossless).
    #[arg(long, default_value_t = 12)]
    crf: u32,
    /// Skip texturing and encoding: write skeletons, truth and truth descriptors only (for the language stages)
    #[arg(long)]
    no_video: bool,
    /// Amplitude of every clip (1 = typical; default: drawn in 0.7–1.3).
    #[arg(long)]
    amplitude: Option<f32>,
    /// Speed: cycles/s for repeated actions, 1/duration for one-way ones (default: drawn).
    #[arg(long)]
    speed: Option<f32>,
    /// Onset in seconds (default: drawn in 0.2–0.5).
    #[arg(long)]
    onset: Option<f32>,
    /// Clip length in seconds, 1 to 3 like MA-52 (default: drawn in 1.5–2.5).
    #[arg(long)]
    seconds: Option<f32>,
}

#[derive(Args)]
struct FlowArgs {
    /// First image (PNG).
    first: PathBuf,
    /// Second image (PNG), same size.
    second: PathBuf,
    /// Operating point: ultrafast, fast or medium.
    #[arg(long, default_value = "medium")]
    preset: maflow_kernels::flow::params::Preset,
    /// Where to compute: cpu, cuda (GPU 0; an error where there is none) or auto (cuda where it runs).
    #[arg(long, default_value = "cpu")]
    backend: maflow_kernels::flow::Backend,
    /// Write the flow as a Middlebury `.flo` file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Ground-truth `.flo`: prints the average endpoint error over pixels with known flow.
    #[arg(long)]
    gt: Option<PathBuf>,
    /// Write a colour-wheel picture of the flow (PNG).
    #[arg(long)]
    viz: Option<PathBuf>,
}

#[derive(Args)]
struct SpecArgs {
    /// The pipeline spec (YAML).
    spec: PathBuf,
    /// Override a spec value, e.g. `sources.clips.path=/data/ma52` or `decode.params.format=rgb`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
}

#[derive(Args)]
struct WatchArgs {
    #[command(flatten)]
    spec: SpecArgs,
    /// Worker threads (default: the spec's `defaults.workers`).
    #[arg(short, long)]
    workers: Option<usize>,
    /// Seconds between checks for changes.
    #[arg(long, default_value_t = 0.5)]
    poll: f64,
    /// Stop after this many revisions (default: run until interrupted).
    #[arg(long)]
    revisions: Option<usize>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    spec: SpecArgs,
    /// Worker threads per process (default: the spec's `defaults.workers`).
    #[arg(short, long)]
    workers: Option<usize>,
    /// Number of processes of a cluster run.
    #[arg(long, default_value_t = 1)]
    processes: usize,
    /// This process's index in a cluster run (0 writes the store and outputs).
    #[arg(long, default_value_t = 0)]
    process: usize,
    /// File with one `host:port` per process, in index order.
    #[arg(long)]
    hostfile: Option<PathBuf>,
    /// No progress display.
    #[arg(short, long)]
    quiet: bool,
}

/// The instruction sets this build was compiled for that the CPU lacks, checked
/// before any code that may use them runs.
fn cpu_supports_build() -> Result<(), &'static str> {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    if !std::arch::is_x86_feature_detected!("avx2") {
        return Err("AVX2");
    }
    Ok(())
}

fn main() -> ExitCode {
    if let Err(missing) = cpu_supports_build() {
        eprintln!(
            "error: this build of maflow needs a CPU with {missing} (x86-64-v3, see .cargo/config.toml); \
             rebuild for this machine with `RUSTFLAGS= cargo build --release`"
        );
        return ExitCode::from(1);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(cli.verbose);
    match cli.command {
        Command::Validate(args) => validate(&args),
        Command::Plan(args) => plan(&args),
        Command::Run(args) => run(&args),
        Command::Watch(args) => {
            if !(args.poll.is_finite() && args.poll > 0.0) {
                eprintln!("error: --poll must be a positive number of seconds");
                return ExitCode::from(1);
            }
            watch::run(&maflow_engine::exec::WatchOptions {
                spec: args.spec.spec,
                set: args.spec.set,
                workers: args.workers,
                poll: args.poll,
                revisions: args.revisions,
            })
        }
        Command::Store { action } => match action {
            StoreCommand::Du(a) => store_command::run(store_command::Action::Du, &a.args),
            StoreCommand::Gc(a) => store_command::run(store_command::Action::Gc, &a.args),
            StoreCommand::Verify(a) => store_command::run(store_command::Action::Verify, &a.args),
        },
        Command::Ops { kind } => ops(kind.as_deref()),
        Command::CompareMaBench { bench, kit } => {
            match maflow_operators::language::qa::shape::compare(&bench, &kit) {
                Ok(table) => {
                    outln!("{table}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Flow(args) => match flow(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
        Command::Synth(args) => match synth(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
    }
}

fn synth(args: &SynthArgs) -> Result<(), String> {
    use maflow_synth::{SynthOptions, actions::Action, generate};
    let actions = if args.actions.is_empty() {
        Action::ALL.to_vec()
    } else {
        let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
        args.actions
            .iter()
            .map(|a| {
                Action::from_name(a)
                    .ok_or_else(|| format!("unknown action `{a}` (known: {})", names.join(", ")))
            })
            .collect::<Result<_, _>>()?
    };
    if !(args.scale > 0.0 && args.scale <= 2.0) || args.per_action == 0 || args.crf > 51 {
        return Err("--scale must be in (0, 2], --per-action at least 1, --crf at most 51".into());
    }
    let positive = |v: Option<f32>| v.is_none_or(|v| v.is_finite() && v > 0.0);
    if !positive(args.amplitude)
        || !positive(args.speed)
        || args.onset.is_some_and(|o| !(0.0..3.0).contains(&o))
    {
        return Err("--amplitude and --speed must be positive, --onset in [0, 3) seconds".into());
    }
    if args.seconds.is_some_and(|s| !(1.0..=3.0).contains(&s)) {
        return Err("--seconds must be between 1 and 3 (MA-52 clips are 1–3 s)".into());
    }
    let options = SynthOptions {
        out: args.out.clone(),
        actions,
        per_action: args.per_action,
        seed: args.seed,
        scale: args.scale,
        crf: args.crf,
        video: !args.no_video,
        amplitude: args.amplitude,
        speed: args.speed,
        onset: args.onset,
        seconds: args.seconds,
    };
    let clips = generate(&options)?;
    for c in &clips {
        outln!(
            "{}  {:<14} {} frames  amplitude {:.2}  speed {:.2}  onset {:.2} s  dominant {}",
            c.id,
            c.performance.action.name(),
            c.frames,
            c.performance.amplitude,
            c.performance.speed,
            c.performance.onset,
            c.dominant.join(" = ")
        );
    }
    outln!("{} clips in {}", clips.len(), args.out.display());
    Ok(())
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour codes only where a person reads them: a log file or a pipe gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}

fn load(args: &SpecArgs) -> Result<Plan, ExitCode> {
    let spec = spec::load(&args.spec, &args.set).map_err(|e| {
        eprint!("{}", e.render());
        ExitCode::from(1)
    })?;
    compile(spec, registry()).map_err(|e| {
        eprint!("{}", e.render());
        ExitCode::from(1)
    })
}

/// Loads the spec for `plan` or `run`: what it refers to must resolve now.
fn load_resolved(args: &SpecArgs) -> Result<Plan, ExitCode> {
    let plan = load(args)?;
    let unresolved = plan.unresolved();
    if unresolved.is_empty() {
        return Ok(plan);
    }
    for diag in &unresolved {
        eprintln!("{}", diag.render(&plan.spec.sources));
    }
    eprintln!("{} unresolved reference(s): nothing ran", unresolved.len());
    Err(ExitCode::from(1))
}

fn validate(args: &SpecArgs) -> ExitCode {
    match load(args) {
        Ok(plan) => {
            for diag in plan.unresolved() {
                eprintln!("{}", diag.render_warning(&plan.spec.sources));
            }
            // What `run` would refuse before anything runs, `validate` refuses too.
            if let Err(e) = exec::check_sources(&plan) {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
            outln!(
                "{}: ok ({} nodes, {} frame stage{})",
                args.spec.display(),
                plan.nodes.len(),
                plan.stages.len(),
                if plan.stages.len() == 1 { "" } else { "s" }
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

fn plan(args: &SpecArgs) -> ExitCode {
    let mut plan = match load_resolved(args) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    plan.ask_services();
    outln!("spec {} ({})\n", plan.spec.name, &plan.spec.hash[..16]);
    out!("{}", plan.describe());
    let (counts, errors, notes) = match exec::plan_counts(&plan) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    outln!(
        "\n{:<20} {:>8} {:>8} {:>8}",
        "operator",
        "items",
        "cached",
        "to run"
    );
    for c in &counts {
        outln!(
            "{:<20} {:>8} {:>8} {:>8}",
            c.id,
            c.items,
            c.cached,
            c.to_run
        );
    }
    out!(
        "{}",
        maflow_operators::sinks::report::selection::markdown(&notes)
    );
    for (source, note) in &notes {
        if let Some(lines) = maflow_operators::sources::ma_bench_json::plan_lines(source, note) {
            out!("\n{lines}");
        }
    }
    if !errors.is_empty() {
        outln!("\n{} listed item(s) cannot be processed:", errors.len());
        for e in errors.iter().take(10) {
            outln!("  {} ({}): {}", e.clip, e.operator, e.cause);
        }
        if errors.len() > 10 {
            outln!("  … and {} more", errors.len() - 10);
        }
    }
    ExitCode::SUCCESS
}

fn topology(args: &RunArgs, spec_workers: usize) -> Result<Topology, String> {
    let workers = args.workers.unwrap_or(spec_workers);
    if workers == 0 {
        return Err("--workers must be at least 1".into());
    }
    if args.processes <= 1 && args.hostfile.is_none() {
        return Ok(Topology::Local { workers });
    }
    let hostfile = args
        .hostfile
        .as_ref()
        .ok_or("--processes > 1 needs --hostfile")?;
    let hosts = read_hostfile(hostfile)?;
    if hosts.len() != args.processes {
        return Err(format!(
            "--processes is {} but {} lists {} hosts",
            args.processes,
            hostfile.display(),
            hosts.len()
        ));
    }
    if args.process >= args.processes {
        return Err(format!(
            "--process {} is out of range for {} processes",
            args.process, args.processes
        ));
    }
    Ok(Topology::Cluster {
        workers,
        process: args.process,
        hosts,
    })
}

fn read_hostfile(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read hostfile {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect())
}

fn run(args: &RunArgs) -> ExitCode {
    let mut plan = match load_resolved(&args.spec) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    plan.ask_services();
    let topology = match topology(args, plan.spec.defaults.workers) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let progress = if args.quiet {
        ProgressMode::Quiet
    } else {
        ProgressMode::Auto
    };
    let options = RunOptions {
        topology,
        progress,
        scope: RunScope::Everything,
    };
    match exec::run(Arc::new(plan), &options) {
        Ok(Some(summary)) => {
            let computed: u64 = summary.stats.iter().map(|(_, s)| s.computed).sum();
            let cached: u64 = summary.stats.iter().map(|(_, s)| s.cached).sum();
            eprintln!(
                "done: {computed} computed, {cached} cached, {} error(s); outputs in {}",
                summary.errors.len(),
                summary.out_dir.display()
            );
            for e in summary.errors.iter().take(20) {
                eprintln!("  {} ({}): {}", e.clip, e.operator, e.cause);
            }
            if summary.errors.len() > 20 {
                eprintln!("  … see errors.jsonl for all {}", summary.errors.len());
            }
            ExitCode::from(if summary.errors.is_empty() { 0 } else { 2 })
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn ops(kind: Option<&str>) -> ExitCode {
    let reg = registry();
    let kinds: Vec<_> = match kind {
        Some(name) => match reg.get(name) {
            Some(k) => vec![k],
            None => {
                let names: Vec<&str> = reg.kinds().iter().map(|k| k.name).collect();
                let hint = maflow_engine::diagnostic::nearest(name, names.iter().copied())
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                eprintln!("error: unknown operator kind `{name}`{hint}");
                return ExitCode::from(1);
            }
        },
        None => reg.kinds().iter().collect(),
    };
    for k in kinds {
        let inputs: Vec<String> = k
            .inputs
            .iter()
            .map(|p| format!("{}{} ({})", p.name, if p.optional { "?" } else { "" }, p.ty))
            .collect();
        outln!("{} v{}  [{}]", k.name, k.version, k.section.key());
        for line in k.doc.lines() {
            outln!("    {}", line.trim());
        }
        if !inputs.is_empty() {
            outln!("  inputs: {}", inputs.join(", "));
        }
        if let Some(out) = k.output {
            outln!("  output: {out}");
        }
        outln!("  params:");
        for line in k.example().lines() {
            outln!("    {line}");
        }
        outln!();
    }
    ExitCode::SUCCESS
}

fn flow(args: &FlowArgs) -> Result<(), String> {
    use maflow_kernels::flow::{FlowBackend, color::flow_to_rgb, field, image::GrayImage};
    use maflow_kernels::png_io::{encode_rgb_png, read_gray_png};
    use maflow_operators::frame::flow::FlowConfig;

    let preset = args.preset;
    let config: FlowConfig = serde_json::from_value(serde_json::json!({ "preset": preset }))
        .map_err(|e| format!("flow settings: {e}"))?;
    let (a, b) = (read_gray_png(&args.first)?, read_gray_png(&args.second)?);
    if (a.width, a.height) != (b.width, b.height) {
        return Err(format!(
            "the images differ in size: {}x{} and {}x{}",
            a.width, a.height, b.width, b.height
        ));
    }
    let patch = config.dis_params().patch_size;
    if a.width < patch || a.height < patch {
        return Err(format!(
            "the images ({}x{}) are smaller than a {patch}-pixel patch",
            a.width, a.height
        ));
    }
    let (a, b) = (
        GrayImage::from_u8(a.width, a.height, &a.data),
        GrayImage::from_u8(b.width, b.height, &b.data),
    );
    let estimator = FlowBackend::open(args.backend, config.dis_params())
        .map_err(|e| e.to_string())?
        .estimator();
    let started = std::time::Instant::now();
    let flow = estimator.flow(&a, &b, None).map_err(|e| e.to_string())?;
    let on = format!(
        "{}, {:.1} ms",
        estimator.device(),
        started.elapsed().as_secs_f64() * 1e3
    );
    outln!("flow {}x{} ({:?}) on {on}", flow.width, flow.height, preset);
    if let Some(out) = &args.out {
        let file = std::fs::File::create(out)
            .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        flow.write_flo(std::io::BufWriter::new(file))
            .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    }
    if let Some(gt) = &args.gt {
        let file =
            std::fs::File::open(gt).map_err(|e| format!("cannot open {}: {e}", gt.display()))?;
        let truth = field::FlowField::read_flo(std::io::BufReader::new(file))
            .map_err(|e| format!("{}: {e}", gt.display()))?;
        if (truth.width, truth.height) != (flow.width, flow.height) {
            return Err(format!(
                "ground truth is {}x{}, images are {}x{}",
                truth.width, truth.height, flow.width, flow.height
            ));
        }
        outln!(
            "average endpoint error: {:.3} px",
            field::average_endpoint_error(&flow, &truth)
        );
    }
    if let Some(viz) = &args.viz {
        let png = encode_rgb_png(&flow_to_rgb(&flow, None), flow.width, flow.height)?;
        std::fs::write(viz, png).map_err(|e| format!("cannot write {}: {e}", viz.display()))?;
    }
    Ok(())
}
