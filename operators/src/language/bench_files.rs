//! `bench` (sink): the benchmark as files: `bench.jsonl` (every item, in
//! clip order) and `qa/<task>.jsonl`, written atomically at the end.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use maflow_engine::diagnostic::Diagnostic;
use maflow_engine::params::{built, parse_params};
use maflow_engine::registry::{Built, OperatorKind, Port, PortType, RecordSink, Runtime, SinkWriter};
use maflow_engine::spec::Section;
use maflow_engine::spec::tree::Node;
use maflow_engine::store::write_file_atomic;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Params of `bench` (none).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchConfig {}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "bench",
    section: Section::Sinks,
    version: 1,
    doc: "Benchmark files from `qa` records: `bench.jsonl` (all items) and `qa/<task>.jsonl`.",
    inputs: &[Port { name: "qa", ty: PortType::Any }],
    output: None,
    example: "{}",
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: BenchConfig = parse_params(params)?;
    Ok(built(&config, Runtime::RecordSink(Arc::new(Bench))))
}

struct Bench;

impl RecordSink for Bench {
    fn open(&self, dir: &Path, _node_id: &str) -> io::Result<Box<dyn SinkWriter>> {
        Ok(Box::new(BenchWriter { dir: dir.to_path_buf(), all: String::new(), tasks: BTreeMap::new() }))
    }
}

struct BenchWriter {
    dir: PathBuf,
    all: String,
    tasks: BTreeMap<String, String>,
}

impl SinkWriter for BenchWriter {
    fn write(&mut self, _clip: &str, record: &Value) -> io::Result<()> {
        for item in record["items"].as_array().into_iter().flatten() {
            let line = serde_json::to_string(item).expect("items serialise") + "\n";
            self.all.push_str(&line);
            self.tasks.entry(item["task"].as_str().unwrap_or("unknown").to_string()).or_default().push_str(&line);
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        write_file_atomic(&self.dir.join("bench.jsonl"), self.all.as_bytes())?;
        for (task, text) in &self.tasks {
            write_file_atomic(&self.dir.join("qa").join(format!("{task}.jsonl")), text.as_bytes())?;
        }
        Ok(())
    }
}
