//! The benchmark as a Hugging Face dataset folder: `data/test.jsonl` and a
//! `README.md` card whose YAML header declares the split, so
//! `datasets.load_dataset("<folder>")` reads it with no script.

use std::io;
use std::path::Path;

use maflow_engine::store::write_file_atomic;

use super::{Row, jsonl, per_task};

/// Writes the folder.
pub fn write(dir: &Path, name: &str, rows: &[Row]) -> io::Result<()> {
    write_file_atomic(&dir.join("data").join("test.jsonl"), jsonl(rows).as_bytes())?;
    let clips = rows
        .iter()
        .map(|r| r.clip.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let tasks: String = per_task(rows)
        .iter()
        .map(|(t, n)| format!("| {t} | {n} |\n"))
        .collect();
    let card = format!(
        "---\n\
         pretty_name: {name}\n\
         task_categories:\n- video-text-to-text\n\
         configs:\n- config_name: default\n  data_files:\n  - split: test\n    path: data/test.jsonl\n\
         ---\n\n\
         # {name}\n\n\
         Micro-action questions on MA-52 clips: {n} items over {clips} clips, made by maflow from each clip's \
         measured motion (optical flow, pose and segmentation per body part).\n\n\
         | task | items |\n|---|---|\n{tasks}\n\
         ## Fields\n\n\
         - `index`: position in the benchmark; `id`: `<clip>-<task>-<n>`; `clip`: the MA-52 clip id.\n\
         - `video`: absolute path of the clip on the machine that exported it.\n\
         - `task`: CMAR, FMAR (multiple choice), SAD, MAD, MAS, PPR (yes/no), MADU, MARE (open).\n\
         - `question`; `options`: lettered A.. in order (multiple choice only).\n\
         - `answer`: the option letter or `yes`/`no` (empty for open items); `reference`: the reference answer of open items.\n\
         - `level`, `action`: the clip's MA-52 body level and action.\n\
         - `provenance`: the facts that make the answer true, as JSON text.\n\n\
         ```python\nimport datasets\nbench = datasets.load_dataset(\"path/to/{name}\", split=\"test\")\n```\n",
        n = rows.len()
    );
    write_file_atomic(&dir.join("README.md"), card.as_bytes())
}
