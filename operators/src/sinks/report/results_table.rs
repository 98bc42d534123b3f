//! The results table that `report.md` and `report.html` both print: the
//! paper's column order, this run's rows with their 95% intervals and item
//! counts, the published rows under their source, one number format per
//! column for every row, and the best value of each column.

use super::score::{COLUMNS, ModelScores, final_score};

/// The published results (accuracy in %, judge scores 0..5), kept as reference data.
pub const PAPER_RESULTS: &str = include_str!("../../../data/paper-results.csv");

/// Where the published rows come from.
pub const SOURCE: &str =
    "MA-Bench (CVPR 2026), main results table, as printed (operators/data/paper-results.csv)";

/// Columns that are accuracies in % (the rest are judge scores 0..5).
const ACCURACY_COLUMNS: usize = 7;

/// Column groups: (title, columns), in order.
pub const GROUPS: [(&str, &[&str]); 5] = [
    (
        "Closed tasks (accuracy %)",
        &["CMAR", "FMAR", "SAD", "MAD", "MAS", "PPR", "AVG"],
    ),
    ("MADU (judge 0–5)", &["L1", "L2", "L3"]),
    ("MARE (judge 0–5)", &["L1", "L2", "L3"]),
    ("Open (judge 0–5)", &["AVG"]),
    ("Final (0–100)", &["score"]),
];

/// How the final column is computed, for the reports.
pub const FINAL_RULE: &str = "Final score: MA-Bench's official score, the mean of 12 sub-scores on 0–100: the six closed-task accuracies (%) and the six open-task judge levels (MADU and MARE, L1–L3) times 20. The two AVG columns do not enter it. It needs all twelve; for the published rows it is computed from the values as printed.";

/// A column's name with its group, for flat headers (`MADU L2`, `closed AVG`).
pub fn flat_header(col: usize) -> String {
    let mut at = 0;
    for (title, cols) in GROUPS {
        if col < at + cols.len() {
            let group = title.split(' ').next().unwrap_or("");
            let name = cols[col - at];
            return if group == "Closed" && name != "AVG" {
                name.to_string()
            } else {
                format!("{group} {name}")
            };
        }
        at += cols.len();
    }
    String::new()
}

/// One cell: its value and, for this run's rows, the 95% interval and the items behind it.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// The value.
    pub value: f64,
    /// The 95% bootstrap interval over clips.
    pub interval: Option<(f64, f64)>,
    /// Items behind it (`None` for means of other columns).
    pub n: Option<usize>,
}

/// One row.
#[derive(Clone, Debug)]
pub struct Row {
    /// Model (and judge, for this run's rows).
    pub name: String,
    /// Per column of [`COLUMNS`].
    pub cells: Vec<Option<Cell>>,
    /// Whether its open-task scores come from the offline `rules` judge (the
    /// published rows' come from an LLM judge): open scores are compared only
    /// among rows of the same kind of judge.
    pub offline_judge: bool,
}

/// The whole table.
#[derive(Clone, Debug)]
pub struct Table {
    /// This run's rows.
    pub ours: Vec<Row>,
    /// The published rows.
    pub published: Vec<Row>,
    /// Per column, the best value: over every row for the closed tasks, and
    /// for the open tasks per kind of judge (`[LLM judge, offline judge]`).
    pub best: Vec<[Option<f64>; 2]>,
    /// Published rows whose closed-task accuracies are all equal, as the paper prints them.
    pub twins: Vec<(String, String)>,
}

/// A value in the table's one format: two decimals, as the paper prints
/// its rows (so published values are shown exactly as printed).
pub fn format(v: f64) -> String {
    format!("{v:.2}")
}

/// Whether `v`, in `row`, is the best of column `col` among the rows it compares with.
pub fn is_best(table: &Table, row: &Row, col: usize, v: f64) -> bool {
    table.best[col][usize::from(row.offline_judge)].is_some_and(|b| format(b) == format(v))
}

/// Whether column `col` holds judge scores (open tasks), which only the same kind of judge compares.
fn judged(col: usize) -> bool {
    COLUMNS[col].starts_with("MADU")
        || COLUMNS[col].starts_with("MARE")
        || COLUMNS[col] == "OPEN_AVG"
        || COLUMNS[col] == "FINAL"
}

/// The table of this run's scores beside the published rows.
pub fn table(scores: &[ModelScores]) -> Table {
    let ours: Vec<Row> = scores
        .iter()
        .map(|s| Row {
            name: format!("{} (judge: {})", s.model, s.judge),
            offline_judge: s.judge == "rules",
            cells: COLUMNS
                .iter()
                .map(|c| {
                    s.metrics.get(*c).map(|m| Cell {
                        value: m.value,
                        interval: Some((m.low, m.high)),
                        n: (m.n > 0).then_some(m.n),
                    })
                })
                .collect(),
        })
        .collect();
    let published = published_rows();
    let best = (0..COLUMNS.len())
        .map(|c| {
            [false, true].map(|offline| {
                ours.iter()
                    .chain(&published)
                    .filter(|r| !judged(c) || r.offline_judge == offline)
                    .filter_map(|r| r.cells[c].as_ref().map(|x| x.value))
                    .reduce(f64::max)
            })
        })
        .collect();
    let twins = twins(&published);
    Table {
        ours,
        published,
        best,
        twins,
    }
}

fn published_rows() -> Vec<Row> {
    PAPER_RESULTS
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let printed = |col: &str| -> Option<f64> {
                let c = COLUMNS.iter().position(|x| *x == col)?;
                fields.get(c + 1).and_then(|v| v.parse().ok())
            };
            let cell = |value| Cell {
                value,
                interval: None,
                n: None,
            };
            Row {
                name: fields[0].to_string(),
                offline_judge: false,
                cells: COLUMNS
                    .iter()
                    .map(|col| match *col {
                        "FINAL" => final_score(printed).map(cell),
                        _ => printed(col).map(cell),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Pairs of rows with the same value in every closed-task column.
fn twins(rows: &[Row]) -> Vec<(String, String)> {
    let closed = |r: &Row| -> Option<Vec<f64>> {
        r.cells[..ACCURACY_COLUMNS]
            .iter()
            .map(|c| c.as_ref().map(|c| c.value))
            .collect()
    };
    let mut out = Vec::new();
    for (i, a) in rows.iter().enumerate() {
        for b in &rows[i + 1..] {
            if let (Some(x), Some(y)) = (closed(a), closed(b))
                && x == y
            {
                out.push((a.name.clone(), b.name.clone()));
            }
        }
    }
    out
}

/// The footnote on the published rows: their source and any rows printed twice.
pub fn footnote(table: &Table) -> String {
    let mut text = format!("Published rows: {SOURCE}.");
    for (a, b) in &table.twins {
        text.push_str(&format!(" {a} and {b} have identical accuracies on every closed task in the paper's table; both are shown as printed."));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_rows_keep_their_source_and_the_twins_are_found() {
        let t = table(&[]);
        assert_eq!(t.published.len(), PAPER_RESULTS.lines().count() - 1);
        assert_eq!(
            t.twins,
            vec![(
                "InternVideo2-Chat-8B".to_string(),
                "InternVideo2.5-Chat-8B".to_string()
            )]
        );
        assert!(footnote(&t).contains("identical accuracies"));
        // The best CMAR of the published rows is the fine-tuned Qwen3-VL's 47.90.
        let fine_tuned = t
            .published
            .iter()
            .find(|r| r.cells[0].as_ref().is_some_and(|c| c.value == 47.9))
            .unwrap();
        assert!(is_best(&t, fine_tuned, 0, 47.9));
        assert_eq!(
            (format(47.9), format(1.5)),
            ("47.90".to_string(), "1.50".to_string())
        );
        // Published values read back exactly as printed.
        assert_eq!(
            format(t.published[0].cells[6].as_ref().unwrap().value),
            "39.05"
        );
        assert_eq!(
            (
                flat_header(0),
                flat_header(6),
                flat_header(8),
                flat_header(13)
            ),
            (
                "CMAR".into(),
                "Closed AVG".into(),
                "MADU L2".into(),
                "Open AVG".into()
            )
        );
    }

    #[test]
    fn published_rows_get_the_final_score_from_their_printed_sub_scores() {
        let t = table(&[]);
        let final_col = COLUMNS.iter().position(|c| *c == "FINAL").unwrap();
        let gpt4o = t.published.iter().find(|r| r.name == "GPT-4o").unwrap();
        let closed = 20.50 + 30.70 + 51.30 + 62.35 + 49.25 + 55.10;
        let open = 20.0 * (0.60 + 0.65 + 0.54 + 1.02 + 0.91 + 0.67);
        let got = gpt4o.cells[final_col].as_ref().unwrap().value;
        assert!((got - (closed + open) / 12.0).abs() < 1e-9, "{got}");
        // Random has no open scores, so no final score.
        assert!(t.published[0].cells[final_col].is_none());
        assert_eq!(flat_header(final_col), "Final score");
    }

    #[test]
    fn open_scores_are_best_only_among_rows_of_the_same_kind_of_judge() {
        let metric = |value: f64| super::super::score::Metric {
            value,
            low: value,
            high: value,
            n: 12,
        };
        let scores = |judge: &str| ModelScores {
            model: "m".into(),
            judge: judge.into(),
            metrics: [("CMAR", 99.0), ("MADU_L1", 5.0)]
                .into_iter()
                .map(|(c, v)| (c.to_string(), metric(v)))
                .collect(),
            parsed: (12, 12),
        };
        let t = table(&[scores("rules")]);
        let (ours, madu) = (
            &t.ours[0],
            COLUMNS.iter().position(|c| *c == "MADU_L1").unwrap(),
        );
        // Accuracy compares with every row; an offline judge's 5.00 only with offline rows.
        assert!(is_best(&t, ours, 0, 99.0) && is_best(&t, ours, madu, 5.0));
        let published_best = t.best[madu][0].unwrap();
        assert!(
            published_best < 5.0,
            "the published rows' best MADU L1 is {published_best}"
        );
        let holder = t
            .published
            .iter()
            .find(|r| {
                r.cells[madu]
                    .as_ref()
                    .is_some_and(|c| c.value == published_best)
            })
            .unwrap();
        assert!(
            is_best(&t, holder, madu, published_best),
            "the published best stays marked"
        );
        // An LLM judge's 5.00 competes with the published rows and takes the mark from them.
        let t = table(&[scores("llm: Qwen3-8B")]);
        assert!(is_best(&t, &t.ours[0], madu, 5.0) && !is_best(&t, holder, madu, published_best));
    }
}
