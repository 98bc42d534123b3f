//! What an LLM call counts ([`CallCounts`], by name, as `run.json` shows
//! them) and what those counts say: the progress line's calls and tokens,
//! and the tokens and time per call and per clip.

use maflow_engine::registry::{CallCounts, CallsReport};

/// Requests answered from the request cache (nothing paid).
pub const CACHED: &str = "cached";
/// Requests sent (first tries).
pub const SENT: &str = "sent";
/// Extra attempts after a retryable failure.
pub const RETRIES: &str = "retries";
/// Requests that failed for good.
pub const FAILED: &str = "failed";
/// Prompt tokens the servers reported.
pub const PROMPT_TOKENS: &str = "prompt_tokens";
/// Completion tokens the servers reported.
pub const COMPLETION_TOKENS: &str = "completion_tokens";
/// Attempts the server answered.
pub const ANSWERED: &str = "answered";
/// Attempts given up at the timeout (a server may compute them all the same).
pub const ABANDONED: &str = "abandoned";
/// Milliseconds requests waited for a slot in flight, summed.
pub const WAIT_MS: &str = "wait_ms";
/// Milliseconds from sending to the answer of answered attempts, summed.
pub const ANSWER_MS: &str = "answer_ms";

/// Every counter, which a sent request sets, so that `run.json` shows each of them, zeros included.
pub const ALL: [&str; 10] = [
    CACHED,
    SENT,
    RETRIES,
    FAILED,
    PROMPT_TOKENS,
    COMPLETION_TOKENS,
    ANSWERED,
    ABANDONED,
    WAIT_MS,
    ANSWER_MS,
];

/// What a language operator's counts say: calls and tokens for the progress
/// line; for `run.json`, what one answered call and one computed clip cost in
/// prompt tokens (a caption, a clip's 14) and the mean answer time.
pub fn report(calls: &CallCounts, computed: u64) -> CallsReport {
    let (sent, cached) = (calls.get(SENT), calls.get(CACHED));
    let mut report = CallsReport::default();
    if sent + cached > 0 {
        report.progress = Some(format!(
            "{} calls ({cached} cached), {} tokens",
            sent + cached,
            calls.get(PROMPT_TOKENS) + calls.get(COMPLETION_TOKENS)
        ));
    }
    let (answered, prompt) = (calls.get(ANSWERED), calls.get(PROMPT_TOKENS));
    if let Some(per_call) = prompt.checked_div(answered) {
        let d = &mut report.derived;
        d.insert("prompt_tokens_per_call".into(), per_call.into());
        d.insert(
            "mean_answer_s".into(),
            (calls.get(ANSWER_MS) as f64 / answered as f64 / 1000.0).into(),
        );
        if let Some(per_clip) = prompt.checked_div(computed) {
            d.insert("prompt_tokens_per_clip".into(), per_clip.into());
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counts_read_as_calls_tokens_and_costs_per_call_and_clip() {
        let mut calls = CallCounts::default();
        assert!(report(&calls, 0).progress.is_none() && report(&calls, 0).derived.is_empty());
        for (name, n) in [
            (SENT, 3),
            (CACHED, 1),
            (PROMPT_TOKENS, 100),
            (COMPLETION_TOKENS, 20),
        ] {
            calls.add(name, n);
        }
        calls.add(ANSWERED, 2);
        calls.add(ANSWER_MS, 3000);
        let r = report(&calls, 4);
        assert_eq!(
            r.progress.as_deref(),
            Some("4 calls (1 cached), 120 tokens")
        );
        assert_eq!(r.derived["prompt_tokens_per_call"], 50);
        assert_eq!(r.derived["prompt_tokens_per_clip"], 25);
        assert_eq!(r.derived["mean_answer_s"], 1.5);
    }
}
