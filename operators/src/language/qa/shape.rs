//! The shape of a benchmark's items, as MA-Bench's published split is
//! measured: option orders and answer letters of CMAR, how many FMAR
//! options share the true action's body level, the phrasings of each
//! question, the share of yes/no questions that name a phase, the yes
//! share, and the length and register of the MADU and MARE references.
//! Both sides are read into one row form and measured by the same code,
//! so maflow's items and the authors' files are compared like for like.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::recognition::LETTERS;
use crate::common::taxonomy::action_by_name;

/// One item, from either side.
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// Task.
    pub task: String,
    /// The question without its options.
    pub stem: String,
    /// Option texts, in order.
    pub options: Vec<String>,
    /// The answer: a letter, yes/no, or a reference text (empty when the file has none).
    pub answer: String,
}

impl Row {
    /// A maflow item (`bench.jsonl`): options apart, references in `reference`.
    pub fn from_item(v: &Value) -> Option<Row> {
        let options = v["options"]
            .as_array()
            .map(|o| {
                o.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let answer = v["reference"]
            .as_str()
            .or(v["answer"].as_str())
            .unwrap_or_default()
            .to_string();
        Some(Row {
            task: v["task"].as_str()?.to_string(),
            stem: v["question"].as_str()?.trim().to_string(),
            options,
            answer,
        })
    }

    /// A row of the authors' split: the options are `\nA. …` lines of the question.
    pub fn from_official(v: &Value) -> Option<Row> {
        let question = v["question"].as_str()?;
        let mut lines = question.split('\n');
        let stem = lines.next().unwrap_or_default().trim().to_string();
        let options = lines
            .filter_map(|l| {
                let (letter, text) = l.trim().split_once(". ")?;
                LETTERS.contains(&letter).then(|| text.trim().to_string())
            })
            .collect();
        let answer = v["answer"].as_str().unwrap_or_default().trim().to_string();
        Some(Row {
            task: v["task"].as_str()?.to_string(),
            stem,
            options,
            answer,
        })
    }
}

/// The words that make a question name a phase of the clip.
const PHASE_WORDS: [&str; 12] = [
    "phase",
    "segment",
    "stage",
    "initial",
    "early",
    "middle",
    "late",
    "final",
    "beginning",
    "end",
    "opening",
    "third",
];

/// Whether a question names a phase.
pub fn names_phase(question: &str) -> bool {
    question
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| PHASE_WORDS.contains(&w))
}

/// Whether a reference gives a number the register leaves out: a speed in pixels or a decimal.
pub fn has_numbers(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    text.contains("px")
        || text.contains("pixel")
        || chars
            .windows(3)
            .any(|w| w[0].is_ascii_digit() && w[1] == '.' && w[2].is_ascii_digit())
}

/// The statistics, by name, in print order.
pub fn measure(rows: &[Row]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    recognition_stats(rows, &mut out);
    let of = |task: &'static str| rows.iter().filter(move |r| r.task == task);
    for task in ["CMAR", "FMAR", "MADU", "MARE"] {
        let stems: BTreeSet<&str> = of(task).map(|r| r.stem.as_str()).collect();
        out.push((format!("{task} phrasings"), stems.len().to_string()));
    }
    yes_no_stats(rows, &mut out);
    reference_stats(rows, &mut out);
    out
}

/// `n` of `d` as a percentage, or a dash when there is none.
fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "–".to_string()
    } else {
        format!("{:.1} %", 100.0 * n as f64 / d as f64)
    }
}

/// CMAR's option orders and answer letters, and how many FMAR options share the true level.
fn recognition_stats(rows: &[Row], out: &mut Vec<(String, String)>) {
    let of = |task: &'static str| rows.iter().filter(move |r| r.task == task);
    let cmar: Vec<&Row> = of("CMAR").collect();
    let orders: BTreeSet<&Vec<String>> = cmar.iter().map(|r| &r.options).collect();
    out.push((
        "CMAR items, option orders".into(),
        format!("{} items, {} orders", cmar.len(), orders.len()),
    ));
    let mut letters: BTreeMap<&str, usize> = BTreeMap::new();
    for r in cmar.iter().filter(|r| LETTERS.contains(&r.answer.as_str())) {
        *letters.entry(r.answer.as_str()).or_default() += 1;
    }
    let answered: usize = letters.values().sum();
    let top = letters
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(l, n)| format!("{l} {}", pct(*n, answered)))
        .unwrap_or("–".into());
    out.push((
        "CMAR answer letters used, most frequent".into(),
        if answered == 0 {
            "no answers".into()
        } else {
            format!("{} of 7, {top}", letters.len())
        },
    ));
    // FMAR: options that share the true action's level, the answer included.
    let mut sharing: Vec<usize> = Vec::new();
    for r in of("FMAR") {
        let Some(at) = LETTERS.iter().position(|l| *l == r.answer) else {
            continue;
        };
        let Some(truth) = r.options.get(at).and_then(|o| action_by_name(o)) else {
            continue;
        };
        sharing.push(
            r.options
                .iter()
                .filter(|o| action_by_name(o).is_some_and(|a| a.level == truth.level))
                .count(),
        );
    }
    out.push((
        "FMAR options sharing the true level (min–max, mean)".into(),
        match (sharing.iter().min(), sharing.iter().max()) {
            (Some(lo), Some(hi)) => format!(
                "{lo}–{hi}, mean {:.2} over {} items",
                sharing.iter().sum::<usize>() as f64 / sharing.len() as f64,
                sharing.len()
            ),
            _ => "no answers".into(),
        },
    ));
}

/// Per yes/no task: the share of questions naming a phase, and of "yes" answers.
fn yes_no_stats(rows: &[Row], out: &mut Vec<(String, String)>) {
    let of = |task: &'static str| rows.iter().filter(move |r| r.task == task);
    for task in ["SAD", "MAD", "MAS", "PPR"] {
        let all: Vec<&Row> = of(task).collect();
        let named = all.iter().filter(|r| names_phase(&r.stem)).count();
        let answered: Vec<&&Row> = all.iter().filter(|r| !r.answer.is_empty()).collect();
        let yes = answered
            .iter()
            .filter(|r| r.answer.eq_ignore_ascii_case("yes"))
            .count();
        let yes = if answered.is_empty() {
            "no answers".into()
        } else {
            pct(yes, answered.len())
        };
        out.push((
            format!("{task} naming a phase, yes"),
            format!("{}, {yes} ({} items)", pct(named, all.len()), all.len()),
        ));
    }
}

/// The open tasks' references: their length, numbers, and MARE's label line.
fn reference_stats(rows: &[Row], out: &mut Vec<(String, String)>) {
    let of = |task: &'static str| rows.iter().filter(move |r| r.task == task);
    for (task, label_line) in [("MADU", false), ("MARE", true)] {
        let refs: Vec<&str> = of(task)
            .map(|r| r.answer.as_str())
            .filter(|a| !a.is_empty())
            .collect();
        if refs.is_empty() {
            out.push((format!("{task} reference words"), "no references".into()));
            continue;
        }
        let mut words: Vec<usize> = refs.iter().map(|r| r.split_whitespace().count()).collect();
        words.sort_unstable();
        let mean = words.iter().sum::<usize>() as f64 / words.len() as f64;
        out.push((
            format!("{task} reference words (min–max, median, mean)"),
            format!(
                "{}–{}, median {}, mean {mean:.0}",
                words[0],
                words[words.len() - 1],
                words[words.len() / 2]
            ),
        ));
        out.push((
            format!("{task} references with px or decimals"),
            format!(
                "{} of {}",
                refs.iter().filter(|r| has_numbers(r)).count(),
                refs.len()
            ),
        ));
        if label_line {
            let ends = refs.iter().filter(|r| ends_with_labels(r)).count();
            out.push((
                "MARE references ending with the label line".into(),
                format!("{ends} of {}", refs.len()),
            ));
        }
    }
}

/// Whether a MARE text ends with `[Body part (coarse-grained)] <level> | [Micro-action (fine-grained)] <action>`.
/// Bold marks and a full stop after the line still count; more text after the action's name does not.
pub fn ends_with_labels(text: &str) -> bool {
    let Some(at) = text.rfind("[Body part (coarse-grained)]") else {
        return false;
    };
    let Some((_, action)) = text[at..].split_once(" | [Micro-action (fine-grained)] ") else {
        return false;
    };
    let action = action.trim_end().trim_end_matches(['.', '*']).trim();
    !action.is_empty()
        && !action.contains(['[', '|', ',', '.'])
        && action.split_whitespace().count() <= 6
}

/// The authors' evaluation split and their sample with answers, in the starter kit's folder.
pub const KIT_FILES: [(&str, &str); 2] = [
    ("mabench_data.json", "MA-Bench split"),
    ("mabench_data_sample_100.json", "MA-Bench sample"),
];

/// A markdown table of `bench` (a maflow `bench.jsonl`) beside the authors' split and sample in `kit`.
///
/// # Errors
/// A file that cannot be read or parsed, named with the cause.
pub fn compare(bench: &std::path::Path, kit: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(bench).map_err(|e| format!("{}: {e}", bench.display()))?;
    let mut ours = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: Value = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: {e}", bench.display(), n + 1))?;
        ours.push(Row::from_item(&v).ok_or_else(|| {
            format!(
                "{}:{}: not an item (no task or question)",
                bench.display(),
                n + 1
            )
        })?);
    }
    let mut columns = vec![(
        format!("this benchmark ({} items)", ours.len()),
        measure(&ours),
    )];
    for (file, name) in KIT_FILES {
        let path = kit.join(file);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let rows: Vec<Value> =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let rows: Vec<Row> = rows.iter().filter_map(Row::from_official).collect();
        columns.push((format!("{name} ({} items)", rows.len()), measure(&rows)));
    }
    let mut out = format!(
        "| statistic | {} |\n|---|{}\n",
        columns
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(columns.len())
    );
    for (k, (name, _)) in columns[0].1.iter().enumerate() {
        let cells: Vec<&str> = columns
            .iter()
            .map(|(_, stats)| stats.get(k).map_or("–", |(_, v)| v.as_str()))
            .collect();
        out.push_str(&format!("| {name} | {} |\n", cells.join(" | ")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn official_rows_split_their_options_and_both_sides_measure_alike() {
        let official = Row::from_official(&json!({"task": "FMAR", "question": "Which one?\nA. Nodding\nB. Bowing head\nC. Waving\nD. Tiptoe\nE. Head up", "answer": "A"})).unwrap();
        assert_eq!(
            official.options,
            ["Nodding", "Bowing head", "Waving", "Tiptoe", "Head up"]
        );
        let ours = Row::from_item(&json!({"task": "FMAR", "question": "Which one?", "options": ["nodding", "bowing head", "waving", "tiptoe", "head up"], "answer": "A"})).unwrap();
        for rows in [vec![official], vec![ours]] {
            let stats = measure(&rows);
            let fmar = stats
                .iter()
                .find(|(k, _)| k.starts_with("FMAR options"))
                .unwrap();
            assert!(fmar.1.starts_with("3–3, mean 3.00"), "{fmar:?}");
        }
        assert!(
            names_phase("During the late segment, does it?")
                && !names_phase("Does the head rise before the hand drops?")
        );
        assert!(
            has_numbers("at 0.4 s") && has_numbers("0.3 px/frame") && !has_numbers("three cycles.")
        );
        assert!(ends_with_labels(
            "so. [Body part (coarse-grained)] Head | [Micro-action (fine-grained)] nodding"
        ));
    }

    #[test]
    fn the_authors_sample_measures_as_its_readme_says() {
        let kit = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/ma-bench/starter-kit");
        let text = std::fs::read_to_string(kit.join("mabench_data_sample_100.json"))
            .expect("the starter kit in ../shared");
        let rows: Vec<Value> = serde_json::from_str(&text).unwrap();
        let rows: Vec<Row> = rows.iter().filter_map(Row::from_official).collect();
        assert_eq!(rows.len(), 1200);
        let stats: BTreeMap<String, String> = measure(&rows).into_iter().collect();
        assert_eq!(stats["CMAR items, option orders"], "100 items, 99 orders");
        assert!(
            stats["FMAR options sharing the true level (min–max, mean)"]
                .starts_with("1–5, mean 2.6"),
            "{stats:?}"
        );
        assert_eq!(stats["MADU phrasings"], "5");
        assert!(
            stats["MADU reference words (min–max, median, mean)"].starts_with("42–113"),
            "{stats:?}"
        );
        // The kit says every MARE answer ends with the line; read strictly, 32 of the sample's 100 do (others go on after it).
        assert_eq!(
            stats["MARE references ending with the label line"],
            "32 of 100"
        );
    }
}
