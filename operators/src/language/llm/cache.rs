//! The request-level cache: one small JSON file per answered request, named
//! by the hash of the endpoint URL and the full request body.
//!
//! Files are written to a temporary name and renamed, so a killed run never
//! leaves a partial entry; a file that does not parse is treated as absent.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Reply;

/// The key of a request: the base URL, what the server serves (when
/// asked) and the canonical body (keys are sent as headers, never part of it).
pub fn request_key(base_url: &str, served: Option<&Value>, body: &Value) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"maflow.llm.request.v2\0");
    h.update(base_url.trim_end_matches('/').as_bytes());
    h.update(&[0]);
    h.update(served.map(Value::to_string).unwrap_or_default().as_bytes());
    h.update(&[0]);
    h.update(body.to_string().as_bytes());
    h.finalize().to_hex().to_string()
}

fn path_of(dir: &Path, key: &str) -> PathBuf {
    dir.join("llm").join(&key[..2]).join(format!("{key}.json"))
}

/// A cached reply, if any.
pub fn get(dir: &Path, key: &str) -> Option<Reply> {
    let text = std::fs::read_to_string(path_of(dir, key)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Caches a reply; a failure to write only costs a repeat request later.
pub fn put(dir: &Path, key: &str, reply: &Reply) {
    let path = path_of(dir, key);
    let text = serde_json::to_string(reply).expect("replies serialise");
    if let Err(e) = maflow_engine::store::write_store_file(&path, text.as_bytes()) {
        tracing::warn!(path = %path.display(), error = %e, "could not cache an LLM reply");
    }
}
