//! Compiling a spec into a typed, checked graph with fused frame stages.
//!
//! Every problem is collected before failing: unknown kinds, kinds in the
//! wrong list, bad params, missing or dangling inputs, port type mismatches
//! and cycles (with their path). The frame-level chain that starts at each
//! frame producer (a decoder → the consumers of its frames) becomes one [`Stage`]
//! that runs per clip inside one worker, so frames never cross workers.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, Span, sort_diagnostics};
use crate::registry::{Built, OperatorKind, Port, PortType, Registry, Runtime};
use crate::spec::{NodeDecl, Spec, SpecErrors};

/// A node of the compiled graph.
#[derive(Clone)]
pub struct PlanNode {
    /// Its id.
    pub id: String,
    /// Its kind's table row.
    pub kind: &'static OperatorKind,
    /// Upstream nodes, by index into [`Plan::nodes`], in port order.
    pub inputs: Vec<usize>,
    /// Its runtime.
    pub runtime: Runtime,
    /// Canonical config (defaults filled in), part of its cache keys.
    pub config: serde_json::Value,
    /// blake3 of (kind, version, config): what the node does, independent of data.
    pub fingerprint: [u8; 32],
    /// The settings of the pictures it draws, when it draws any (not in `config`).
    pub pictures: Option<serde_json::Value>,
    /// blake3 of (kind, version, picture settings): keys its pictures, with its output's key.
    pub picture_fingerprint: Option<[u8; 32]>,
    /// The stage it runs in, if it is frame-level.
    pub stage: Option<usize>,
}

impl PlanNode {
    /// What its stored outputs note as their maker: `<kind>@<version>`.
    pub fn origin(&self) -> String {
        format!("{}@{}", self.kind.name, self.kind.version)
    }

    /// What its stored pictures note as their maker.
    pub fn picture_origin(&self) -> String {
        format!("{} pictures", self.origin())
    }

    /// Its config as the spec sets it: the keyed config with the picture settings.
    pub fn full_config(&self) -> serde_json::Value {
        let mut config = self.config.clone();
        if let (Some(map), Some(serde_json::Value::Object(pictures))) =
            (config.as_object_mut(), &self.pictures)
        {
            map.extend(pictures.clone());
        }
        config
    }
}

/// A fused per-clip chain: one frame producer and the consumers of its frames.
#[derive(Clone, Debug)]
pub struct Stage {
    /// The source node whose clips it processes.
    pub source: usize,
    /// The frame producer.
    pub producer: usize,
    /// Frame consumers, in topological order.
    pub consumers: Vec<usize>,
}

/// A compiled spec, nodes in topological order.
pub struct Plan {
    /// The spec it came from.
    pub spec: Spec,
    /// Nodes, every node after its inputs.
    pub nodes: Vec<PlanNode>,
    /// Fused frame stages.
    pub stages: Vec<Stage>,
}

impl Plan {
    /// What the spec refers to that this machine cannot resolve now (an unset
    /// `${env:…}`): `validate` warns, `plan` and `run` refuse before anything runs.
    pub fn unresolved(&self) -> Vec<Diagnostic> {
        let mut found: Vec<Diagnostic> = self
            .spec
            .nodes
            .iter()
            .flat_map(|decl| crate::params::unset_env_references(&decl.id, &decl.params))
            .collect();
        sort_diagnostics(&mut found);
        found
    }

    /// Asks each record operator's service what it serves
    /// ([`RecordOperator::served`](crate::registry::RecordOperator::served))
    /// and folds the answer into the node's config (as `_served`, derived)
    /// and fingerprint, so its keys follow the weights, not the name. Runs
    /// and plans call it once before keys are computed; validating a spec
    /// does not, and touches no network.
    pub fn ask_services(&mut self) {
        let cache_dir = self.spec.defaults.store.join("requests");
        for node in &mut self.nodes {
            if let Runtime::Record(op) = &node.runtime
                && let Some(served) = op.served(&cache_dir)
                && let Some(map) = node.config.as_object_mut()
            {
                map.insert("_served".into(), served);
                node.fingerprint = node_fingerprint(node.kind, &node.config);
            }
        }
    }

    /// Index of the node with this id.
    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    /// Node indices of sources, in order.
    pub fn sources(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&i| matches!(self.nodes[i].runtime, Runtime::Source(_)))
    }

    /// The source node that feeds `node` (every non-source node has exactly one upstream source).
    pub fn source_of(&self, node: usize) -> usize {
        let mut n = node;
        while let Some(&first) = self.nodes[n].inputs.first() {
            n = first;
        }
        n
    }

    /// A human-readable listing of the graph, one node per line.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let inputs: Vec<&str> = node
                .inputs
                .iter()
                .map(|&j| self.nodes[j].id.as_str())
                .collect();
            let stage = node
                .stage
                .map(|s| format!("  [frame stage {s}]"))
                .unwrap_or_default();
            let arrow = if inputs.is_empty() {
                String::new()
            } else {
                format!(" <- {}", inputs.join(", "))
            };
            out.push_str(&format!(
                "{i:>3}  {} ({} v{}){arrow}{stage}\n",
                node.id, node.kind.name, node.kind.version
            ));
        }
        out
    }
}

/// What a node's declaration compiled into: its kind and, when its params are good, its runtime and config.
type BuiltDecl = (Option<&'static OperatorKind>, Option<Built>);

/// Compiles a spec against the registry.
pub fn compile(spec: Spec, registry: &'static Registry) -> Result<Plan, SpecErrors> {
    let mut diags = spec.deferred.clone();
    let index = index_ids(&spec, &mut diags);
    let (kinds, mut built): (Vec<_>, Vec<_>) = spec
        .nodes
        .iter()
        .map(|decl| build_node(decl, registry, &mut diags))
        .unzip();
    let edges = connect(&spec, &index, &kinds, &mut diags);
    let order = match topological_order(&edges) {
        Ok(order) => Some(order),
        Err(cycle) => {
            let path: Vec<&str> = cycle.iter().map(|&i| spec.nodes[i].id.as_str()).collect();
            diags.push(Diagnostic::at(
                spec.nodes[cycle[0]].id_span,
                format!("cyclic dependency [{}]", path.join(" -> ")),
            ));
            None
        }
    };
    sort_diagnostics(&mut diags);
    let (Some(order), true) = (order, diags.is_empty()) else {
        return Err(SpecErrors {
            sources: spec.sources,
            diagnostics: diags,
        });
    };

    let mut nodes = plan_nodes(&spec, &order, &kinds, &mut built, &edges);
    match fuse(&mut nodes) {
        Ok(stages) => Ok(Plan {
            spec,
            nodes,
            stages,
        }),
        Err(node) => {
            let decl = &spec.nodes[order[node]];
            let inputs: Vec<&str> = decl.inputs.iter().map(|(id, _)| id.as_str()).collect();
            let span = decl.inputs.first().map_or(decl.id_span, |i| i.1);
            let diag = Diagnostic::at(
                span,
                format!("{}: its inputs ({}) come from different frame producers", decl.id, inputs.join(", ")),
            )
            .with_help("a frame-level operator combines per-frame data of one clip: feed every input from the same frame producer");
            Err(SpecErrors {
                sources: spec.sources,
                diagnostics: vec![diag],
            })
        }
    }
}

/// The built nodes in topological `order`, their inputs renumbered to it.
fn plan_nodes(
    spec: &Spec,
    order: &[usize],
    kinds: &[Option<&'static OperatorKind>],
    built: &mut [Option<Built>],
    edges: &[Vec<usize>],
) -> Vec<PlanNode> {
    let mut new_index = vec![0; spec.nodes.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    order
        .iter()
        .map(|&old| {
            let Built {
                runtime,
                config,
                pictures,
            } = built[old]
                .take()
                .expect("every node built when no diagnostics");
            let kind = kinds[old].expect("every kind known when no diagnostics");
            let fingerprint = node_fingerprint(kind, &config);
            let picture_fingerprint = pictures.as_ref().map(|p| picture_fingerprint(kind, p));
            PlanNode {
                id: spec.nodes[old].id.clone(),
                kind,
                inputs: edges[old].iter().map(|&j| new_index[j]).collect(),
                runtime,
                config,
                fingerprint,
                pictures,
                picture_fingerprint,
                stage: None,
            }
        })
        .collect()
}

/// Node ids to their declaration's position; a repeated id is a diagnostic.
fn index_ids<'s>(spec: &'s Spec, diags: &mut Vec<Diagnostic>) -> HashMap<&'s str, usize> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, decl) in spec.nodes.iter().enumerate() {
        if let Some(&first) = index.get(decl.id.as_str()) {
            diags.push(
                Diagnostic::at(decl.id_span, format!("duplicate node id `{}`", decl.id)).with_help(
                    format!("first declared at line {}", spec.nodes[first].id_span.line),
                ),
            );
        } else {
            index.insert(&decl.id, i);
        }
    }
    index
}

/// Looks a declaration's kind up and builds its params, saying what is wrong with either.
fn build_node(
    decl: &NodeDecl,
    registry: &'static Registry,
    diags: &mut Vec<Diagnostic>,
) -> BuiltDecl {
    let Some(kind) = registry.get(&decl.kind) else {
        diags.push(
            Diagnostic::at(
                decl.kind_span,
                format!("unknown operator kind `{}`", decl.kind),
            )
            .suggest(&decl.kind, registry.kinds().iter().map(|k| k.name)),
        );
        return (None, None);
    };
    if kind.section != decl.section {
        diags.push(Diagnostic::at(
            decl.kind_span,
            format!(
                "`{}` belongs under `{}:`, not `{}:`",
                kind.name,
                kind.section.key(),
                decl.section.key()
            ),
        ));
    }
    match (kind.build)(&decl.params) {
        Ok(b) => (Some(kind), Some(b)),
        Err(d) => {
            diags.extend(d.into_iter().map(|mut diag| {
                diag.message = format!("{} (`{}` params): {}", decl.id, kind.name, diag.message);
                diag
            }));
            (Some(kind), None)
        }
    }
}

/// Each node's upstream nodes, by declaration position; checks input counts and port types.
fn connect(
    spec: &Spec,
    index: &HashMap<&str, usize>,
    kinds: &[Option<&'static OperatorKind>],
    diags: &mut Vec<Diagnostic>,
) -> Vec<Vec<usize>> {
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); spec.nodes.len()];
    for (i, decl) in spec.nodes.iter().enumerate() {
        if let Some(kind) = kinds[i] {
            check_input_count(decl, kind, diags);
        }
        let mut mismatches = Vec::new();
        for (port_no, (input, span)) in decl.inputs.iter().enumerate() {
            let Some(&j) = index.get(input.as_str()) else {
                diags.push(
                    Diagnostic::at(
                        *span,
                        format!("input `{input}` of `{}` doesn't match any node", decl.id),
                    )
                    .suggest(
                        input,
                        spec.nodes
                            .iter()
                            .map(|d| d.id.as_str())
                            .filter(|id| *id != decl.id),
                    ),
                );
                continue;
            };
            edges[i].push(j);
            if let (Some(kind), Some(up)) = (kinds[i], kinds[j])
                && let Some(port) = port_at(kind, port_no)
                && let Some(diag) = port_mismatch(decl, port, input, up, *span)
            {
                mismatches.push(diag);
            }
        }
        if !mismatches.is_empty()
            && let Some(kind) = kinds[i]
            && let Some(order) = reordered_inputs(decl, kind, index, kinds)
        {
            let span = decl.inputs.first().map_or(decl.id_span, |i| i.1);
            let ports: Vec<&str> = kind.inputs.iter().map(|p| p.name).collect();
            mismatches = vec![
                Diagnostic::at(
                    span,
                    format!(
                        "{}: inputs in the wrong order: `{}` takes ({}) in that order",
                        decl.id,
                        kind.name,
                        ports.join(", ")
                    ),
                )
                .with_help(format!("write `inputs: [{}]`", order.join(", "))),
            ];
        }
        diags.extend(mismatches);
    }
    edges
}

/// The node's inputs in the order its ports take them, when they are all
/// there but out of order (each port's type produced by exactly one input).
fn reordered_inputs<'s>(
    decl: &'s NodeDecl,
    kind: &OperatorKind,
    index: &HashMap<&str, usize>,
    kinds: &[Option<&'static OperatorKind>],
) -> Option<Vec<&'s str>> {
    if decl.inputs.len() != kind.inputs.len() || kind.inputs.iter().any(|p| p.name.ends_with("..."))
    {
        return None;
    }
    let produced: Vec<PortType> = decl
        .inputs
        .iter()
        .map(|(input, _)| {
            index
                .get(input.as_str())
                .and_then(|&j| kinds[j])
                .and_then(|k| k.output)
        })
        .collect::<Option<_>>()?;
    let mut order = Vec::with_capacity(kind.inputs.len());
    for port in kind.inputs {
        let mut fits = (0..produced.len()).filter(|&n| port.ty.accepts(produced[n]));
        let (Some(n), None) = (fits.next(), fits.next()) else {
            return None;
        };
        order.push(decl.inputs[n].0.as_str());
    }
    let mut distinct = order.clone();
    distinct.sort_unstable();
    distinct.dedup();
    (distinct.len() == order.len()).then_some(order)
}

/// The port input number `n` feeds; a last port named `name...` takes one or more inputs.
fn port_at(kind: &OperatorKind, n: usize) -> Option<&Port> {
    kind.inputs
        .get(n)
        .or_else(|| kind.inputs.last().filter(|p| p.name.ends_with("...")))
}

/// Says when a node lists more or fewer inputs than its kind takes.
fn check_input_count(decl: &NodeDecl, kind: &OperatorKind, diags: &mut Vec<Diagnostic>) {
    let variadic = kind.inputs.last().is_some_and(|p| p.name.ends_with("..."));
    let (found, want) = (decl.inputs.len(), kind.inputs.len());
    let required = kind.inputs.iter().filter(|p| !p.optional).count();
    if (required..=want).contains(&found) || (variadic && found >= want) {
        return;
    }
    let names: Vec<String> = kind
        .inputs
        .iter()
        .map(|p| {
            if p.optional {
                format!("{}?", p.name)
            } else {
                p.name.to_string()
            }
        })
        .collect();
    let want = if required < want {
        format!("{required} to {want}")
    } else {
        want.to_string()
    };
    let msg = if kind.inputs.is_empty() {
        format!("`{}` takes no inputs", kind.name)
    } else if found == 0 {
        format!(
            "missing input: `{}` needs {want} ({})",
            kind.name,
            names.join(", ")
        )
    } else {
        format!(
            "`{}` takes {want} input(s) ({}), found {found}",
            kind.name,
            names.join(", ")
        )
    };
    let span = decl.inputs.first().map_or(decl.id_span, |i| i.1);
    diags.push(Diagnostic::at(span, format!("{}: {msg}", decl.id)));
}

/// Why `input` (of kind `up`) cannot feed `port`, if it cannot.
fn port_mismatch(
    decl: &NodeDecl,
    port: &Port,
    input: &str,
    up: &OperatorKind,
    span: Span,
) -> Option<Diagnostic> {
    let Some(produced) = up.output else {
        return Some(Diagnostic::at(
            span,
            format!(
                "`{input}` is a sink (`{}`) and produces nothing to read",
                up.name
            ),
        ));
    };
    if port.ty.accepts(produced) {
        return None;
    }
    let diag = Diagnostic::at(
        span,
        format!(
            "port type mismatch: input `{}` of `{}` expects {}, but `{input}` ({}) produces {}",
            port.name,
            decl.id,
            port.ty.description(),
            up.name,
            produced.description()
        ),
    );
    Some(if port.hint.is_empty() {
        diag
    } else {
        diag.with_help(port.hint)
    })
}

/// blake3 over kind name, version and canonical config.
pub fn node_fingerprint(kind: &OperatorKind, config: &serde_json::Value) -> [u8; 32] {
    fingerprint(b"maflow.node.v1\0", kind, config)
}

/// blake3 over kind name, version and picture settings.
pub fn picture_fingerprint(kind: &OperatorKind, pictures: &serde_json::Value) -> [u8; 32] {
    fingerprint(b"maflow.pictures.v1\0", kind, pictures)
}

fn fingerprint(domain: &[u8], kind: &OperatorKind, config: &serde_json::Value) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(domain);
    h.update(kind.name.as_bytes());
    h.update(&[0]);
    h.update(&kind.version.to_le_bytes());
    h.update(config.to_string().as_bytes());
    *h.finalize().as_bytes()
}

/// Nodes ordered so that inputs come first; on a cycle, the cycle's path (first node repeated at the end).
fn topological_order(edges: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        n: usize,
        edges: &[Vec<usize>],
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) -> Result<(), Vec<usize>> {
        marks[n] = Mark::Open;
        stack.push(n);
        for &up in &edges[n] {
            match marks[up] {
                Mark::Done => {}
                Mark::Open => {
                    let start = stack
                        .iter()
                        .position(|&s| s == up)
                        .expect("open nodes are on the stack");
                    // Edges point upstream; print the cycle in data-flow direction.
                    let mut cycle: Vec<usize> = stack[start..].to_vec();
                    cycle.reverse();
                    cycle.push(cycle[0]);
                    return Err(cycle);
                }
                Mark::New => visit(up, edges, marks, stack, order)?,
            }
        }
        stack.pop();
        marks[n] = Mark::Done;
        order.push(n);
        Ok(())
    }
    let mut marks = vec![Mark::New; edges.len()];
    let mut order = Vec::with_capacity(edges.len());
    for n in 0..edges.len() {
        if marks[n] == Mark::New {
            visit(n, edges, &mut marks, &mut Vec::new(), &mut order)?;
        }
    }
    Ok(order)
}

/// Groups each frame producer with the consumers of its frames and of their
/// per-frame products; `Err(node)` names a consumer fed by two stages.
fn fuse(nodes: &mut [PlanNode]) -> Result<Vec<Stage>, usize> {
    let mut stages: Vec<Stage> = Vec::new();
    for i in 0..nodes.len() {
        match nodes[i].runtime {
            Runtime::FrameProducer(_) => {
                nodes[i].stage = Some(stages.len());
                stages.push(Stage {
                    source: nodes[i].inputs[0],
                    producer: i,
                    consumers: Vec::new(),
                });
            }
            Runtime::FrameConsumer(_) => {
                let mut input_stages = nodes[i].inputs.iter().map(|&j| nodes[j].stage);
                let stage = input_stages
                    .next()
                    .flatten()
                    .expect("frame-level inputs come from a stage (type-checked)");
                if input_stages.any(|s| s != Some(stage)) {
                    return Err(i);
                }
                nodes[i].stage = Some(stage);
                stages[stage].consumers.push(i);
            }
            _ => {}
        }
    }
    Ok(stages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_path_is_reported_in_data_direction() {
        // 0 <- 2, 1 <- 0, 2 <- 1 : a -> b -> c -> a
        let edges = vec![vec![2], vec![0], vec![1]];
        let cycle = topological_order(&edges).unwrap_err();
        assert_eq!(cycle.len(), 4);
        assert_eq!(cycle.first(), cycle.last());
        for w in cycle.windows(2) {
            assert!(edges[w[1]].contains(&w[0]), "{cycle:?}");
        }
    }

    #[test]
    fn order_puts_inputs_first() {
        let edges = vec![vec![1], vec![], vec![0, 1]];
        let order = topological_order(&edges).unwrap();
        let pos = |n| order.iter().position(|&x| x == n).unwrap();
        assert!(pos(1) < pos(0) && pos(0) < pos(2));
    }
}
