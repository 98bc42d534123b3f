//! What a server serves under a model name, from its `/models` route, asked
//! once per run and endpoint; it enters the cache keys, so new weights
//! behind an old name are asked again.
//!
//! Only fields that identify the weights are kept: `id`, `root`, `parent`,
//! `digest`, `size`, `modified_at`, `meta` (llama.cpp's parameter and size
//! counts), and `created` unless it is the time of the request (vLLM and
//! llama.cpp put the current time there). A server that lists exactly one
//! model serves it under any name (llama-cpp-python), so that one counts.
//! When the server cannot be reached, the last answer seen (kept beside the
//! request cache) stands in, so a cached rerun needs no server.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::Endpoint;
use super::transport::{http_client, root_cause};

const KEPT: [&str; 7] = [
    "id",
    "root",
    "parent",
    "digest",
    "size",
    "modified_at",
    "meta",
];
/// A `created` this close to now is the time of the request, not of the weights.
const NOW_WINDOW_S: u64 = 120;

/// What the endpoint serves under its model name (memoised per process).
pub fn served(endpoint: &Endpoint, api_key: Option<&str>, cache_dir: &Path) -> Value {
    static MEMO: OnceLock<Mutex<HashMap<(String, String), Value>>> = OnceLock::new();
    let base = endpoint.base_url.trim_end_matches('/').to_string();
    let memo_key = (base.clone(), endpoint.model.clone());
    if let Some(v) = MEMO
        .get_or_init(Default::default)
        .lock()
        .expect("not poisoned")
        .get(&memo_key)
    {
        return v.clone();
    }
    let remembered = remembered_path(cache_dir, &base, &endpoint.model);
    let value = match ask(&base, api_key) {
        Ok(listing) => {
            let value = identity(&listing, &endpoint.model, now_s());
            let text = json!({"served": value, "seen_at": now_s()}).to_string();
            if let Err(e) = maflow_engine::store::write_store_file(&remembered, text.as_bytes()) {
                tracing::warn!(path = %remembered.display(), error = %e, "could not remember what a server serves");
            }
            value
        }
        Err(cause) => {
            let last = std::fs::read_to_string(&remembered)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok());
            match last {
                Some(last) => {
                    tracing::warn!(url = %base, cause = %cause, "could not list the server's models; keying by what it served when last asked");
                    last["served"].clone()
                }
                None => {
                    tracing::warn!(url = %base, cause = %cause, "could not list the server's models, and it was never asked before");
                    json!({"unknown": true})
                }
            }
        }
    };
    MEMO.get_or_init(Default::default)
        .lock()
        .expect("not poisoned")
        .insert(memo_key, value.clone());
    value
}

fn ask(base: &str, api_key: Option<&str>) -> Result<Value, String> {
    let mut request = http_client()
        .get(format!("{base}/models"))
        .timeout(Duration::from_secs(5));
    if let Some(key) = api_key {
        request = request.bearer_auth(key);
    }
    let response = request.send().map_err(|e| root_cause(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    response
        .json::<Value>()
        .map_err(|e| format!("not a model list: {e}"))
}

/// The stable fields of the listed model named `model` (or of the only one listed).
pub fn identity(listing: &Value, model: &str, now_s: u64) -> Value {
    let models: &[Value] = listing["data"].as_array().map_or(&[], Vec::as_slice);
    let entry = models.iter().find(|m| m["id"] == model).or(match models {
        [only] => Some(only),
        _ => None,
    });
    let Some(entry) = entry else {
        return json!({"listed": false});
    };
    let mut out: Map<String, Value> = KEPT
        .iter()
        .filter_map(|k| entry.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    if let Some(created) = entry["created"].as_u64()
        && created.abs_diff(now_s) > NOW_WINDOW_S
    {
        out.insert("created".into(), json!(created));
    }
    Value::Object(out)
}

fn remembered_path(cache_dir: &Path, base: &str, model: &str) -> PathBuf {
    let name = blake3::hash(format!("{base}\0{model}").as_bytes()).to_hex();
    cache_dir
        .join("served")
        .join(format!("{}.json", &name[..32]))
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_identify_a_model_and_request_times_do_not() {
        let now = 1_800_000_000;
        let vllm = json!({"data": [{"id": "Qwen", "object": "model", "created": now, "root": "/models/qwen-v2", "permission": [{"id": "modelperm-x"}]}]});
        assert_eq!(
            identity(&vllm, "Qwen", now + 1),
            json!({"id": "Qwen", "root": "/models/qwen-v2"})
        );
        let ollama =
            json!({"data": [{"id": "a", "created": 1}, {"id": "gemma3", "created": now - 86_400}]});
        assert_eq!(
            identity(&ollama, "gemma3", now),
            json!({"id": "gemma3", "created": now - 86_400})
        );
        let one = json!({"data": [{"id": "/srv/gemma.gguf", "meta": {"n_params": 268_000_000}}]});
        assert_eq!(
            identity(&one, "whatever", now)["meta"]["n_params"],
            268_000_000
        );
        assert_eq!(identity(&ollama, "missing", now), json!({"listed": false}));
    }
}
