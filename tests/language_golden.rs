//! Golden files of the language stages: from fixed real descriptors
//! (`tests/data/descriptors`, read by `descriptor-files`), the caption and
//! description files, the QA files (`bench.jsonl`, `qa/<task>.jsonl`), and
//! `scores.csv` and `report.md` must match `tests/golden/language/` byte for
//! byte. After a deliberate change, `MAFLOW_BLESS=1` rewrites them; the diff
//! is then the review.

use std::path::{Path, PathBuf};

use crate::support::{Scratch, maflow, read_tree, text};

#[test]
fn caption_qa_and_score_files_match_the_golden_files() {
    let scratch = Scratch::new();
    let mut args: Vec<String> = vec![
        "run".into(),
        "tests/specs/language_golden.yaml".into(),
        "-q".into(),
    ];
    args.extend(scratch.redirect());
    let run = maflow(&args);
    assert!(
        run.status.success(),
        "run: {}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    let produced = read_tree(&scratch.out("language-golden"));
    // The HTML embeds the same table and items; errors.jsonl is empty; `.maflow/` is the folder's own bookkeeping (store keys).
    let pinned = |p: &Path| {
        !matches!(p.to_str(), Some("report.html" | "errors.jsonl")) && !p.starts_with(".maflow")
    };
    let golden_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/language");
    if std::env::var_os("MAFLOW_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&golden_dir);
        for (path, bytes) in produced.iter().filter(|(p, _)| pinned(p)) {
            std::fs::create_dir_all(golden_dir.join(path).parent().unwrap()).unwrap();
            std::fs::write(golden_dir.join(path), bytes).unwrap();
        }
    }
    let golden = read_tree(&golden_dir);
    let names = |t: &std::collections::BTreeMap<PathBuf, Vec<u8>>| {
        t.keys().filter(|p| pinned(p)).cloned().collect::<Vec<_>>()
    };
    assert_eq!(names(&produced), names(&golden), "the set of files changed");
    for (path, bytes) in &golden {
        assert!(
            produced[path] == *bytes,
            "{} differs from its golden file:\n--- golden\n{}\n--- produced\n{}",
            path.display(),
            String::from_utf8_lossy(bytes)
                .chars()
                .take(2000)
                .collect::<String>(),
            String::from_utf8_lossy(&produced[path])
                .chars()
                .take(2000)
                .collect::<String>()
        );
    }
    // Every clip has the reference mix of 12 items.
    let bench = text(&golden[Path::new("bench.jsonl")]);
    assert_eq!(bench.lines().count(), 36);
}
