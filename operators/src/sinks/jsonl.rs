//! `jsonl` sink: one line per clip with its input's record, in source order.
//!
//! Written to a temporary file and renamed when the run ends, so the file is
//! either the previous complete version or the new one.

use std::io;
use std::path::Path;

use maflow_engine::store::AtomicFile;

use crate::prelude::*;

/// Writes `<out>/<spec>/<id>.jsonl`: one line per clip, `{"clip": id, ...record}`, in source order.
#[configurable]
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonlConfig {}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "jsonl",
    section: Section::Sinks,
    version: 1,
    doc: JsonlConfig::DOC,
    inputs: &[Port::new("records", PortType::Any)],
    output: None,
    params: JsonlConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: JsonlConfig = parse_params(params)?;
    Ok(Built::new(
        &config,
        Runtime::RecordSink(Arc::new(JsonlSink)),
    ))
}

struct JsonlSink;

impl RecordSink for JsonlSink {
    fn open(&self, dir: &Path, node_id: &str) -> io::Result<Box<dyn SinkWriter>> {
        Ok(Box::new(JsonlWriter {
            file: AtomicFile::create(&dir.join(format!("{node_id}.jsonl")))?,
        }))
    }
}

struct JsonlWriter {
    file: AtomicFile,
}

/// The record with the clip id as first field (objects), or wrapped as `value`.
pub fn line_for(clip: &str, record: &serde_json::Value) -> serde_json::Value {
    let mut line = serde_json::Map::new();
    line.insert("clip".into(), clip.into());
    match record {
        serde_json::Value::Object(fields) => {
            for (k, v) in fields {
                if k != "clip" {
                    line.insert(k.clone(), v.clone());
                }
            }
        }
        other => {
            line.insert("value".into(), other.clone());
        }
    }
    serde_json::Value::Object(line)
}

impl SinkWriter for JsonlWriter {
    fn write(&mut self, clip: &str, record: &serde_json::Value) -> io::Result<()> {
        let mut line = serde_json::to_vec(&line_for(clip, record))?;
        line.push(b'\n');
        self.file.write_all(&line)
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        self.file.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_put_the_clip_first_and_file_appears_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JsonlSink.open(dir.path(), "clips").unwrap();
        w.write("a", &serde_json::json!({"frames": 3, "clip": "ignored"}))
            .unwrap();
        w.write("b", &serde_json::json!(7)).unwrap();
        assert!(!dir.path().join("clips.jsonl").exists());
        w.finish().unwrap();
        let text = std::fs::read_to_string(dir.path().join("clips.jsonl")).unwrap();
        assert_eq!(
            text,
            "{\"clip\":\"a\",\"frames\":3}\n{\"clip\":\"b\",\"value\":7}\n"
        );
    }
}
