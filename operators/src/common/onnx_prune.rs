//! Pruning an ONNX model to the outputs that are read.
//!
//! The BlazePose landmark model also computes a segmentation mask and 39
//! heatmaps, half its work, that `pose` never reads, and ONNX Runtime runs
//! every node of a graph whatever outputs a call asks for. [`prune`] keeps
//! the graph's chosen outputs and the nodes and initialisers they depend on,
//! by walking the model's protobuf encoding: every kept field is copied
//! byte for byte, so the kept nodes compute exactly what they did.

use std::collections::HashSet;

/// `ModelProto.graph`.
const MODEL_GRAPH: u32 = 7;
/// `GraphProto` fields.
const GRAPH_NODE: u32 = 1;
const GRAPH_INITIALIZER: u32 = 5;
const GRAPH_INPUT: u32 = 11;
const GRAPH_OUTPUT: u32 = 12;
const GRAPH_VALUE_INFO: u32 = 13;
/// `NodeProto` fields.
const NODE_INPUT: u32 = 1;
const NODE_OUTPUT: u32 = 2;
const NODE_OP_TYPE: u32 = 4;
/// `TensorProto.name` and `ValueInfoProto.name`.
const TENSOR_NAME: u32 = 8;
const VALUE_INFO_NAME: u32 = 1;

/// One field of a protobuf message: its number and its whole encoding (key included).
struct Field<'a> {
    number: u32,
    /// The payload of a length-delimited field (empty for the other wire types).
    payload: &'a [u8],
    raw: &'a [u8],
}

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at).ok_or("truncated varint")?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint longer than 10 bytes".into())
}

/// The fields of a message, in order.
fn fields(bytes: &[u8]) -> Result<Vec<Field<'_>>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let key = varint(bytes, &mut at)?;
        let (number, wire) = ((key >> 3) as u32, key & 7);
        let mut payload: &[u8] = &[];
        match wire {
            0 => {
                varint(bytes, &mut at)?;
            }
            1 => at += 8,
            2 => {
                let len = varint(bytes, &mut at)? as usize;
                payload = bytes.get(at..at + len).ok_or("length past the end")?;
                at += len;
            }
            5 => at += 4,
            other => return Err(format!("unsupported wire type {other}")),
        }
        let raw = bytes.get(start..at).ok_or("field past the end")?;
        out.push(Field {
            number,
            payload,
            raw,
        });
    }
    Ok(out)
}

/// The string fields numbered `number` of a message.
fn strings(message: &[u8], number: u32) -> Result<Vec<String>, String> {
    Ok(fields(message)?
        .into_iter()
        .filter(|f| f.number == number)
        .map(|f| String::from_utf8_lossy(f.payload).into_owned())
        .collect())
}

fn name_of(message: &[u8], number: u32) -> Result<String, String> {
    Ok(strings(message, number)?
        .into_iter()
        .next()
        .unwrap_or_default())
}

fn encode_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The names of a model's graph outputs, in order.
pub fn output_names(model: &[u8]) -> Result<Vec<String>, String> {
    let graph = fields(model)?
        .into_iter()
        .find(|f| f.number == MODEL_GRAPH)
        .ok_or("the model has no graph")?;
    fields(graph.payload)?
        .iter()
        .filter(|f| f.number == GRAPH_OUTPUT)
        .map(|f| name_of(f.payload, VALUE_INFO_NAME))
        .collect()
}

/// How many nodes a model's graph has.
pub fn node_count(model: &[u8]) -> Result<usize, String> {
    let graph = fields(model)?
        .into_iter()
        .find(|f| f.number == MODEL_GRAPH)
        .ok_or("the model has no graph")?;
    Ok(fields(graph.payload)?
        .iter()
        .filter(|f| f.number == GRAPH_NODE)
        .count())
}

/// The model with only the graph outputs at positions `keep` and what they
/// need. Graphs with control flow (subgraphs) are returned whole.
pub fn prune(model: &[u8], keep: &[usize]) -> Result<Vec<u8>, String> {
    let top = fields(model)?;
    let graph = top
        .iter()
        .find(|f| f.number == MODEL_GRAPH)
        .ok_or("the model has no graph")?;
    let parts = fields(graph.payload)?;
    let outputs: Vec<&Field> = parts.iter().filter(|f| f.number == GRAPH_OUTPUT).collect();
    if let Some(&bad) = keep.iter().find(|&&k| k >= outputs.len()) {
        return Err(format!(
            "output {bad} asked for, the model has {}",
            outputs.len()
        ));
    }
    let nodes: Vec<&Field> = parts.iter().filter(|f| f.number == GRAPH_NODE).collect();
    let mut node_io = Vec::with_capacity(nodes.len());
    for node in &nodes {
        let op = name_of(node.payload, NODE_OP_TYPE)?;
        if matches!(op.as_str(), "If" | "Loop" | "Scan") {
            return Ok(model.to_vec());
        }
        node_io.push((
            strings(node.payload, NODE_INPUT)?,
            strings(node.payload, NODE_OUTPUT)?,
        ));
    }
    // Walk back from the kept outputs: nodes are topologically ordered.
    let mut needed: HashSet<String> = keep
        .iter()
        .map(|&k| name_of(outputs[k].payload, VALUE_INFO_NAME))
        .collect::<Result<_, _>>()?;
    let mut kept_nodes = vec![false; nodes.len()];
    for (i, (inputs, outs)) in node_io.iter().enumerate().rev() {
        if outs.iter().any(|o| needed.contains(o)) {
            kept_nodes[i] = true;
            needed.extend(inputs.iter().filter(|s| !s.is_empty()).cloned());
        }
    }
    // Old models list initialisers among the inputs too; those go with their initialiser.
    let initializers: HashSet<String> = parts
        .iter()
        .filter(|f| f.number == GRAPH_INITIALIZER)
        .map(|f| name_of(f.payload, TENSOR_NAME))
        .collect::<Result<_, _>>()?;
    let mut graph_bytes = Vec::with_capacity(graph.payload.len());
    let (mut node_at, mut output_at) = (0, 0);
    for f in &parts {
        let keep_field = match f.number {
            GRAPH_NODE => {
                node_at += 1;
                kept_nodes[node_at - 1]
            }
            GRAPH_OUTPUT => {
                output_at += 1;
                keep.contains(&(output_at - 1))
            }
            GRAPH_INITIALIZER => needed.contains(&name_of(f.payload, TENSOR_NAME)?),
            GRAPH_INPUT => {
                let name = name_of(f.payload, VALUE_INFO_NAME)?;
                needed.contains(&name) || !initializers.contains(&name)
            }
            GRAPH_VALUE_INFO => needed.contains(&name_of(f.payload, VALUE_INFO_NAME)?),
            _ => true,
        };
        if keep_field {
            graph_bytes.extend_from_slice(f.raw);
        }
    }
    let mut out = Vec::with_capacity(model.len());
    for f in &top {
        if f.number == MODEL_GRAPH {
            encode_varint(u64::from(MODEL_GRAPH << 3 | 2), &mut out);
            encode_varint(graph_bytes.len() as u64, &mut out);
            out.extend_from_slice(&graph_bytes);
        } else {
            out.extend_from_slice(f.raw);
        }
    }
    Ok(out)
}
