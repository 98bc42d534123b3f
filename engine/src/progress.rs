//! Progress of a run: one bar per operator on a terminal, plain lines every
//! few seconds otherwise (with or without results coming in), each with the
//! items done and to do, the rate, and an estimate of the time left. Record
//! operators that call a service also show the calls in flight and the
//! tokens so far.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Remote calls in flight in this process, for the progress display.
static CALLS_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// Remote calls answered in this process, and their tokens (prompt and completion).
static CALLS_ANSWERED: AtomicU64 = AtomicU64::new(0);
static TOKENS: AtomicU64 = AtomicU64::new(0);

/// A remote call being made; counted in flight until dropped.
pub struct CallInFlight(());

impl CallInFlight {
    /// Counts one call in flight (an operator holds it while it waits on a service).
    pub fn start() -> Self {
        CALLS_IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
        CallInFlight(())
    }

    /// The call was answered with `tokens` tokens in all: counted at once, not when the item ends.
    pub fn answered(self, tokens: u64) {
        CALLS_ANSWERED.fetch_add(1, Ordering::Relaxed);
        TOKENS.fetch_add(tokens, Ordering::Relaxed);
    }
}

impl Drop for CallInFlight {
    fn drop(&mut self) {
        CALLS_IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Remote calls in flight in this process now.
pub fn calls_in_flight() -> usize {
    CALLS_IN_FLIGHT.load(Ordering::Relaxed)
}

/// The live line of remote calls: answered so far, in flight, tokens.
fn calls_line() -> String {
    format!(
        "remote calls: {} answered, {} in flight, {} tokens",
        CALLS_ANSWERED.load(Ordering::Relaxed),
        calls_in_flight(),
        TOKENS.load(Ordering::Relaxed)
    )
}

/// One row of the display: a node of the run.
#[derive(Clone, Debug)]
pub struct Row {
    /// Node id.
    pub name: String,
    /// Items it applies to.
    pub total: u64,
    /// Items already in the store.
    pub done: u64,
    /// Whether it calls services (its calls and tokens are shown).
    pub calls: bool,
}

/// Progress display for the nodes of a run.
pub struct Progress {
    rows: Vec<Row>,
    done: Vec<u64>,
    frames: Vec<u64>,
    /// Per row, what its operator last said of its calls.
    calls: Vec<Option<String>>,
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

/// How often plain lines are printed.
pub const LINE_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    /// Starts tracking the rows.
    pub fn new(rows: Vec<Row>, mode: ProgressMode) -> Self {
        let bars = (mode == ProgressMode::Auto && std::io::stderr().is_terminal()).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{prefix:>16} [{bar:30}] {pos}/{len} {msg} eta {eta}")
                    .expect("template is valid")
                    .progress_chars("=> ");
            let bars = rows
                .iter()
                .map(|row| {
                    let bar = multi.add(ProgressBar::new(row.total));
                    bar.set_style(style.clone());
                    bar.set_prefix(row.name.clone());
                    bar.set_position(row.done);
                    bar
                })
                .collect();
            (multi, bars)
        });
        let quiet = mode == ProgressMode::Quiet;
        Self {
            done: rows.iter().map(|r| r.done).collect(),
            frames: vec![0; rows.len()],
            calls: vec![None; rows.len()],
            rows,
            bars,
            started: Instant::now(),
            // Quiet mode never prints: push the next line to the far future.
            last_line: if quiet {
                Instant::now() + Duration::from_secs(1 << 40)
            } else {
                Instant::now()
            },
        }
    }

    /// Records one finished item of row `i` that streamed `frames` frames;
    /// `calls`, when given, is what its operator says of its calls so far.
    pub fn advance(&mut self, i: usize, frames: u64, calls: Option<String>) {
        self.done[i] += 1;
        self.frames[i] += frames;
        if calls.is_some() {
            self.calls[i] = calls;
        }
        if let Some((_, bars)) = &self.bars {
            bars[i].inc(1);
            bars[i].set_message(self.detail(i));
        }
        self.tick();
    }

    /// Prints the lines when they are due (called on every result and while waiting for one).
    pub fn tick(&mut self) {
        match &self.bars {
            Some((_, bars)) => {
                for (i, bar) in bars.iter().enumerate() {
                    if self.rows[i].calls {
                        bar.set_message(format!("{}; {}", self.detail(i), calls_line()));
                    }
                }
            }
            None if self.last_line.elapsed() >= LINE_EVERY => self.print_lines(),
            None => {}
        }
    }

    /// The rate and, for rows that call services, what their calls came to.
    fn detail(&self, i: usize) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let mut parts = Vec::new();
        if self.frames[i] > 0 {
            parts.push(format!("{:.1} frames/s", self.frames[i] as f64 / secs));
        }
        if self.rows[i].calls
            && let Some(said) = &self.calls[i]
        {
            parts.push(said.clone());
        }
        parts.join(", ")
    }

    /// Time left for row `i` after `elapsed`, from its rate so far; `None` before its first item.
    fn eta(&self, i: usize, elapsed: Duration) -> Option<Duration> {
        let new = self.done[i] - self.rows[i].done;
        let left = self.rows[i].total.saturating_sub(self.done[i]);
        (new > 0).then(|| elapsed.mul_f64(left as f64 / new as f64))
    }

    fn print_lines(&mut self) {
        self.last_line = Instant::now();
        let secs = self.started.elapsed().as_secs_f64();
        for i in 0..self.rows.len() {
            let mut line = format!(
                "[{secs:>7.1}s] {}: {}/{}",
                self.rows[i].name, self.done[i], self.rows[i].total
            );
            let detail = self.detail(i);
            if !detail.is_empty() {
                line.push_str(&format!(", {detail}"));
            }
            if self.done[i] < self.rows[i].total {
                match self.eta(i, self.started.elapsed()) {
                    Some(eta) => line.push_str(&format!(", eta {}", clock(eta))),
                    None => line.push_str(", eta unknown"),
                }
            }
            eprintln!("{line}");
        }
        if self.rows.iter().any(|r| r.calls && r.done < r.total)
            && CALLS_ANSWERED.load(Ordering::Relaxed) + calls_in_flight() as u64 > 0
        {
            eprintln!("[{secs:>7.1}s] {}", calls_line());
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

/// `1h02m03s`, `2m03s` or `3s`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, sec) => format!("{h}h{m:02}m{sec:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_follows_the_rate_of_new_items() {
        let rows = vec![Row {
            name: "caption".into(),
            total: 10,
            done: 2,
            calls: true,
        }];
        let mut p = Progress::new(rows, ProgressMode::Quiet);
        assert_eq!(p.eta(0, Duration::from_secs(10)), None);
        p.advance(0, 0, Some("4 calls (1 cached)".into()));
        // One new item in 10 s; seven are left.
        assert_eq!(
            p.eta(0, Duration::from_secs(10)),
            Some(Duration::from_secs(70))
        );
        p.advance(0, 0, None);
        assert!(
            p.detail(0).contains("4 calls (1 cached)"),
            "what the operator last said stays: {}",
            p.detail(0)
        );
        let guard = CallInFlight::start();
        assert!(calls_in_flight() >= 1);
        guard.answered(50);
        assert!(calls_line().contains("answered") && TOKENS.load(Ordering::Relaxed) >= 50);
        assert_eq!(clock(Duration::from_secs(3723)), "1h02m03s");
        assert_eq!(clock(Duration::from_secs(123)), "2m03s");
    }
}
