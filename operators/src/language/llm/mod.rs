//! The client every language operator uses: OpenAI-compatible chat completions.
//!
//! vLLM, llama.cpp's server, Ollama, DeepSeek and OpenAI all speak it. An
//! [`Endpoint`] is declared in a spec (`base_url`, `model`, `api_key:
//! ${env:NAME}`, sampling settings); [`Client::complete`] sends one request
//! with retries, within the node's concurrency and the endpoint's ceiling,
//! and keeps every valid reply in a request-level cache inside the store,
//! keyed by the full request and by what the server serves (never by the
//! key), so a rerun never pays twice.
//!
//! Every reply is checked against what was sent: a server that reports far
//! fewer prompt tokens than the request holds dropped content (text-only
//! chat formats drop messages whose content is a list of parts), and
//! [`Client::probe_images`] asks once per endpoint whether an image costs
//! any tokens at all. Such an endpoint fails its items with the evidence;
//! nothing it says is scored.

mod cache;
pub mod counters;
mod delivery;
mod served;
mod transport;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use maflow_engine::params::Secret;
use maflow_engine::registry::RecordContext;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use transport::Failure;

/// An endpoint and how to ask it. Fields marked as run settings do not
/// change replies, so they stay out of cache keys.
#[maflow_engine::params::configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Base URL of the API, up to and including the version, e.g. `http://localhost:8000/v1`.
    #[example("http://localhost:8000/v1")]
    pub base_url: String,
    /// Model name as the server knows it.
    #[example("Qwen3-8B")]
    pub model: String,
    /// API key, e.g. `${env:OPENAI_API_KEY}`; read at the time of use, never written anywhere.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// Sampling temperature.
    #[serde(default)]
    pub temperature: f32,
    /// Most tokens in a reply.
    #[default(1024)]
    pub max_tokens: u32,
    /// Sampling seed, for servers that honour it.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Run setting: this node's requests in flight at once (per process).
    #[default(8)]
    #[serde(skip_serializing)]
    pub concurrency: usize,
    /// Run setting: requests in flight at once to this `base_url` over all nodes (per process); the lowest any node declares holds.
    #[default(16)]
    #[serde(skip_serializing)]
    pub endpoint_concurrency: usize,
    /// Run setting: seconds before one attempt is abandoned.
    #[default(120.0)]
    #[serde(skip_serializing)]
    pub timeout_s: f64,
    /// Run setting: extra attempts after a 429, a 5xx, a timeout, a broken connection or a malformed response.
    #[default(5)]
    #[serde(skip_serializing)]
    pub max_retries: u32,
    /// Run setting: first backoff in seconds; doubled per attempt, with jitter; `Retry-After` wins when longer.
    #[default(1.0)]
    #[serde(skip_serializing)]
    pub backoff_s: f64,
    /// Run setting: the endpoint's requests in flight adapt: halved after a timeout, an answer slower than half of it, a 429 or a 503; grown back while answers come in time (up to `endpoint_concurrency`).
    #[default(true)]
    #[serde(skip_serializing)]
    pub adaptive: bool,
}

/// One part of a message's content.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// Text.
    Text(String),
    /// An image or video as a URL (`data:image/jpeg;base64,…` or `https://…`).
    ImageUrl(String),
    /// A video URL, for servers that take one (vLLM's `video_url`).
    VideoUrl(String),
}

/// One chat message.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: &'static str,
    /// Its parts.
    pub content: Vec<Content>,
}

impl Message {
    /// A text-only message.
    pub fn text(role: &'static str, text: impl Into<String>) -> Self {
        Self {
            role,
            content: vec![Content::Text(text.into())],
        }
    }

    fn to_json(&self) -> Value {
        match self.content.as_slice() {
            [Content::Text(text)] => json!({"role": self.role, "content": text}),
            parts => json!({
                "role": self.role,
                "content": parts.iter().map(|p| match p {
                    Content::Text(t) => json!({"type": "text", "text": t}),
                    Content::ImageUrl(u) => json!({"type": "image_url", "image_url": {"url": u}}),
                    Content::VideoUrl(u) => json!({"type": "video_url", "video_url": {"url": u}}),
                }).collect::<Vec<_>>(),
            }),
        }
    }
}

/// A reply and what it cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The assistant's text.
    pub content: String,
    /// Prompt tokens the server reported.
    pub prompt_tokens: u64,
    /// Completion tokens the server reported.
    pub completion_tokens: u64,
}

/// Why a call gave no usable reply.
#[derive(Clone, Debug, PartialEq)]
pub enum CallError {
    /// No reply: the transport, the server or the delivery check failed.
    Failed(String),
    /// A reply the caller refused (not the format asked for); not cached.
    Refused {
        /// The reply as received.
        reply: String,
        /// Why it was refused.
        cause: String,
    },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Failed(cause) | CallError::Refused { cause, .. } => f.write_str(cause),
        }
    }
}

impl From<CallError> for String {
    fn from(e: CallError) -> String {
        e.to_string()
    }
}

/// A client over one endpoint, for one node.
#[derive(Clone, Debug)]
pub struct Client {
    endpoint: Endpoint,
    /// The node's share of requests in flight.
    slots: Arc<transport::Limiter>,
    /// What the server serves under the model name, once asked (part of the request keys).
    served: Arc<OnceLock<Value>>,
}

impl Client {
    /// A client; checks the URL (the key is resolved at each request, so an unset variable fails the items, not the spec).
    pub fn new(endpoint: Endpoint) -> Result<Self, String> {
        if !(endpoint.base_url.starts_with("http://") || endpoint.base_url.starts_with("https://"))
        {
            return Err(format!(
                "base_url `{}` must start with http:// or https://",
                endpoint.base_url
            ));
        }
        let slots = transport::Limiter::new(endpoint.concurrency);
        Ok(Self {
            endpoint,
            slots,
            served: Arc::default(),
        })
    }

    /// What the server serves under the model name (asked once per run; see [`served`]).
    pub fn served(&self, cache_dir: &Path) -> Value {
        self.served
            .get_or_init(|| {
                let key = self
                    .endpoint
                    .api_key
                    .as_ref()
                    .and_then(|s| s.resolve().ok());
                served::served(&self.endpoint, key.as_deref(), cache_dir)
            })
            .clone()
    }

    /// Label for tables and records: `model @ host`.
    pub fn label(&self) -> String {
        let host = self
            .endpoint
            .base_url
            .split("://")
            .nth(1)
            .unwrap_or("")
            .split('/')
            .next()
            .unwrap_or("");
        format!("{} @ {host}", self.endpoint.model)
    }

    /// The request body for these messages.
    pub fn body(&self, messages: &[Message], json_mode: bool) -> Value {
        let e = &self.endpoint;
        let mut body = json!({
            "model": e.model,
            "messages": messages.iter().map(Message::to_json).collect::<Vec<_>>(),
            "temperature": e.temperature,
            "max_tokens": e.max_tokens,
        });
        if let Some(seed) = e.seed {
            body["seed"] = json!(seed);
        }
        if json_mode {
            body["response_format"] = json!({"type": "json_object"});
        }
        body
    }

    /// Sends the messages (or answers from the cache) and returns the reply
    /// once the delivery check passes and `accept` takes it; a reply either
    /// refuses is an error and is not cached. Counts go to `ctx.calls`.
    pub fn complete<T>(
        &self,
        messages: &[Message],
        json_mode: bool,
        ctx: &mut RecordContext<'_>,
        accept: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, CallError> {
        delivery::known_failure(&self.endpoint, messages)
            .map_or(Ok(()), Err)
            .map_err(CallError::Failed)?;
        let body = self.body(messages, json_mode);
        let key = self.request_key(&body);
        if let Some(reply) = cache::get(ctx.cache_dir, &key)
            && delivery::check(&self.endpoint, &self.label(), messages, reply.prompt_tokens).is_ok()
            && let Ok(value) = accept(&reply.content)
        {
            ctx.calls.add(counters::CACHED, 1);
            return Ok(value);
        }
        let reply = self.send(&body, ctx)?;
        delivery::check(&self.endpoint, &self.label(), messages, reply.prompt_tokens)
            .map_err(CallError::Failed)?;
        let value = accept(&reply.content).map_err(|cause| CallError::Refused {
            reply: reply.content.clone(),
            cause,
        })?;
        cache::put(ctx.cache_dir, &key, &reply);
        Ok(value)
    }

    /// Checks once per endpoint (and run) that an image reaches the model:
    /// the same short text is asked alone and with `image_url`, one token
    /// each, and the image must add prompt tokens. An endpoint that fails is
    /// remembered, and every later call to it fails at once.
    pub fn probe_images(&self, image_url: &str, ctx: &mut RecordContext<'_>) -> Result<(), String> {
        delivery::probe_once(&self.endpoint, || {
            let text = "Name the main colour of the image in one word.";
            let plain = [Message::text("user", text)];
            let with_image = [Message {
                role: "user",
                content: vec![
                    Content::ImageUrl(image_url.to_string()),
                    Content::Text(text.into()),
                ],
            }];
            let mut tokens = [0u64; 2];
            for (i, messages) in [&plain[..], &with_image[..]].into_iter().enumerate() {
                let mut body = self.body(messages, false);
                body["max_tokens"] = json!(1);
                let key = self.request_key(&body);
                let reply = match cache::get(ctx.cache_dir, &key) {
                    Some(reply) => {
                        ctx.calls.add(counters::CACHED, 1);
                        reply
                    }
                    None => {
                        let reply = self.send(&body, ctx).map_err(String::from)?;
                        cache::put(ctx.cache_dir, &key, &reply);
                        reply
                    }
                };
                tokens[i] = reply.prompt_tokens;
            }
            delivery::judge_probe(&self.label(), tokens[0], tokens[1])
        })
    }

    fn request_key(&self, body: &Value) -> String {
        cache::request_key(&self.endpoint.base_url, self.served.get(), body)
    }

    /// One request through the transport; counts its tokens.
    fn send(&self, body: &Value, ctx: &mut RecordContext<'_>) -> Result<Reply, CallError> {
        let api_key = match &self.endpoint.api_key {
            Some(secret) => Some(secret.resolve().map_err(CallError::Failed)?),
            None => None,
        };
        let reply = transport::send(
            &self.endpoint,
            &self.slots,
            api_key.as_deref(),
            body,
            &mut ctx.calls,
        )
        .map_err(|f| {
            ctx.calls.add(counters::FAILED, 1);
            CallError::Failed(f.to_string())
        })?;
        ctx.calls.add(counters::PROMPT_TOKENS, reply.prompt_tokens);
        ctx.calls
            .add(counters::COMPLETION_TOKENS, reply.completion_tokens);
        Ok(reply)
    }
}

/// Runs `ask` for `0..n` at once, each with a context of its own, so that
/// a clip's parts or items fill the node's slots instead of waiting in turn;
/// their call counts go to `ctx`. Results in order.
pub fn concurrently<T: Send>(
    n: usize,
    ctx: &mut RecordContext<'_>,
    ask: impl Fn(usize, &mut RecordContext<'_>) -> T + Sync,
) -> Vec<T> {
    let cache_dir = ctx.cache_dir;
    let done: Vec<(T, maflow_engine::registry::CallCounts)> = std::thread::scope(|scope| {
        let ask = &ask;
        let running: Vec<_> = (0..n)
            .map(|i| {
                scope.spawn(move || {
                    let mut own = RecordContext {
                        cache_dir,
                        calls: Default::default(),
                    };
                    let result = ask(i, &mut own);
                    (result, own.calls)
                })
            })
            .collect();
        running
            .into_iter()
            .map(|r| {
                r.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.into_iter()
        .map(|(result, calls)| {
            ctx.calls.merge(&calls);
            result
        })
        .collect()
}

/// The first JSON object in a reply (models often wrap it in prose or code fences).
pub fn json_object_in(reply: &str) -> Result<serde_json::Map<String, Value>, String> {
    let start = reply.find('{').ok_or("the reply holds no JSON object")?;
    let mut stream = serde_json::Deserializer::from_str(&reply[start..]).into_iter::<Value>();
    match stream.next() {
        Some(Ok(Value::Object(map))) => Ok(map),
        Some(Ok(_)) => Err("the reply's JSON is not an object".into()),
        Some(Err(e)) => Err(format!("the reply's JSON is malformed: {e}")),
        None => Err("the reply holds no JSON object".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_inside_prose_and_fences() {
        let map =
            json_object_in("Sure!\n```json\n{\"L1_score\": 3, \"x\": {\"y\": 1}}\n```").unwrap();
        assert_eq!(map["L1_score"], 3);
        assert!(
            json_object_in("{\"L1_score\": 3,")
                .unwrap_err()
                .contains("malformed")
        );
        assert!(json_object_in("no").is_err());
    }

    #[test]
    fn run_settings_and_keys_stay_out_of_the_canonical_config() {
        let e: Endpoint = serde_json::from_value(json!({
            "base_url": "http://h/v1", "model": "m", "api_key": "${env:K}", "concurrency": 3, "timeout_s": 5.0
        }))
        .unwrap();
        let canonical = serde_json::to_value(&e).unwrap();
        assert!(canonical.get("concurrency").is_none() && canonical.get("timeout_s").is_none());
        assert_eq!(canonical["api_key"], "${env:K}");
        let client = Client::new(e).unwrap();
        let body = client.body(&[Message::text("user", "hi")], true);
        assert_eq!(body["response_format"]["type"], "json_object");
        assert!(!body.to_string().contains("${env:K}"));
        assert_eq!(client.label(), "m @ h");
    }
}
