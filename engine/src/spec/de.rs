//! A serde deserializer over the positioned tree.
//!
//! Operator configs are plain `#[serde(deny_unknown_fields)]` structs; reading
//! them through this deserializer makes every serde error (unknown field, bad
//! value, missing field) carry the span of the key or value at fault, plus a
//! "did you mean" for misspelt fields and variants.

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::tree::{Node, Value};
use crate::diagnostic::{Diagnostic, Span, nearest};

/// A deserialization error with the place it happened, once known.
#[derive(Debug)]
pub struct DeError {
    message: String,
    span: Option<Span>,
    help: Option<String>,
}

impl DeError {
    fn at(mut self, span: Span) -> Self {
        self.span.get_or_insert(span);
        self
    }

    /// Where it happened.
    pub fn span(&self) -> Option<Span> {
        self.span
    }

    /// As a spec diagnostic.
    pub fn into_diagnostic(self) -> Diagnostic {
        Diagnostic {
            message: self.message,
            span: self.span,
            help: self.help,
        }
    }
}

impl std::fmt::Display for DeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self {
            message: msg.to_string(),
            span: None,
            help: None,
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let help = match nearest(field, expected.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("valid fields: {}", expected.join(", ")),
        };
        Self {
            message: format!("unknown field `{field}`"),
            span: None,
            help: Some(help),
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let help = match nearest(variant, expected.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("expected one of: {}", expected.join(", ")),
        };
        Self {
            message: format!("unknown value `{variant}`"),
            span: None,
            help: Some(help),
        }
    }
}

/// Deserializes `T` from a node; the error, if any, points into the node.
pub fn from_node<T: de::DeserializeOwned>(node: &Node) -> Result<T, DeError> {
    T::deserialize(NodeDeserializer(node)).map_err(|e| e.at(node.span))
}

/// Deserializer for one node.
#[derive(Clone, Copy)]
pub struct NodeDeserializer<'a>(pub &'a Node);

impl<'de, 'a> de::Deserializer<'de> for NodeDeserializer<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.0.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_str(s),
            Value::Seq(items) => visitor.visit_seq(SeqNodes {
                items: items.iter(),
            }),
            Value::Map(entries) => visitor.visit_map(MapNodes {
                entries: entries.iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0.value {
            Value::Int(i) => visitor.visit_f64(i as f64),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.0.value {
            // A plain scalar such as `42` or `true` is still a valid string value.
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                visitor.visit_string(self.0.scalar_text())
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.0.value {
            Value::Str(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Map(entries) if entries.len() == 1 => visitor.visit_enum(EnumNode {
                key: &entries[0].0,
                value: &entries[0].1,
            }),
            _ => Err(de::Error::custom(format!(
                "expected a variant name or a one-key mapping, found {}",
                self.0.type_name()
            ))),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier
    }
}

struct SeqNodes<'a> {
    items: std::slice::Iter<'a, Node>,
}

impl<'de, 'a> de::SeqAccess<'de> for SeqNodes<'a> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some(node) => seed
                .deserialize(NodeDeserializer(node))
                .map(Some)
                .map_err(|e| e.at(node.span)),
            None => Ok(None),
        }
    }
}

struct MapNodes<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
}

impl<'de, 'a> de::MapAccess<'de> for MapNodes<'a> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(NodeDeserializer(key))
                    .map(Some)
                    .map_err(|e| e.at(key.span))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let node = self
            .value
            .take()
            .expect("serde asks for a value after its key");
        seed.deserialize(NodeDeserializer(node))
            .map_err(|e| e.at(node.span))
    }
}

struct EnumNode<'a> {
    key: &'a Node,
    value: &'a Node,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumNode<'a> {
    type Error = DeError;
    type Variant = NodeDeserializer<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), DeError> {
        let variant = seed
            .deserialize(NodeDeserializer(self.key))
            .map_err(|e| e.at(self.key.span))?;
        Ok((variant, NodeDeserializer(self.value)))
    }
}

impl<'de, 'a> de::VariantAccess<'de> for NodeDeserializer<'a> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        de::Deserialize::deserialize(self)
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::tree::parse;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        format: Format,
        #[serde(default)]
        width: Option<u32>,
        label: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Format {
        Gray,
        Rgb,
    }

    fn read(text: &str) -> Result<Cfg, DeError> {
        from_node(&parse(text, 0, 0).unwrap())
    }

    #[test]
    fn reads_typed_values_and_plain_scalars_as_strings() {
        let cfg = read("format: rgb\nwidth: 320\nlabel: 42\n").unwrap();
        assert_eq!(
            cfg,
            Cfg {
                format: Format::Rgb,
                width: Some(320),
                label: "42".into()
            }
        );
    }

    #[test]
    fn unknown_field_points_at_the_key_and_suggests() {
        let err = read("format: gray\nwidht: 3\nlabel: x\n").unwrap_err();
        assert_eq!(err.span().map(|s| (s.line, s.column)), Some((2, 1)));
        let d = err.into_diagnostic();
        assert_eq!(d.message, "unknown field `widht`");
        assert_eq!(d.help.as_deref(), Some("did you mean `width`?"));
    }

    #[test]
    fn bad_values_point_at_the_value() {
        let err = read("format: grey\nlabel: x\n").unwrap_err();
        assert_eq!(err.span().map(|s| (s.line, s.column)), Some((1, 9)));
        assert_eq!(
            err.into_diagnostic().help.as_deref(),
            Some("did you mean `gray`?")
        );
        let err = read("format: gray\nwidth: -4\nlabel: x\n").unwrap_err();
        assert_eq!(err.span().map(|s| (s.line, s.column)), Some((2, 8)));
        assert!(err.to_string().contains("-4"), "{err}");
    }

    #[test]
    fn missing_field_points_at_the_mapping() {
        let err = read("format: gray\n").unwrap_err();
        assert!(err.to_string().contains("missing field `label`"), "{err}");
        assert_eq!(err.span().map(|s| s.line), Some(1));
    }
}
