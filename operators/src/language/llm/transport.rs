//! Sending one request: a slot of the node's concurrency under the
//! endpoint's in-flight limit, a timeout per attempt, and retries with
//! exponential backoff and jitter on 429, 5xx, timeouts, broken connections
//! and malformed responses, honouring `Retry-After`. Errors name the root
//! cause (refused, reset, DNS, TLS, timeout, or the HTTP status and the
//! start of the body), never the key.
//!
//! The endpoint's limit adapts as TCP's congestion window does: it halves
//! when an attempt times out, takes over half the timeout to be answered
//! (it queued on the server: the next may not make it), or the server says
//! it is overloaded (429, 503), once per such event (a failure of a request
//! sent before the last cut does not cut again), and grows by one per
//! limit's worth of answers in time, up to the declared ceiling. A server that queues requests
//! behind each other (a single-slot llama.cpp) thus gets fewer at once
//! instead of abandoned ones it computes all the same.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use maflow_engine::progress::CallInFlight;
use maflow_engine::registry::CallCounts;
use serde_json::Value;

use super::{Endpoint, Reply, counters};

/// Why a request failed for good.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The server answered with a status that retrying does not fix, or retries ran out.
    #[error("{url}: HTTP {status}: {excerpt}")]
    Status {
        /// Endpoint URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Start of the response body.
        excerpt: String,
    },
    /// No usable response after every attempt.
    #[error("{url}: {cause} (after {attempts} attempts)")]
    Transport {
        /// Endpoint URL.
        url: String,
        /// Last cause.
        cause: String,
        /// Attempts made.
        attempts: u32,
    },
}

/// Longest wait between attempts, whatever the server asks.
const MAX_WAIT: Duration = Duration::from_secs(120);

/// Sends `body` to the endpoint's chat-completions route, within a slot of
/// `node_slots` and of the endpoint's ceiling.
pub fn send(
    endpoint: &Endpoint,
    node_slots: &Arc<Limiter>,
    api_key: Option<&str>,
    body: &Value,
    calls: &mut CallCounts,
) -> Result<Reply, Failure> {
    let url = format!(
        "{}/chat/completions",
        endpoint.base_url.trim_end_matches('/')
    );
    let waiting = Instant::now();
    let _node_slot = node_slots.clone().acquire();
    let endpoint_slot =
        endpoint_limiter(&endpoint.base_url, endpoint.endpoint_concurrency).acquire();
    for name in counters::ALL {
        calls.add(name, 0);
    }
    calls.add(counters::WAIT_MS, waiting.elapsed().as_millis() as u64);
    let mut gauge = Some(CallInFlight::start());
    let request = Request {
        endpoint,
        url: &url,
        timeout: Duration::from_secs_f64(endpoint.timeout_s.max(0.001)),
        api_key,
        body,
    };
    let attempts = endpoint.max_retries + 1;
    calls.add(counters::SENT, 1);
    let mut last = String::new();
    for attempt in 0..attempts {
        if attempt > 0 {
            calls.add(counters::RETRIES, 1);
        }
        let (retry_after, cause) = match request.attempt(&endpoint_slot, calls, &mut gauge) {
            Attempt::Answered(reply) => return Ok(reply),
            Attempt::Refused(failure) => return Err(failure),
            Attempt::Retry(retry_after, cause) => (retry_after, cause),
        };
        tracing::debug!(url = %url, attempt, cause = %cause, "LLM request failed; retrying");
        last = cause;
        if attempt + 1 < attempts {
            std::thread::sleep(backoff(endpoint.backoff_s, attempt, retry_after));
        }
    }
    Err(Failure::Transport {
        url,
        cause: last,
        attempts,
    })
}

/// One chat-completions request, as every attempt sends it.
struct Request<'a> {
    endpoint: &'a Endpoint,
    url: &'a str,
    timeout: Duration,
    api_key: Option<&'a str>,
    body: &'a Value,
}

/// What one attempt came to.
enum Attempt {
    /// The server answered.
    Answered(Reply),
    /// Worth another try, after the server's `retry-after` if it gave one: why it failed.
    Retry(Option<Duration>, String),
    /// A refusal another try would not change.
    Refused(Failure),
}

impl Request<'_> {
    /// Sends the request once; an answer or an overload is told to the
    /// endpoint's `slot` when its ceiling adapts.
    fn attempt(
        &self,
        slot: &Slot,
        calls: &mut CallCounts,
        gauge: &mut Option<CallInFlight>,
    ) -> Attempt {
        let (endpoint, timeout) = (self.endpoint, self.timeout);
        let sent_at = Instant::now();
        let mut request = http_client()
            .post(self.url)
            .timeout(timeout)
            .json(self.body);
        if let Some(key) = self.api_key {
            request = request.bearer_auth(key);
        }
        let response = match request.send() {
            Ok(response) => response,
            Err(e) if e.is_timeout() => {
                calls.add(counters::ABANDONED, 1);
                if endpoint.adaptive {
                    slot.overloaded();
                }
                return Attempt::Retry(
                    None,
                    format!(
                        "no answer within {:.1} s (timeout_s)",
                        timeout.as_secs_f64()
                    ),
                );
            }
            Err(e) => return Attempt::Retry(None, root_cause(&e)),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|s| Duration::from_secs_f64(s.clamp(0.0, MAX_WAIT.as_secs_f64())));
        let text = response.text();
        match (status, text) {
            (200..=299, Ok(text)) => match parse_reply(&text) {
                Ok(reply) => {
                    if let Some(gauge) = gauge.take() {
                        gauge.answered(reply.prompt_tokens + reply.completion_tokens);
                    }
                    calls.add(counters::ANSWERED, 1);
                    calls.add(counters::ANSWER_MS, sent_at.elapsed().as_millis() as u64);
                    if endpoint.adaptive {
                        // An answer that took over half the timeout waited in the server's queue: the next may not make it.
                        if sent_at.elapsed() > timeout / 2 {
                            slot.overloaded();
                        } else {
                            slot.answered();
                        }
                    }
                    Attempt::Answered(reply)
                }
                Err(cause) => Attempt::Retry(None, cause),
            },
            (200..=299, Err(e)) => Attempt::Retry(
                None,
                format!("reading the response: {}", short(&e.to_string())),
            ),
            (429 | 500..=599, text) => {
                if endpoint.adaptive && matches!(status, 429 | 503) {
                    slot.overloaded();
                }
                Attempt::Retry(
                    retry_after,
                    format!("HTTP {status}: {}", short(&text.unwrap_or_default())),
                )
            }
            (_, text) => Attempt::Refused(Failure::Status {
                url: self.url.to_string(),
                status,
                excerpt: short(&text.unwrap_or_default()),
            }),
        }
    }
}

/// The assistant's text and token usage of a chat-completions response.
fn parse_reply(text: &str) -> Result<Reply, String> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("malformed response JSON ({e}): {}", short(text)))?;
    let content = value
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            format!(
                "response without choices[0].message.content: {}",
                short(text)
            )
        })?;
    let usage = |name: &str| {
        value
            .pointer(&format!("/usage/{name}"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Ok(Reply {
        content: content.to_string(),
        prompt_tokens: usage("prompt_tokens"),
        completion_tokens: usage("completion_tokens"),
    })
}

/// The wait before attempt `attempt + 1`: `base × 2^attempt`, jittered to
/// 50–150 %, or the server's `Retry-After` when that is longer.
fn backoff(base_s: f64, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let jitter = 0.5 + f64::from(nanos_noise() % 1000) / 1000.0;
    let exp = Duration::from_secs_f64(
        (base_s * 2f64.powi(attempt.min(16) as i32) * jitter).min(MAX_WAIT.as_secs_f64()),
    );
    retry_after.map_or(exp, |r| r.max(exp))
}

fn nanos_noise() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let bytes = blake3::hash(&t.as_nanos().to_le_bytes());
    u32::from_le_bytes(bytes.as_bytes()[..4].try_into().expect("4 bytes"))
}

/// What went wrong under a transport error, in the terms a person fixes it by.
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            let known = match io.kind() {
                ConnectionRefused => Some(
                    "connection refused: nothing listens at that address; is the server running?",
                ),
                ConnectionReset => Some("connection reset by the server"),
                ConnectionAborted => Some("connection aborted"),
                TimedOut => Some("connecting timed out"),
                UnexpectedEof | BrokenPipe => {
                    Some("the server closed the connection before answering")
                }
                _ => None,
            };
            if let Some(known) = known {
                return known.to_string();
            }
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return format!("TLS: {tls}");
        }
        chain.push(e.to_string());
        next = e.source();
    }
    let root = chain.last().cloned().unwrap_or_default();
    if chain.iter().any(|m| m.contains("dns error")) {
        return format!("DNS lookup failed: {}", short(&root));
    }
    if chain
        .iter()
        .any(|m| m.contains("certificate") || m.contains("tls") || m.contains("TLS"))
    {
        return format!("TLS: {}", short(&root));
    }
    format!("connection failed: {}", short(&root))
}

fn short(text: &str) -> String {
    let line: String = text.chars().take(200).collect();
    line.replace('\n', " ")
}

/// One HTTP client per process (connection pools are shared across operators).
pub fn http_client() -> &'static reqwest::blocking::Client {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        // reqwest is built without a TLS provider of its own; ring is ours.
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::blocking::Client::builder()
            .user_agent(concat!("maflow/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client builds with the ring provider installed")
    })
}

/// A counting semaphore whose limit adapts between 1 and a ceiling
/// (additive increase, multiplicative decrease) and whose ceiling may be lowered.
#[derive(Debug)]
pub struct Limiter {
    state: Mutex<LimiterState>,
    freed: Condvar,
}

#[derive(Debug)]
struct LimiterState {
    /// Requests allowed in flight now (its whole part, at least 1).
    limit: f64,
    /// The most it may grow to.
    ceiling: usize,
    /// Slots in use.
    in_use: usize,
    /// Cuts so far: a slot taken before the last cut does not cut again.
    cuts: u64,
}

/// A held slot, released on drop.
struct Slot {
    limiter: Arc<Limiter>,
    /// The limiter's cut count when the slot was taken.
    cuts: u64,
}

impl Limiter {
    /// A limiter of `limit` slots (at least one).
    pub fn new(limit: usize) -> Arc<Self> {
        let limit = limit.max(1);
        Arc::new(Limiter {
            state: Mutex::new(LimiterState {
                limit: limit as f64,
                ceiling: limit,
                in_use: 0,
                cuts: 0,
            }),
            freed: Condvar::new(),
        })
    }

    fn acquire(self: Arc<Self>) -> Slot {
        let mut state = self.state.lock().expect("not poisoned");
        while state.in_use >= state.limit as usize {
            state = self.freed.wait(state).expect("not poisoned");
        }
        state.in_use += 1;
        let cuts = state.cuts;
        drop(state);
        Slot {
            limiter: self,
            cuts,
        }
    }

    fn lower_to(&self, ceiling: usize) {
        let mut state = self.state.lock().expect("not poisoned");
        state.ceiling = state.ceiling.min(ceiling.max(1));
        state.limit = state.limit.min(state.ceiling as f64);
    }

    /// Requests allowed in flight now.
    #[cfg(test)]
    fn limit(&self) -> usize {
        self.state.lock().expect("not poisoned").limit as usize
    }
}

impl Slot {
    /// An answer in time: the limit grows by one per limit's worth of them.
    fn answered(&self) {
        let mut state = self.limiter.state.lock().expect("not poisoned");
        let grown = (state.limit + 1.0 / state.limit).min(state.ceiling as f64);
        if grown as usize > state.limit as usize {
            self.limiter.freed.notify_one();
        }
        state.limit = grown;
    }

    /// A timeout, or the server's 429 or 503: the limit halves, once per event.
    fn overloaded(&self) {
        let mut state = self.limiter.state.lock().expect("not poisoned");
        if self.cuts == state.cuts {
            state.limit = (state.limit / 2.0).max(1.0);
            state.cuts += 1;
            tracing::info!(
                limit = state.limit as usize,
                "the server is overloaded: fewer requests in flight"
            );
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.limiter.state.lock().expect("not poisoned").in_use -= 1;
        self.limiter.freed.notify_one();
    }
}

/// The ceiling of an endpoint (by base URL) over every node that uses it: the lowest any node declares.
fn endpoint_limiter(base_url: &str, ceiling: usize) -> Arc<Limiter> {
    static LIMITERS: OnceLock<Mutex<HashMap<String, Arc<Limiter>>>> = OnceLock::new();
    let mut map = LIMITERS
        .get_or_init(Default::default)
        .lock()
        .expect("not poisoned");
    let limiter = map
        .entry(base_url.trim_end_matches('/').to_string())
        .or_insert_with(|| Limiter::new(ceiling))
        .clone();
    limiter.lower_to(ceiling);
    limiter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        let first = backoff(1.0, 0, None);
        assert!(first >= Duration::from_millis(500) && first <= Duration::from_millis(1500));
        let third = backoff(1.0, 2, None);
        assert!(third >= Duration::from_secs(2) && third <= Duration::from_secs(6));
        assert!(backoff(0.01, 0, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
    }

    #[test]
    fn node_slots_live_under_the_lowest_endpoint_ceiling() {
        let a = endpoint_limiter("http://ceiling-test/v1", 6);
        let b = endpoint_limiter("http://ceiling-test/v1/", 2);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.limit(), 2);
        let node = Limiter::new(3);
        let (s1, s2) = (node.clone().acquire(), node.clone().acquire());
        assert_eq!(node.state.lock().unwrap().in_use, 2);
        drop((s1, s2));
        assert_eq!(node.state.lock().unwrap().in_use, 0);
    }

    #[test]
    fn the_limit_halves_once_per_overload_and_grows_back_by_one_per_window() {
        let l = Limiter::new(8);
        let slots: Vec<Slot> = (0..8).map(|_| l.clone().acquire()).collect();
        // Eight requests sent together all time out: one event, one cut.
        for s in &slots {
            s.overloaded();
        }
        assert_eq!(l.limit(), 4);
        drop(slots);
        let late = l.clone().acquire();
        late.overloaded();
        assert_eq!(l.limit(), 2, "a request sent after the cut cuts again");
        late.overloaded();
        assert_eq!(l.limit(), 2);
        drop(late);
        for _ in 0..2 {
            l.clone().acquire().overloaded();
        }
        assert_eq!(l.limit(), 1, "never below one");
        // Answers in time: +1 per limit's worth, up to the ceiling.
        let mut answers = 0;
        while l.limit() < 8 {
            l.clone().acquire().answered();
            answers += 1;
            assert!(answers < 100);
        }
        // About l answers to grow from l to l + 1: 1 + 2 + … + 7 = 28, and the fractions.
        assert!((25..=35).contains(&answers), "{answers}");
        l.clone().acquire().answered();
        assert_eq!(l.limit(), 8, "capped at the ceiling");
        l.lower_to(3);
        assert_eq!(l.limit(), 3);
    }

    #[test]
    fn a_refused_connection_says_so() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Nothing listens on the port once the listener is dropped.
        let err = http_client()
            .get(format!("http://127.0.0.1:{port}/v1/models"))
            .send()
            .unwrap_err();
        assert!(
            root_cause(&err).starts_with("connection refused"),
            "{}",
            root_cause(&err)
        );
    }

    #[test]
    fn replies_and_usage_are_read_from_the_response() {
        let r = parse_reply(r#"{"choices":[{"message":{"content":"yes"}}],"usage":{"prompt_tokens":5,"completion_tokens":1}}"#).unwrap();
        assert_eq!(
            (r.content.as_str(), r.prompt_tokens, r.completion_tokens),
            ("yes", 5, 1)
        );
        assert!(
            parse_reply(r#"{"choices":[{"message":{"content":"ye"#)
                .unwrap_err()
                .contains("malformed")
        );
        assert!(parse_reply(r#"{"error":"x"}"#).is_err());
    }
}
