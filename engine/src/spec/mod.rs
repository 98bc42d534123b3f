//! Pipeline specs: YAML text → positioned tree → checked declarations.
//!
//! A spec has a `name`, optional `description`, `defaults` (`out`, `store`,
//! `workers`) and three lists of nodes, `sources`, `operators` and `sinks`,
//! each node an `id`, a `kind`, `inputs` (ids of upstream nodes) and `params`.
//! `--set PATH=VALUE` arguments are applied to the tree before any check, so
//! they are validated exactly like the file and their errors point at the
//! argument itself. This module checks the shape of the spec; whether kinds,
//! params and connections make sense is the graph compiler's job.

pub mod de;
mod overrides;
pub mod tree;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diagnostic::{Diagnostic, SourceMap, Span, sort_diagnostics};
use tree::{Node, Value};

pub use overrides::apply_override;

/// Which list of the spec a node is declared in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    /// `sources:` — produce clips, take no inputs.
    Sources,
    /// `operators:` — transform their inputs.
    Operators,
    /// `sinks:` — write files; nothing reads from them.
    Sinks,
}

impl Section {
    /// The YAML key of the list.
    pub fn key(self) -> &'static str {
        match self {
            Section::Sources => "sources",
            Section::Operators => "operators",
            Section::Sinks => "sinks",
        }
    }

    const ALL: [Section; 3] = [Section::Sources, Section::Operators, Section::Sinks];
}

/// Run settings that a spec fixes and the command line may override.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Output folder; the run writes under `<out>/<spec name>/`.
    #[serde(default = "default_out")]
    pub out: PathBuf,
    /// Content-addressed store folder, shared by every spec that names it.
    #[serde(default = "default_store")]
    pub store: PathBuf,
    /// Worker threads per process.
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// Threads each worker's frame stage may use inside one clip (an
    /// operator's parallel loops); by default the machine's cores divided among the workers,
    /// at least one, so workers never compete for cores.
    #[serde(default)]
    pub threads_per_worker: Option<usize>,
}

fn default_out() -> PathBuf {
    PathBuf::from("out")
}
fn default_store() -> PathBuf {
    PathBuf::from(".maflow/store")
}
fn default_workers() -> usize {
    1
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            out: default_out(),
            store: default_store(),
            workers: default_workers(),
            threads_per_worker: None,
        }
    }
}

/// One declared node, with the places of its parts.
#[derive(Clone, Debug)]
pub struct NodeDecl {
    /// The list it is declared in.
    pub section: Section,
    /// Its id.
    pub id: String,
    /// Where the id is written (or the node, when the id is missing).
    pub id_span: Span,
    /// Operator kind.
    pub kind: String,
    /// Where the kind is written.
    pub kind_span: Span,
    /// Upstream node ids with their places.
    pub inputs: Vec<(String, Span)>,
    /// Its `params` mapping (an empty mapping when absent).
    pub params: Node,
}

/// A spec whose shape is valid.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The texts it came from, for rendering later diagnostics.
    pub sources: SourceMap,
    /// Spec name; also the output sub-folder.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Run settings.
    pub defaults: Defaults,
    /// All nodes in declaration order.
    pub nodes: Vec<NodeDecl>,
    /// blake3 of the spec after overrides, as hex: identifies the recipe in `run.json`.
    pub hash: String,
    /// Problems that do not stop the graph checks (bad `--set` arguments, bad defaults):
    /// reported together with the compiler's findings so all come at once.
    pub deferred: Vec<Diagnostic>,
}

/// A spec that failed its checks: every problem found, sorted by place.
#[derive(Clone, Debug)]
pub struct SpecErrors {
    /// The texts, for rendering.
    pub sources: SourceMap,
    /// The problems.
    pub diagnostics: Vec<Diagnostic>,
}

impl SpecErrors {
    /// Renders every diagnostic with its snippet, then a count.
    pub fn render(&self) -> String {
        let mut out: String = self
            .diagnostics
            .iter()
            .map(|d| d.render(&self.sources) + "\n")
            .collect();
        let n = self.diagnostics.len();
        out.push_str(&format!(
            "{n} error{} in spec\n",
            if n == 1 { "" } else { "s" }
        ));
        out
    }
}

impl std::fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for SpecErrors {}

/// Reads a spec file and applies `--set` overrides.
pub fn load(path: &Path, overrides: &[String]) -> Result<Spec, SpecErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecErrors {
        sources: SourceMap::default(),
        diagnostics: vec![Diagnostic::global(format!(
            "cannot read spec {}: {e}",
            path.display()
        ))],
    })?;
    parse(&path.display().to_string(), &text, overrides)
}

/// Parses spec text named `name` and applies `--set` overrides.
pub fn parse(name: &str, text: &str, overrides: &[String]) -> Result<Spec, SpecErrors> {
    let mut sources = SourceMap::default();
    let file = sources.add(name, text);
    let mut root = match tree::parse(text, file, 0) {
        Ok(root) => root,
        Err(d) => {
            return Err(SpecErrors {
                sources,
                diagnostics: vec![d],
            });
        }
    };
    let mut deferred: Vec<Diagnostic> = overrides
        .iter()
        .filter_map(|arg| apply_override(&mut root, arg, &mut sources).err())
        .collect();
    let mut diagnostics = Vec::new();
    let spec = check_shape(&root, &mut diagnostics, &mut deferred);
    match spec {
        Some((name, description, defaults, nodes)) if diagnostics.is_empty() => {
            let hash = blake3::hash(root.to_json().to_string().as_bytes())
                .to_hex()
                .to_string();
            Ok(Spec {
                sources,
                name,
                description,
                defaults,
                nodes,
                hash,
                deferred,
            })
        }
        _ => {
            diagnostics.extend(deferred);
            sort_diagnostics(&mut diagnostics);
            Err(SpecErrors {
                sources,
                diagnostics,
            })
        }
    }
}

type Shape = (String, Option<String>, Defaults, Vec<NodeDecl>);

const TOP_KEYS: [&str; 6] = [
    "name",
    "description",
    "defaults",
    "sources",
    "operators",
    "sinks",
];
const NODE_KEYS: [&str; 4] = ["id", "kind", "inputs", "params"];

/// The spec's `name`, a plain name that is also the output folder.
fn spec_name(root: &Node, diags: &mut Vec<Diagnostic>) -> Option<String> {
    match root.get("name") {
        Some(n) => match n.as_str() {
            Some(s) if is_safe_name(s) => Some(s.to_string()),
            _ => {
                diags.push(
                    Diagnostic::at(n.span, "`name` must be a plain name (letters, digits, `_`, `-`, `.`)")
                        .with_help("the name is also the output folder, so it cannot hold `/` or start with `.`"),
                );
                None
            }
        },
        None => {
            diags.push(Diagnostic::at(root.span, "missing field `name`"));
            None
        }
    }
}

/// The spec's `defaults`; what is wrong with them is said after the nodes' errors.
fn checked_defaults(node: &Node, deferred: &mut Vec<Diagnostic>) -> Defaults {
    match de::from_node::<Defaults>(node) {
        Ok(d) if d.workers == 0 => {
            let span = node.get("workers").map_or(node.span, |w| w.span);
            deferred.push(Diagnostic::at(span, "`workers` must be at least 1"));
            Defaults::default()
        }
        Ok(d) if d.threads_per_worker == Some(0) => {
            let span = node.get("threads_per_worker").map_or(node.span, |w| w.span);
            deferred.push(
                Diagnostic::at(span, "`threads_per_worker` must be at least 1")
                    .with_help("leave it out to share the cores among the workers"),
            );
            Defaults::default()
        }
        Ok(d) => d,
        Err(e) => {
            deferred.push(e.into_diagnostic());
            Defaults::default()
        }
    }
}

fn check_shape(
    root: &Node,
    diags: &mut Vec<Diagnostic>,
    deferred: &mut Vec<Diagnostic>,
) -> Option<Shape> {
    let Some(entries) = root.as_map() else {
        diags.push(Diagnostic::at(
            root.span,
            format!("a spec is a mapping, found {}", root.type_name()),
        ));
        return None;
    };
    for (key, _) in entries {
        let k = key.scalar_text();
        if !TOP_KEYS.contains(&k.as_str()) {
            diags.push(
                Diagnostic::at(key.span, format!("unknown top-level field `{k}`"))
                    .suggest(&k, TOP_KEYS),
            );
        }
    }
    let name = spec_name(root, diags);
    let description = root.get("description").map(Node::scalar_text);
    let defaults = root
        .get("defaults")
        .map_or_else(Defaults::default, |node| checked_defaults(node, deferred));
    let mut nodes = Vec::new();
    for section in Section::ALL {
        let Some(list) = root.get(section.key()) else {
            continue;
        };
        match &list.value {
            Value::Seq(items) => nodes.extend(
                items
                    .iter()
                    .filter_map(|item| check_node(section, item, diags)),
            ),
            Value::Null => {}
            _ => diags.push(Diagnostic::at(
                list.span,
                format!(
                    "`{}` is a list of nodes, found {}",
                    section.key(),
                    list.type_name()
                ),
            )),
        }
    }
    if nodes.is_empty() && diags.is_empty() {
        diags.push(Diagnostic::at(root.span, "the spec declares no nodes"));
    }
    Some((name?, description, defaults, nodes))
}

fn check_node(section: Section, node: &Node, diags: &mut Vec<Diagnostic>) -> Option<NodeDecl> {
    let Some(entries) = node.as_map() else {
        diags.push(Diagnostic::at(
            node.span,
            format!(
                "a node is a mapping with id and kind, found {}",
                node.type_name()
            ),
        ));
        return None;
    };
    let mut ok = true;
    for (key, _) in entries {
        let k = key.scalar_text();
        if !NODE_KEYS.contains(&k.as_str()) {
            diags.push(
                Diagnostic::at(key.span, format!("unknown node field `{k}`"))
                    .suggest(&k, NODE_KEYS),
            );
            ok = false;
        }
    }
    let mut text_field = |field: &str| match node.get(field) {
        Some(v) => match v.as_str() {
            Some(s) if !s.is_empty() => Some((s.to_string(), v.span)),
            _ => {
                diags.push(Diagnostic::at(
                    v.span,
                    format!("`{field}` must be a non-empty string"),
                ));
                None
            }
        },
        None => {
            diags.push(Diagnostic::at(node.span, format!("node without `{field}`")));
            None
        }
    };
    let id = text_field("id");
    let kind = text_field("kind");
    if let Some((id, span)) = &id
        && !is_safe_name(id)
    {
        diags.push(Diagnostic::at(
            *span,
            format!("node id `{id}` must be letters, digits, `_`, `-` or `.`"),
        ));
        ok = false;
    }
    let inputs = node_inputs(node, diags, &mut ok);
    let params = node_params(node, diags)?;
    let ((id, id_span), (kind, kind_span)) = (id?, kind?);
    ok.then_some(NodeDecl {
        section,
        id,
        id_span,
        kind,
        kind_span,
        inputs,
        params,
    })
}

/// A node's `inputs`: one id or a list of ids, each with its place; `ok`
/// turns false on a malformed one.
fn node_inputs(node: &Node, diags: &mut Vec<Diagnostic>, ok: &mut bool) -> Vec<(String, Span)> {
    match node.get("inputs") {
        None => Vec::new(),
        Some(n) => match &n.value {
            Value::Null => Vec::new(),
            Value::Str(s) => vec![(s.clone(), n.span)],
            Value::Seq(items) => items
                .iter()
                .filter_map(|i| match i.as_str() {
                    Some(s) => Some((s.to_string(), i.span)),
                    None => {
                        diags.push(Diagnostic::at(i.span, "an input is the id of another node"));
                        *ok = false;
                        None
                    }
                })
                .collect(),
            _ => {
                diags.push(Diagnostic::at(n.span, "`inputs` is a list of node ids"));
                *ok = false;
                Vec::new()
            }
        },
    }
}

/// A node's `params` mapping (empty when left out); `None` when it is not a mapping.
fn node_params(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<Node> {
    match node.get("params") {
        None => Some(Node {
            value: Value::Map(Vec::new()),
            span: node.span,
        }),
        Some(p) if matches!(p.value, Value::Null) => Some(Node {
            value: Value::Map(Vec::new()),
            span: p.span,
        }),
        Some(p) if p.as_map().is_some() => Some(p.clone()),
        Some(p) => {
            diags.push(Diagnostic::at(
                p.span,
                format!("`params` is a mapping, found {}", p.type_name()),
            ));
            None
        }
    }
}

/// True for names usable as file names: letters, digits, `_`, `-`, `.`, not starting with `.`.
pub fn is_safe_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "name: demo\nsources:\n  - id: clips\n    kind: listing\n    params: {path: data}\noperators:\n  - id: frames\n    kind: frames\n    inputs: [clips]\nsinks:\n  - {id: sheets, kind: sheet, inputs: frames}\n";

    #[test]
    fn parses_nodes_in_declaration_order() {
        let spec = parse("s.yaml", GOOD, &[]).unwrap();
        let ids: Vec<_> = spec
            .nodes
            .iter()
            .map(|n| (n.section, n.id.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                (Section::Sources, "clips"),
                (Section::Operators, "frames"),
                (Section::Sinks, "sheets")
            ]
        );
        assert_eq!(spec.nodes[2].inputs[0].0, "frames");
        assert_eq!(spec.defaults.workers, 1);
    }

    #[test]
    fn reports_every_shape_error_sorted() {
        let text =
            "name: ../x\nsorces: []\noperators:\n  - id: a\n    knd: frames\n  - kind: frames\n";
        let errs = parse("s.yaml", text, &[]).unwrap_err();
        let lines: Vec<_> = errs
            .diagnostics
            .iter()
            .map(|d| (d.span.unwrap().line, d.message.as_str()))
            .collect();
        assert_eq!(lines.len(), 5, "{}", errs.render());
        assert_eq!(lines[0].0, 1);
        assert!(errs.render().contains("did you mean `sources`?"));
        assert!(errs.render().contains("did you mean `kind`?"));
    }

    #[test]
    fn hash_changes_with_overrides() {
        let a = parse("s.yaml", GOOD, &[]).unwrap();
        let b = parse("s.yaml", GOOD, &["sources.clips.path=other".into()]).unwrap();
        assert_ne!(a.hash, b.hash);
        assert_eq!(
            b.nodes[0].params.get("path").unwrap().as_str(),
            Some("other")
        );
    }
}
