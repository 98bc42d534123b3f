//! A JSON Schema checker for the subset our schemas use (type, enum,
//! required, properties, additionalProperties, min/maxProperties, items,
//! min/maxItems, minimum, maximum, local `$ref`), so format tests need no
//! extra dependency. Unknown keywords fail loudly rather than pass silently.

use serde_json::Value;

/// Every violation of `schema` by `value`, as "path: problem" lines.
pub fn violations(schema: &Value, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(schema, schema, value, "$", &mut out);
    out
}

const KNOWN: [&str; 18] = [
    "$schema",
    "$id",
    "$defs",
    "$ref",
    "title",
    "description",
    "type",
    "enum",
    "required",
    "properties",
    "additionalProperties",
    "minProperties",
    "maxProperties",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
];

fn check(root: &Value, schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let Some(s) = schema.as_object() else { return };
    for key in s.keys() {
        assert!(
            KNOWN.contains(&key.as_str()),
            "schema keyword `{key}` is not supported by the test checker"
        );
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let target = r
            .strip_prefix("#/")
            .expect("local refs only")
            .split('/')
            .fold(root, |v, k| &v[k]);
        check(root, target, value, path, out);
    }
    if let Some(t) = s.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "number" => value.is_number(),
            "integer" => value.is_u64() || value.is_i64(),
            "boolean" => value.is_boolean(),
            other => panic!("unknown type {other}"),
        };
        if !ok {
            out.push(format!("{path}: expected {t}, found {value}"));
            return;
        }
    }
    if let Some(options) = s.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        out.push(format!("{path}: {value} is not one of {options:?}"));
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = s.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            out.push(format!("{path}: {n} < minimum {min}"));
        }
        if let Some(max) = s.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            out.push(format!("{path}: {n} > maximum {max}"));
        }
    }
    if let Some(items) = value.as_array() {
        let len = items.len() as u64;
        if s.get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
        {
            out.push(format!("{path}: {len} items, fewer than minItems"));
        }
        if s.get("maxItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
        {
            out.push(format!("{path}: {len} items, more than maxItems"));
        }
        if let Some(item_schema) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(root, item_schema, item, &format!("{path}[{i}]"), out);
            }
        }
    }
    if let Some(map) = value.as_object() {
        let len = map.len() as u64;
        if s.get("minProperties")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
        {
            out.push(format!(
                "{path}: {len} properties, fewer than minProperties"
            ));
        }
        if s.get("maxProperties")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
        {
            out.push(format!("{path}: {len} properties, more than maxProperties"));
        }
        for name in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().expect("required names are strings");
            if !map.contains_key(name) {
                out.push(format!("{path}: missing required `{name}`"));
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, v) in map {
            let sub = format!("{path}.{k}");
            match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                (Some(p), _) => check(root, p, v, &sub, out),
                (None, Some(Value::Bool(false))) => {
                    out.push(format!("{path}: unexpected property `{k}`"))
                }
                (None, Some(extra)) => check(root, extra, v, &sub, out),
                (None, None) => {}
            }
        }
    }
}

#[test]
fn the_checker_catches_what_the_schemas_forbid() {
    let schema: Value =
        serde_json::from_str(include_str!("../operators/schemas/descriptor.schema.json")).unwrap();
    let entry = serde_json::json!([{"vector": [0.1, -0.2], "coord": [0.5, 0.25]}]);
    let mut good = serde_json::Map::new();
    for p in maflow_operators::common::body::PARTS {
        good.insert(p.into(), entry.clone());
    }
    let good = Value::Object(good);
    assert_eq!(violations(&schema, &good), Vec::<String>::new());
    let mut bad = good.clone();
    bad.as_object_mut().unwrap().remove("Head");
    bad["Torso"][0]["coord"][1] = serde_json::json!(1.5);
    bad["Left_Hand"][0]["vector"] = serde_json::json!([1.0]);
    bad["Nose"] = entry;
    let v = violations(&schema, &bad);
    assert_eq!(v.len(), 4, "{v:#?}");
}
