//! Operator params: their documentation, reading them into config structs,
//! and secrets.
//!
//! A params struct marked `#[configurable]` documents itself
//! ([`Configurable`]): its doc comments and defaults are what `maflow ops`
//! shows, rendered by [`example_yaml`]. [`parse_params`] reports every bad
//! field of a node, not only the first: after each serde error it drops the
//! entry at fault and tries again.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::spec::de::from_node;
use crate::spec::tree::{Node, Value};

pub use maflow_macros::configurable;

/// One param of an operator, as its params struct documents it.
#[derive(Clone, Debug)]
pub struct ParamDoc {
    /// The key in `params:`.
    pub name: &'static str,
    /// Its doc comment.
    pub doc: &'static str,
    /// Its default, serialised (`None`: the param is required).
    pub default: Option<serde_json::Value>,
    /// An example value in YAML: the value shown for a required param, an
    /// alternative to the default otherwise.
    pub example: Option<&'static str>,
    /// The fields of a nested params struct (`#[fields(Type)]`), listed under this one.
    pub fields: Option<fn() -> Vec<ParamDoc>>,
}

/// A params struct that documents itself; implemented by `#[configurable]`.
pub trait Configurable {
    /// The struct's doc comment: the operator kind's documentation.
    const DOC: &'static str;
    /// Every param, in declaration order.
    fn params() -> Vec<ParamDoc>;
}

/// A default value as it is shown and keyed.
///
/// # Panics
/// When the value cannot be written as JSON: params structs are code, so that is a bug.
pub fn to_param_value<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("param defaults serialise to JSON")
}

/// Example params in YAML: each param's doc as comments above it, then its
/// default (or, when required, its example); an example beside a default is
/// shown as a commented alternative.
pub fn example_yaml(params: &[ParamDoc]) -> String {
    if params.is_empty() {
        return "{}  # no params\n".to_string();
    }
    let mut out = String::new();
    for param in params {
        for line in param.doc.lines() {
            out.push_str(
                if line.is_empty() {
                    "#\n".to_string()
                } else {
                    format!("# {line}\n")
                }
                .as_str(),
            );
        }
        match (&param.default, param.example) {
            (Some(default), example) => {
                out.push_str(&format!("{}: {}\n", param.name, yaml_flow(default)));
                if let Some(example) = example {
                    out.push_str(&format!("# e.g. {}: {example}\n", param.name));
                }
            }
            (None, Some(example)) => out.push_str(&format!("{}: {example}\n", param.name)),
            (None, None) => out.push_str(&format!("{}: ~  # required\n", param.name)),
        }
        if let Some(fields) = param.fields {
            out.push_str(&format!("# `{}` fields:\n", param.name));
            for line in example_yaml(&fields()).lines() {
                let line = line
                    .strip_prefix("# ")
                    .or(line.strip_prefix('#'))
                    .map_or(format!("#   {line}"), |doc| format!("#   # {doc}"));
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
    }
    out
}

/// A JSON value in YAML flow style, with strings bare wherever YAML reads them back as the same string.
fn yaml_flow(value: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match value {
        J::Null => "~".into(),
        J::Bool(b) => b.to_string(),
        // An `f32` param widens to an `f64` with a long tail (0.2 → 0.20000000298023224): show it as the `f32` it was.
        J::Number(n) => match n.as_f64() {
            Some(x) if n.is_f64() && f64::from(x as f32) == x => {
                let text = (x as f32).to_string();
                if text.contains(['.', 'e', 'N', 'i']) {
                    text
                } else {
                    text + ".0"
                }
            }
            _ => n.to_string(),
        },
        J::String(s) if plain_scalar(s) => s.clone(),
        J::String(s) => serde_json::to_string(s).expect("strings serialise"),
        J::Array(items) => format!(
            "[{}]",
            items.iter().map(yaml_flow).collect::<Vec<_>>().join(", ")
        ),
        J::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}: {}", yaml_flow(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

/// Whether a string can be written without quotes in flow YAML and read back as itself.
fn plain_scalar(s: &str) -> bool {
    let special = ["true", "false", "null", "yes", "no", "on", "off", "~"];
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
        && !s.starts_with(['-', '.'])
        && s.parse::<f64>().is_err()
        && !special.contains(&s.to_ascii_lowercase().as_str())
}

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
                if removed
                    .iter()
                    .any(|k| message == format!("missing field `{k}`"))
                {
                    break;
                }
                let span = e.span();
                diags.push(e.into_diagnostic());
                let Value::Map(entries) = &mut node.value else {
                    break;
                };
                let Some(pos) = entries
                    .iter()
                    .position(|(k, v)| span.is_some_and(|s| contains(k, s) || contains(v, s)))
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
        Value::Map(entries) => entries
            .iter()
            .any(|(k, v)| contains(k, span) || contains(v, span)),
        _ => false,
    }
}

/// A diagnostic on one param's value (or on the params when it is absent).
pub fn param_error(params: &Node, field: &str, message: impl Into<String>) -> Diagnostic {
    let span = params.get(field).map_or(params.span, |v| v.span);
    Diagnostic::at(span, message)
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
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed `${{env:` in `{}`", self.0))?;
            let name = &after[..end];
            let value = std::env::var(name)
                .map_err(|_| format!("environment variable `{name}` is not set"))?;
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The variable names of every `${env:NAME}` in `text`.
pub fn env_references(text: &str) -> impl Iterator<Item = &str> {
    text.split("${env:")
        .skip(1)
        .filter_map(|after| after.split_once('}').map(|(name, _)| name))
}

/// A diagnostic for every `${env:NAME}` in a node's params whose variable is unset.
pub fn unset_env_references(node_id: &str, params: &Node) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let mut stack = vec![params];
    while let Some(node) = stack.pop() {
        match &node.value {
            Value::Str(text) => {
                for name in env_references(text).filter(|name| std::env::var_os(name).is_none()) {
                    found.push(
                        Diagnostic::at(node.span, format!("{node_id}: environment variable `{name}` is not set"))
                            .with_help(format!("export {name}=… before `plan` or `run`; the value is read then and never stored")),
                    );
                }
            }
            Value::Seq(items) => stack.extend(items),
            Value::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    found
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

    fn nested_fields() -> Vec<ParamDoc> {
        vec![
            ParamDoc {
                name: "model",
                doc: "Served model.",
                default: None,
                example: None,
                fields: None,
            },
            ParamDoc {
                name: "max_tokens",
                doc: "Most tokens.",
                default: Some(serde_json::json!(1024)),
                example: None,
                fields: None,
            },
        ]
    }

    #[test]
    fn example_params_read_back_as_their_defaults() {
        let params = vec![
            ParamDoc {
                name: "mode",
                doc: "How.\nSecond line.",
                default: Some(serde_json::json!("median")),
                example: None,
                fields: None,
            },
            ParamDoc {
                name: "trim",
                doc: "Cut.",
                default: Some(serde_json::json!(0.2f32)),
                example: None,
                fields: None,
            },
            ParamDoc {
                name: "tags",
                doc: "Tags.",
                default: Some(serde_json::json!(["a", "true", "1.5", "x y"])),
                example: None,
                fields: None,
            },
            ParamDoc {
                name: "path",
                doc: "Where.",
                default: None,
                example: Some("tests/data"),
                fields: None,
            },
            ParamDoc {
                name: "llm",
                doc: "Endpoint.",
                default: Some(serde_json::Value::Null),
                example: Some("{model: m}"),
                fields: Some(nested_fields),
            },
            ParamDoc {
                name: "nested",
                doc: "Nested.",
                default: Some(serde_json::json!({"k": 0.5, "s": "${env:A}"})),
                example: None,
                fields: None,
            },
        ];
        let text = example_yaml(&params);
        assert!(
            text.contains("# How.\n# Second line.\nmode: median\n"),
            "{text}"
        );
        assert!(text.contains("# e.g. llm: {model: m}\n# `llm` fields:\n#   # Served model.\n#   model: ~  # required\n#   # Most tokens.\n#   max_tokens: 1024\n"), "{text}");
        assert!(text.contains("\ntrim: 0.2\n"), "{text}");
        let node = parse(&text, 0, 0).unwrap();
        let read = |k: &str| {
            crate::spec::de::from_node::<serde_json::Value>(node.get(k).unwrap()).unwrap()
        };
        assert_eq!(read("mode"), serde_json::json!("median"));
        assert_eq!(read("tags"), serde_json::json!(["a", "true", "1.5", "x y"]));
        assert_eq!(read("path"), serde_json::json!("tests/data"));
        assert_eq!(read("llm"), serde_json::Value::Null);
        assert_eq!(
            read("nested"),
            serde_json::json!({"k": 0.5, "s": "${env:A}"})
        );
        assert_eq!(example_yaml(&[]).trim(), "{}  # no params");
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
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            "\"Bearer ${env:MAFLOW_TEST_SECRET_KEY}\""
        );
        let missing: Secret = serde_json::from_str("\"${env:MAFLOW_TEST_UNSET_VAR}\"").unwrap();
        assert!(
            missing
                .resolve()
                .unwrap_err()
                .contains("MAFLOW_TEST_UNSET_VAR")
        );
    }
}
