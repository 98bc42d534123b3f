//! `--set PATH=VALUE`: command-line edits of the spec tree.
//!
//! PATH addresses a top-level field (`defaults.workers`), a node by id
//! (`flow.params.preset`) or a node within its list (`sources.clips.path`).
//! A node field other than id/kind/inputs/params means a param, so
//! `sources.clips.path` sets `params.path`. VALUE is YAML. Each argument is a
//! source text of its own, so errors point at the argument's columns.

use super::tree::{self, Node, Value};
use crate::diagnostic::{Diagnostic, SourceMap, Span};

const NODE_FIELDS: [&str; 4] = ["id", "kind", "inputs", "params"];
const LISTS: [&str; 3] = ["sources", "operators", "sinks"];
const SCALAR_TOP: [&str; 3] = ["name", "description", "defaults"];

/// Applies one `PATH=VALUE` argument to the spec tree.
pub fn apply_override(
    root: &mut Node,
    arg: &str,
    sources: &mut SourceMap,
) -> Result<(), Diagnostic> {
    let id = sources.add("--set", arg);
    let whole = Span {
        source: id,
        line: 1,
        column: 1,
        len: arg.chars().count() as u32,
    };
    let Some((path, value_text)) = arg.split_once('=') else {
        return Err(Diagnostic::at(whole, "expected PATH=VALUE")
            .with_help("for example --set defaults.workers=4"));
    };
    let key_span = Span {
        len: path.chars().count() as u32,
        ..whole
    };
    let value = if value_text.trim().is_empty() {
        Node {
            value: Value::Null,
            span: Span {
                column: key_span.len + 2,
                len: 0,
                ..whole
            },
        }
    } else {
        tree::parse(value_text, id, key_span.len + 1)?
    };
    let segs: Vec<&str> = path.split('.').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(Diagnostic::at(
            key_span,
            format!("empty segment in path `{path}`"),
        ));
    }
    let Value::Map(_) = root.value else {
        return Err(Diagnostic::at(key_span, "the spec is not a mapping"));
    };

    let (target, rest): (&mut Node, Vec<&str>) = if SCALAR_TOP.contains(&segs[0]) {
        (root, segs)
    } else {
        let (list_filter, id, rest) = if LISTS.contains(&segs[0]) && segs.len() >= 2 {
            (Some(segs[0]), segs[1], &segs[2..])
        } else {
            (None, segs[0], &segs[1..])
        };
        let all_ids = node_ids(root);
        let node = find_node(root, list_filter, id).ok_or_else(|| {
            Diagnostic::at(key_span, format!("no node with id `{id}` to set"))
                .suggest(id, all_ids.iter().map(String::as_str).chain(SCALAR_TOP))
        })?;
        if rest.is_empty() {
            return Err(
                Diagnostic::at(key_span, format!("say which field of `{id}` to set"))
                    .with_help(format!("for example --set {id}.params.NAME=VALUE")),
            );
        }
        let mut rest = rest.to_vec();
        if !NODE_FIELDS.contains(&rest[0]) {
            rest.insert(0, "params");
        }
        (node, rest)
    };
    set_path(target, &rest, value, key_span);
    Ok(())
}

fn node_ids(root: &Node) -> Vec<String> {
    LISTS
        .iter()
        .filter_map(|l| root.get(l))
        .filter_map(|list| match &list.value {
            Value::Seq(items) => Some(items),
            _ => None,
        })
        .flatten()
        .filter_map(|n| n.get("id").and_then(Node::as_str).map(str::to_string))
        .collect()
}

fn find_node<'a>(root: &'a mut Node, list_filter: Option<&str>, id: &str) -> Option<&'a mut Node> {
    let Value::Map(entries) = &mut root.value else {
        return None;
    };
    for (key, list) in entries.iter_mut() {
        let name = key.scalar_text();
        if !LISTS.contains(&name.as_str()) || list_filter.is_some_and(|f| f != name) {
            continue;
        }
        if let Value::Seq(items) = &mut list.value
            && let Some(node) = items
                .iter_mut()
                .find(|n| n.get("id").and_then(Node::as_str) == Some(id))
        {
            return Some(node);
        }
    }
    None
}

fn set_path(node: &mut Node, path: &[&str], value: Node, key_span: Span) {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return;
    };
    if !matches!(node.value, Value::Map(_)) {
        node.value = Value::Map(Vec::new());
    }
    let Value::Map(entries) = &mut node.value else {
        unreachable!("made a map above")
    };
    let pos = match entries.iter().position(|(k, _)| k.scalar_text() == *first) {
        Some(pos) => pos,
        None => {
            let key = Node {
                value: Value::Str(first.to_string()),
                span: key_span,
            };
            entries.push((
                key,
                Node {
                    value: Value::Map(Vec::new()),
                    span: key_span,
                },
            ));
            entries.len() - 1
        }
    };
    set_path(&mut entries[pos].1, rest, value, key_span);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> (Node, SourceMap) {
        let mut sources = SourceMap::default();
        let id = sources.add("s.yaml", "");
        let text = "name: d\nsources:\n  - id: clips\n    kind: listing\noperators:\n  - id: step\n    kind: frames\n    params: {preset: medium}\n";
        (tree::parse(text, id, 0).unwrap(), sources)
    }

    #[test]
    fn node_fields_default_to_params_and_values_are_yaml() {
        let (mut root, mut sources) = spec();
        apply_override(&mut root, "sources.clips.path=/data/clips", &mut sources).unwrap();
        apply_override(&mut root, "step.params.preset=fast", &mut sources).unwrap();
        apply_override(&mut root, "defaults.workers=4", &mut sources).unwrap();
        let json = root.to_json();
        assert_eq!(json["sources"][0]["params"]["path"], "/data/clips");
        assert_eq!(json["operators"][0]["params"]["preset"], "fast");
        assert_eq!(json["defaults"]["workers"], 4);
    }

    #[test]
    fn values_keep_their_column_in_the_argument() {
        let (mut root, mut sources) = spec();
        apply_override(&mut root, "step.params.size=[1, 2]", &mut sources).unwrap();
        let size = root.get("operators").map(|o| match &o.value {
            Value::Seq(items) => items[0].get("params").unwrap().get("size").unwrap().clone(),
            _ => unreachable!(),
        });
        assert_eq!(size.unwrap().span.column, 18);
    }

    #[test]
    fn unknown_node_is_an_error_with_a_suggestion() {
        let (mut root, mut sources) = spec();
        let err = apply_override(&mut root, "stp.params.preset=fast", &mut sources).unwrap_err();
        assert_eq!(err.help.as_deref(), Some("did you mean `step`?"));
        let err = apply_override(&mut root, "workers", &mut sources).unwrap_err();
        assert!(err.message.contains("PATH=VALUE"));
    }
}
