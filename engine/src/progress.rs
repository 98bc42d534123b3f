//! Progress of a run: one bar per operator on a terminal, plain lines otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress display for the nodes of a run.
pub struct Progress {
    names: Vec<String>,
    done: Vec<u64>,
    totals: Vec<u64>,
    frames: Vec<u64>,
    bars: Option<(MultiProgress, Vec<ProgressBar>)>,
    started: Instant,
    last_line: Instant,
}

/// How to show progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bars when stderr is a terminal, periodic lines otherwise.
    Auto,
    /// Nothing.
    Quiet,
}

const LINE_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    /// Starts tracking nodes `(name, total items, already done)`.
    pub fn new(nodes: Vec<(String, u64, u64)>, mode: ProgressMode) -> Self {
        let bars = (mode == ProgressMode::Auto && std::io::stderr().is_terminal()).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{prefix:>16} [{bar:30}] {pos}/{len} {msg} eta {eta}")
                .expect("template is valid")
                .progress_chars("=> ");
            let bars = nodes
                .iter()
                .map(|(name, total, done)| {
                    let bar = multi.add(ProgressBar::new(*total));
                    bar.set_style(style.clone());
                    bar.set_prefix(name.clone());
                    bar.set_position(*done);
                    bar
                })
                .collect();
            (multi, bars)
        });
        let quiet = mode == ProgressMode::Quiet;
        Self {
            names: nodes.iter().map(|n| n.0.clone()).collect(),
            done: nodes.iter().map(|n| n.2).collect(),
            totals: nodes.iter().map(|n| n.1).collect(),
            frames: vec![0; nodes.len()],
            bars,
            started: Instant::now(),
            // Quiet mode never prints: push the next line to the far future.
            last_line: if quiet { Instant::now() + Duration::from_secs(1 << 40) } else { Instant::now() },
        }
    }

    /// Records one finished item of node `i` that streamed `frames` frames.
    pub fn advance(&mut self, i: usize, frames: u64) {
        self.done[i] += 1;
        self.frames[i] += frames;
        if let Some((_, bars)) = &self.bars {
            bars[i].inc(1);
            if self.frames[i] > 0 {
                bars[i].set_message(format!("{:.1} frames/s", self.frames[i] as f64 / self.started.elapsed().as_secs_f64()));
            }
        } else if self.last_line.elapsed() >= LINE_EVERY {
            self.print_lines();
        }
    }

    fn print_lines(&mut self) {
        self.last_line = Instant::now();
        let secs = self.started.elapsed().as_secs_f64();
        for i in 0..self.names.len() {
            let fps = if self.frames[i] > 0 { format!(", {:.1} frames/s", self.frames[i] as f64 / secs) } else { String::new() };
            eprintln!("[{secs:>7.1}s] {}: {}/{}{fps}", self.names[i], self.done[i], self.totals[i]);
        }
    }

    /// Clears bars (or prints the final lines).
    pub fn finish(mut self) {
        match self.bars.take() {
            Some((_, bars)) => bars.iter().for_each(ProgressBar::finish),
            None if self.last_line <= Instant::now() => self.print_lines(),
            None => {}
        }
    }
}
