//! The benchmark as a VLMEvalKit video dataset, under `exports/vlmevalkit/`:
//! `<name>.tsv` (one row per item: `index`, `id`, `video` as the clip's
//! suffix-free name, `question`, `options` as a JSON list, `answer`,
//! `category` (the task), `reference`, `level`, `action`), `videos/` (a link
//! `<clip>.mp4` per clip, the dataset's `root`), `prompts.json`, the dataset
//! class `maflow_vlmeval.py` (a `VideoBaseDataset` that prompts and scores
//! as maflow does, and registers itself in `vlmeval.dataset`), and
//! `<name>.config.json`, the config entry that builds it.
//!
//! The TSV has no `A`.. option columns: VLMEvalKit reads a TSV it has no class
//! for as a text-only multiple-choice set when it finds them, which would
//! score a model that never saw the clip.

use std::io;
use std::path::Path;

use maflow_engine::store::write_file_atomic;
use serde_json::json;

use super::{Row, python_files, video_links};

/// The dataset class, with [`python_files::REPLIES`] put in.
pub const DATASET_CLASS: &str = include_str!("vlmevalkit_dataset.py");

/// The class file's name.
pub const CLASS_FILE: &str = "maflow_vlmeval.py";

/// Frames a model that takes images gets per clip, as maflow's `respond` sends by default.
const FRAMES: usize = 8;

/// A TSV cell: tabs and line breaks become spaces (VLMEvalKit reads with pandas, no quoting).
fn cell(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// The TSV's text.
pub fn tsv(rows: &[Row]) -> String {
    let mut out = String::from(
        "index\tid\tvideo\tquestion\toptions\tanswer\tcategory\treference\tlevel\taction\n",
    );
    for r in rows {
        let options = serde_json::to_string(&r.options).expect("strings serialise");
        let cells = [
            r.index.to_string(),
            cell(&r.id),
            cell(&r.clip),
            cell(&r.question),
            cell(&options),
            cell(&r.answer),
            cell(&r.task),
            cell(&r.reference),
            cell(&r.level),
            cell(&r.action),
        ];
        out.push_str(&cells.join("\t"));
        out.push('\n');
    }
    out
}

/// Writes `<name>.tsv`, `videos/`, `prompts.json`, the class and `<name>.config.json`.
pub fn write(dir: &Path, name: &str, rows: &[Row]) -> io::Result<()> {
    write_file_atomic(&dir.join(format!("{name}.tsv")), tsv(rows).as_bytes())?;
    video_links::write(&dir.join("videos"), rows)?;
    python_files::write_prompts(dir)?;
    python_files::write(dir, CLASS_FILE, DATASET_CLASS)?;
    let config = json!({
        "model": {"Qwen2.5-VL-7B-Instruct": {"class": "Qwen2VLChat", "model_path": "Qwen/Qwen2.5-VL-7B-Instruct"}},
        "data": {name: {"class": "MaflowBench", "dataset": name, "nframe": FRAMES}},
    });
    write_file_atomic(
        &dir.join(format!("{name}.config.json")),
        (serde_json::to_string_pretty(&config).expect("serialises") + "\n").as_bytes(),
    )
}
