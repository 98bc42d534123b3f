//! `bench` (sink): the benchmark as files: `bench.jsonl` (every item, in
//! clip order) and `qa/<task>.jsonl`, streamed to temporary files and
//! renamed into place at the end.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::io;
use std::path::{Path, PathBuf};

use maflow_engine::store::AtomicFile;
use serde_json::Value;

use crate::common::record_types::{self as records, record};
use crate::prelude::*;

/// Benchmark files from `qa` records: `bench.jsonl` (all items) and `qa/<task>.jsonl`.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchConfig {}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "bench",
    section: Section::Sinks,
    version: 1,
    doc: BenchConfig::DOC,
    inputs: &[Port::new("qa", record(records::QA)).hint(records::QA.hint)],
    output: None,
    params: BenchConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: BenchConfig = parse_params(params)?;
    Ok(Built::new(&config, Runtime::RecordSink(Arc::new(Bench))))
}

struct Bench;

impl RecordSink for Bench {
    fn open(&self, dir: &Path, _node_id: &str) -> io::Result<Box<dyn SinkWriter>> {
        Ok(Box::new(BenchWriter {
            dir: dir.to_path_buf(),
            all: AtomicFile::create(&dir.join("bench.jsonl"))?,
            tasks: BTreeMap::new(),
        }))
    }
}

struct BenchWriter {
    dir: PathBuf,
    all: AtomicFile,
    tasks: BTreeMap<String, AtomicFile>,
}

impl SinkWriter for BenchWriter {
    fn write(&mut self, _clip: &str, record: &Value) -> io::Result<()> {
        for item in record["items"].as_array().into_iter().flatten() {
            let line = serde_json::to_string(item).expect("items serialise") + "\n";
            self.all.write_all(line.as_bytes())?;
            let task = item["task"].as_str().unwrap_or("unknown");
            let file = match self.tasks.entry(task.to_string()) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(AtomicFile::create(
                    &self.dir.join("qa").join(format!("{task}.jsonl")),
                )?),
            };
            file.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        self.all.commit()?;
        for (_, file) in self.tasks {
            file.commit()?;
        }
        Ok(())
    }
}
