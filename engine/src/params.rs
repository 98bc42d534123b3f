//! Reading operator params into their config structs, and secrets.
//!
//! [`parse_params`] reports every bad field of a node, not only the first:
//! after each serde error it drops the entry at fault and tries again.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::registry::{Built, Runtime};
use crate::spec::de::from_node;
use crate::spec::tree::{Node, Value};

/// Deserializes a config; on failure returns one diagnostic per bad entry.
pub fn parse_params<C: DeserializeOwned>(params: &Node) -> Result<C, Vec<Diagnostic>> {
    let mut node = params.clone();
    let mut diags = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    for _ in 0..32 {
        match from_node::<C>(&node) {
            Ok(config) if diags.is_empty() => return Ok(config),
            Ok(_) => break,
            Err(e) => {
                let message = e.to_string();
                // A field we dropped ourselves is not missing in the user's spec.
                if removed.iter().any(|k| message == format!("missing field `{k}`")) {
                    break;
                }
                let span = e.span();
                diags.push(e.into_diagnostic());
                let Value::Map(entries) = &mut node.value else { break };
                let Some(pos) = entries.iter().position(|(k, v)| span.is_some_and(|s| contains(k, s) || contains(v, s)))
                else {
                    break;
                };
                removed.push(entries.remove(pos).0.scalar_text());
            }
        }
    }
    Err(diags)
}

/// Whether a span lies within a node (same text, from the node's start to the end of its subtree).
fn contains(node: &Node, span: crate::diagnostic::Span) -> bool {
    if node.span == span {
        return true;
    }
    match &node.value {
        Value::Seq(items) => items.iter().any(|n| contains(n, span)),
        Value::Map(entries) => entries.iter().any(|(k, v)| contains(k, span) || contains(v, span)),
        _ => false,
    }
}

/// A diagnostic on one param's value (or on the params when it is absent).
pub fn param_error(params: &Node, field: &str, message: impl Into<String>) -> Diagnostic {
    let span = params.get(field).map_or(params.span, |v| v.span);
    Diagnostic::at(span, message)
}

/// Packs a config and runtime; the config is serialised for cache keys.
pub fn built<C: Serialize>(config: &C, runtime: Runtime) -> Built {
    let config = serde_json::to_value(config).expect("operator configs serialise to JSON");
    Built { runtime, config }
}

/// A string param that may hold `${env:NAME}` references.
///
/// It serialises as written, so cache keys, `run.json` and outputs carry the
/// reference and never the secret; [`Secret::resolve`] reads the environment
/// at the moment of use.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The text as written in the spec.
    pub fn reference(&self) -> &str {
        &self.0
    }

    /// Expands every `${env:NAME}`; fails naming the variable that is unset.
    pub fn resolve(&self) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = self.0.as_str();
        while let Some(start) = rest.find("${env:") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 6..];
            let end = after.find('}').ok_or_else(|| format!("unclosed `${{env:` in `{}`", self.0))?;
            let name = &after[..end];
            let value = std::env::var(name).map_err(|_| format!("environment variable `{name}` is not set"))?;
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::tree::parse;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Cfg {
        #[serde(default)]
        size: u32,
        #[serde(default)]
        mode: Option<Mode>,
        name: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fast,
    }

    #[test]
    fn reports_every_bad_field_of_a_node() {
        let node = parse("name: a\nsize: -1\nmod: fast\nmode: slow\n", 0, 0).unwrap();
        let diags = parse_params::<Cfg>(&node).unwrap_err();
        let lines: Vec<u32> = diags.iter().map(|d| d.span.unwrap().line).collect();
        assert_eq!(lines, [2, 3, 4], "{diags:#?}");
    }

    #[test]
    fn a_dropped_required_field_is_not_reported_missing() {
        let node = parse("name: [1]\n", 0, 0).unwrap();
        let diags = parse_params::<Cfg>(&node).unwrap_err();
        assert_eq!(diags.len(), 1, "{diags:#?}");
    }

    #[test]
    #[allow(unsafe_code)]
    fn secrets_serialise_as_references_and_resolve_from_the_environment() {
        // SAFETY of the test: the variable name is unique to this test.
        unsafe { std::env::set_var("MAFLOW_TEST_SECRET_KEY", "sk-123") };
        let s: Secret = serde_json::from_str("\"Bearer ${env:MAFLOW_TEST_SECRET_KEY}\"").unwrap();
        assert_eq!(s.resolve().unwrap(), "Bearer sk-123");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"Bearer ${env:MAFLOW_TEST_SECRET_KEY}\"");
        let missing: Secret = serde_json::from_str("\"${env:MAFLOW_TEST_UNSET_VAR}\"").unwrap();
        assert!(missing.resolve().unwrap_err().contains("MAFLOW_TEST_UNSET_VAR"));
    }
}
