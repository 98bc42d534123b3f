//! Whether the model received what was sent.
//!
//! A server reports the prompt tokens it saw. Any tokeniser makes at least
//! one token of eight characters of prose, so a count below that floor
//! means content was dropped on the way (a text-only chat format drops
//! every message whose content is a list of parts: images, question and
//! all). Images are checked by a probe: one image must add at least
//! [`MIN_IMAGE_TOKENS`] (vision encoders spend 64 to 1,000 on one). An
//! endpoint found dropping content is remembered for the rest of the run,
//! so it is not paid again, and every later call of the same shape (with
//! content parts, or plain text) fails with the evidence.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::{Content, Endpoint, Message};

/// Characters of prose per token, at most, for any tokeniser in use.
const CHARS_PER_TOKEN_MAX: usize = 8;
/// Characters per token of English prose, typically (for the estimate in messages).
const CHARS_PER_TOKEN_TYPICAL: usize = 4;
/// Fewest prompt tokens one image costs on a server that reads it.
pub const MIN_IMAGE_TOKENS: u64 = 16;

type Verdicts = Mutex<HashMap<String, Arc<OnceLock<Result<(), String>>>>>;

fn verdicts() -> &'static Verdicts {
    static VERDICTS: OnceLock<Verdicts> = OnceLock::new();
    VERDICTS.get_or_init(Default::default)
}

fn endpoint_id(e: &Endpoint) -> String {
    format!("{}\0{}", e.base_url.trim_end_matches('/'), e.model)
}

/// Whether a request has content parts (images, or text split in parts): what servers drop.
pub fn has_parts(messages: &[Message]) -> bool {
    messages
        .iter()
        .any(|m| !matches!(m.content.as_slice(), [Content::Text(_)]))
}

/// The failure an endpoint was already found with in this run for requests like these (with or without parts), if any.
pub fn known_failure(e: &Endpoint, messages: &[Message]) -> Option<String> {
    failures()
        .lock()
        .expect("not poisoned")
        .get(&(endpoint_id(e), has_parts(messages)))
        .cloned()
}

fn failures() -> &'static Mutex<HashMap<(String, bool), String>> {
    static FAILURES: OnceLock<Mutex<HashMap<(String, bool), String>>> = OnceLock::new();
    FAILURES.get_or_init(Default::default)
}

fn remember(e: &Endpoint, parts: bool, cause: &str) {
    failures()
        .lock()
        .expect("not poisoned")
        .entry((endpoint_id(e), parts))
        .or_insert_with(|| cause.to_string());
}

/// The text characters and images of a request.
fn size(messages: &[Message]) -> (usize, usize) {
    let mut chars = 0;
    let mut images = 0;
    for m in messages {
        for part in &m.content {
            match part {
                Content::Text(t) => chars += t.chars().count(),
                Content::ImageUrl(_) | Content::VideoUrl(_) => images += 1,
            }
        }
    }
    (chars, images)
}

/// Checks a reply's prompt tokens against the request; a server that
/// reports none cannot be checked and passes.
pub fn check(
    e: &Endpoint,
    label: &str,
    messages: &[Message],
    prompt_tokens: u64,
) -> Result<(), String> {
    let (chars, images) = size(messages);
    let floor = (chars / CHARS_PER_TOKEN_MAX) as u64;
    if prompt_tokens == 0 || prompt_tokens >= floor {
        return Ok(());
    }
    let with = match images {
        0 => String::new(),
        1 => " with 1 image".to_string(),
        n => format!(" with {n} images"),
    };
    let cause = format!(
        "{label}: {prompt_tokens} prompt tokens for a ~{}-token request{with}: the server ignores content parts; \
         serve a vision model or use a text-only responder",
        chars / CHARS_PER_TOKEN_TYPICAL + images * 256
    );
    remember(e, has_parts(messages), &cause);
    Err(cause)
}

/// The probe's verdict from the prompt tokens of the text alone and with one image.
pub fn judge_probe(label: &str, plain: u64, with_image: u64) -> Result<(), String> {
    if plain == 0 && with_image == 0 {
        tracing::warn!(endpoint = %label, "the server reports no token usage; whether it reads images cannot be checked");
        return Ok(());
    }
    if with_image >= plain + MIN_IMAGE_TOKENS {
        return Ok(());
    }
    Err(format!(
        "{label}: an image added {} prompt tokens ({plain} for the text alone, {with_image} with one image): \
         the server ignores image parts; serve a vision model or use a text-only responder",
        with_image as i64 - plain as i64
    ))
}

/// Runs `probe` once per endpoint in this run (callers at the same time wait for the first) and returns its verdict.
pub fn probe_once(e: &Endpoint, probe: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let cell = verdicts()
        .lock()
        .expect("not poisoned")
        .entry(endpoint_id(e))
        .or_default()
        .clone();
    let verdict = cell.get_or_init(probe).clone();
    if let Err(cause) = &verdict {
        remember(e, true, cause);
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> Endpoint {
        serde_json::from_value(serde_json::json!({"base_url": url, "model": "m"})).unwrap()
    }

    #[test]
    fn dropped_content_is_caught_and_remembered() {
        let e = endpoint("http://delivery-test-1/v1");
        let question =
            "In the middle phase of the clip, does the right hand move toward the head? "
                .repeat(20);
        let messages = [Message {
            role: "user",
            content: vec![
                Content::ImageUrl("data:".into()),
                Content::ImageUrl("data:".into()),
                Content::Text(question),
            ],
        }];
        assert!(check(&e, "m @ h", &messages, 400).is_ok());
        assert!(
            check(&e, "m @ h", &messages, 0).is_ok(),
            "no usage reported: nothing to check"
        );
        assert_eq!(known_failure(&e, &messages), None);
        let err = check(&e, "m @ h", &messages, 7).unwrap_err();
        assert!(
            err.contains("7 prompt tokens")
                && err.contains("with 2 images")
                && err.contains("ignores content parts"),
            "{err}"
        );
        assert_eq!(known_failure(&e, &messages), Some(err));
        assert_eq!(
            known_failure(&e, &[Message::text("user", "hi")]),
            None,
            "plain text requests still go out"
        );
    }

    #[test]
    fn the_probe_asks_once_and_wants_tokens_for_the_image() {
        assert!(judge_probe("m", 20, 300).is_ok());
        assert!(
            judge_probe("m", 20, 21)
                .unwrap_err()
                .contains("ignores image parts")
        );
        assert!(judge_probe("m", 20, 3).unwrap_err().contains("added -17"));
        let e = endpoint("http://delivery-test-2/v1");
        let mut calls = 0;
        for _ in 0..3 {
            let r = probe_once(&e, || {
                calls += 1;
                judge_probe("m", 20, 20)
            });
            assert!(r.is_err());
        }
        assert_eq!(calls, 1);
        assert!(
            known_failure(
                &e,
                &[Message {
                    role: "user",
                    content: vec![Content::ImageUrl("data:".into())]
                }]
            )
            .is_some()
        );
    }
}
