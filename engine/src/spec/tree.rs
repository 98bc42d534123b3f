//! The spec as a tree of YAML values that remember where they were written.
//!
//! serde-saphyr parses the text (with its limits on anchors and aliases, so an
//! alias bomb is refused); every node is read through `Spanned` so later
//! checks can point at the exact key or value that is wrong.

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diagnostic::{Diagnostic, SourceId, Span};

/// One YAML value with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it was written.
    pub span: Span,
}

/// A YAML value (core schema).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in written order; keys are nodes so they keep positions.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The string if this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entries if this is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value under a string key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the value's type for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Converts to JSON (map keys rendered as strings), for canonical hashing and display.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.scalar_text(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// A scalar written back as text (used for keys and for string targets).
    pub fn scalar_text(&self) -> String {
        match &self.value {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Str(s) => s.clone(),
            Value::Seq(_) | Value::Map(_) => String::new(),
        }
    }
}

/// Parses YAML text into a positioned tree; `source` tags every span.
///
/// `first_line` and `first_column` shift positions, for texts cut out of a
/// larger line (a `--set key=value` argument).
pub fn parse(text: &str, source: SourceId, first_column: u32) -> Result<Node, Diagnostic> {
    let raw: Spanned<Raw> =
        serde_saphyr::from_str(text).map_err(|e| saphyr_error(&e, source, first_column))?;
    Ok(convert(raw, source, first_column))
}

fn saphyr_error(error: &serde_saphyr::Error, source: SourceId, shift: u32) -> Diagnostic {
    let message = error.to_string();
    // The first line of serde-saphyr's message is the cause; its position comes separately.
    let cause = message
        .lines()
        .next()
        .unwrap_or("invalid YAML")
        .trim()
        .to_string();
    match error.location() {
        Some(loc) if loc.line() > 0 => Diagnostic::at(
            Span {
                source,
                line: loc.line() as u32,
                column: loc.column() as u32 + if loc.line() == 1 { shift } else { 0 },
                len: 1,
            },
            format!("invalid YAML: {cause}"),
        ),
        _ => Diagnostic::global(format!("invalid YAML: {cause}")),
    }
}

fn convert(raw: Spanned<Raw>, source: SourceId, shift: u32) -> Node {
    let loc = raw.referenced;
    let line = loc.line() as u32;
    let span = Span {
        source,
        line,
        column: loc.column() as u32 + if line == 1 { shift } else { 0 },
        len: loc.span().len() as u32,
    };
    let value = match raw.value {
        Raw::Null => Value::Null,
        Raw::Bool(b) => Value::Bool(b),
        Raw::Int(i) => Value::Int(i),
        Raw::Float(f) => Value::Float(f),
        Raw::Str(s) => Value::Str(s),
        Raw::Seq(items) => Value::Seq(
            items
                .into_iter()
                .map(|n| convert(n, source, shift))
                .collect(),
        ),
        Raw::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (convert(k, source, shift), convert(v, source, shift)))
                .collect(),
        ),
    };
    Node { value, span }
}

/// What serde-saphyr hands us before positions are normalised.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(RawVisitor)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        i64::try_from(v).map(Raw::Int).or(Ok(Raw::Float(v as f64)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Raw, E> {
        i64::try_from(v).map(Raw::Int).or(Ok(Raw::Float(v as f64)))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Raw, E> {
        i64::try_from(v).map(Raw::Int).or(Ok(Raw::Float(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Raw>>()? {
            let value = map.next_value::<Spanned<Raw>>()?;
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_line_and_column_of_nested_values() {
        let text = "name: demo\nsources:\n  - id: clips\n    kind: list\n    params: {path: data, limit: 3}\n";
        let root = parse(text, 0, 0).unwrap();
        let node = &root.get("sources").unwrap();
        let Value::Seq(items) = &node.value else {
            panic!("not a list")
        };
        let kind = items[0].get("kind").unwrap();
        assert_eq!(kind.as_str(), Some("list"));
        assert_eq!((kind.span.line, kind.span.column), (4, 11));
        let limit = items[0].get("params").unwrap().get("limit").unwrap();
        assert_eq!(limit.value, Value::Int(3));
        assert_eq!(limit.span.line, 5);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse("name: demo\nsources: [a, b\n", 0, 0).unwrap_err();
        assert!(err.span.is_some(), "{err:?}");
        assert!(err.message.starts_with("invalid YAML"), "{err:?}");
    }
}
