//! The benchmark as VLMEvalKit's video-benchmark TSV: one row per item with
//! `index`, `video`, `question`, `options` (a JSON list), `answer` and
//! `category` (the task), the options also as columns `A`.., and the
//! reference answer of open items.

use std::io;
use std::path::Path;

use maflow_engine::store::write_file_atomic;

use super::Row;
use crate::language::qa::recognition::LETTERS;

/// A TSV cell: tabs and line breaks become spaces (VLMEvalKit reads with pandas, no quoting).
fn cell(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// Writes `<name>.tsv`.
pub fn write(dir: &Path, name: &str, rows: &[Row]) -> io::Result<()> {
    let mut out = String::from("index\tvideo\tquestion\toptions\tanswer\tcategory");
    for l in LETTERS {
        out.push('\t');
        out.push_str(l);
    }
    out.push_str("\treference\tlevel\taction\n");
    for r in rows {
        let options = serde_json::to_string(&r.options).expect("strings serialise");
        let mut line = format!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            r.index,
            cell(&r.video),
            cell(&r.question),
            cell(&options),
            r.answer,
            r.task
        );
        for k in 0..LETTERS.len() {
            line.push('\t');
            line.push_str(&cell(r.options.get(k).map_or("", String::as_str)));
        }
        line.push_str(&format!(
            "\t{}\t{}\t{}\n",
            cell(&r.reference),
            cell(&r.level),
            cell(&r.action)
        ));
        out.push_str(&line);
    }
    write_file_atomic(&dir.join(format!("{name}.tsv")), out.as_bytes())
}
