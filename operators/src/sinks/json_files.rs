//! `json-files` sink: one pretty JSON file per clip, `<out>/<spec>/<id>/<clip>.json`.
//!
//! Each file is written atomically and only when its contents change, so a
//! rerun with nothing new touches no file.

use std::io;
use std::path::{Path, PathBuf};

use maflow_engine::store::write_file_atomic;

use crate::prelude::*;

/// Writes `<out>/<spec>/<id>/<clip>.json`, the input's record for each clip, pretty-printed.
#[configurable]
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonFilesConfig {}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "json-files",
    section: Section::Sinks,
    version: 1,
    doc: JsonFilesConfig::DOC,
    inputs: &[Port::new("records", PortType::Any)],
    output: None,
    params: JsonFilesConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: JsonFilesConfig = parse_params(params)?;
    Ok(Built::new(
        &config,
        Runtime::RecordSink(Arc::new(JsonFilesSink)),
    ))
}

struct JsonFilesSink;

impl RecordSink for JsonFilesSink {
    fn open(&self, dir: &Path, node_id: &str) -> io::Result<Box<dyn SinkWriter>> {
        let dir = dir.join(node_id);
        std::fs::create_dir_all(&dir)?;
        Ok(Box::new(JsonFilesWriter { dir }))
    }
}

struct JsonFilesWriter {
    dir: PathBuf,
}

impl SinkWriter for JsonFilesWriter {
    fn write(&mut self, clip: &str, record: &serde_json::Value) -> io::Result<()> {
        let path = self.dir.join(format!("{clip}.json"));
        let mut text = serde_json::to_vec_pretty(record)?;
        text.push(b'\n');
        if std::fs::read(&path).is_ok_and(|old| old == text) {
            return Ok(());
        }
        write_file_atomic(&path, &text)
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_file_per_clip_and_leaves_unchanged_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JsonFilesSink.open(dir.path(), "videos").unwrap();
        w.write("a", &serde_json::json!({"frames": 3})).unwrap();
        let path = dir.path().join("videos/a.json");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n  \"frames\": 3\n}\n"
        );
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        w.write("a", &serde_json::json!({"frames": 3})).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            before
        );
        w.write("a", &serde_json::json!({"frames": 4})).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains('4'));
        w.finish().unwrap();
    }
}
