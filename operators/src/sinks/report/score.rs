//! Scores of judged answers: accuracy per closed task and their mean (AVG),
//! L1..L3 per open task and their mean, and MA-Bench's final score (the
//! mean of the 12 sub-scores on 0..100), each with a bootstrap 95% interval
//! over clips (items of one clip are resampled together).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::language::qa::item::CLOSED;
use crate::language::rng::Rng;

/// One metric with its interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metric {
    /// Value (accuracy in %, a judge score 0..5, or the final score 0..100).
    pub value: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Items behind it.
    pub n: usize,
}

/// A model's scores, by column (`CMAR`…`PPR`, `AVG`, `MADU_L1`…`MARE_L3`, `OPEN_AVG`, `FINAL`).
#[derive(Clone, Debug, Serialize)]
pub struct ModelScores {
    /// Model name.
    pub model: String,
    /// Judge label (`rules` or `llm: …`).
    pub judge: String,
    /// Metrics by column.
    pub metrics: BTreeMap<String, Metric>,
    /// Replies that could be read (an option, yes/no, a label line, a non-empty description), and replies in all.
    pub parsed: (usize, usize),
}

/// Below this share of readable replies (in %), a model's scores say more about its replies' form than its answers, and the report says so.
pub const PARSE_FLAG_BELOW: f64 = 50.0;

impl ModelScores {
    /// Readable replies in %, when there were any.
    pub fn parse_rate(&self) -> Option<f64> {
        (self.parsed.1 > 0).then(|| 100.0 * self.parsed.0 as f64 / self.parsed.1 as f64)
    }

    /// Whether most replies could not be read.
    pub fn mostly_unparsed(&self) -> bool {
        self.parse_rate().is_some_and(|r| r < PARSE_FLAG_BELOW)
    }
}

/// Whether a judged row's reply could be read (`parsed` is an answer, or `true` where only that is kept).
pub fn readable(row: &Value) -> bool {
    match &row["parsed"] {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.trim().is_empty(),
        _ => true,
    }
}

/// The columns of the paper's table, in order.
pub const COLUMNS: [&str; 15] = [
    "CMAR", "FMAR", "SAD", "MAD", "MAS", "PPR", "AVG", "MADU_L1", "MADU_L2", "MADU_L3", "MARE_L1",
    "MARE_L2", "MARE_L3", "OPEN_AVG", "FINAL",
];

/// The open tasks' judge levels, in table order.
pub const OPEN_LEVELS: [&str; 6] = [
    "MADU_L1", "MADU_L2", "MADU_L3", "MARE_L1", "MARE_L2", "MARE_L3",
];

/// MA-Bench's final score (0..100) from the 12 sub-scores by column: the mean
/// of the six closed accuracies (%) and the six open levels (0..5) times 20.
/// `None` unless all twelve are there. The two AVG columns do not enter it.
pub fn final_score(value: impl Fn(&str) -> Option<f64>) -> Option<f64> {
    let closed = CLOSED.iter().map(|c| value(c));
    let open = OPEN_LEVELS.iter().map(|c| value(c).map(|v| 20.0 * v));
    let parts: Option<Vec<f64>> = closed.chain(open).collect();
    parts.map(|p| p.iter().sum::<f64>() / p.len() as f64)
}

/// Per clip, the values each column averages (accuracy as 0/100 per item, judge scores as they are).
type ClipValues = BTreeMap<&'static str, Vec<f64>>;

fn clip_values(judged: &Value) -> ClipValues {
    let mut out: ClipValues = BTreeMap::new();
    for item in judged["items"].as_array().into_iter().flatten() {
        let task = item["task"].as_str().unwrap_or("");
        if let Some(t) = CLOSED.iter().find(|t| **t == task) {
            // `null`: the item has no answer to score against.
            if let Some(correct) = item["correct"].as_bool() {
                out.entry(t)
                    .or_default()
                    .push(if correct { 100.0 } else { 0.0 });
            }
        }
        for (open, cols) in [
            ("MADU", ["MADU_L1", "MADU_L2", "MADU_L3"]),
            ("MARE", ["MARE_L1", "MARE_L2", "MARE_L3"]),
        ] {
            if task == open {
                for (k, col) in cols.iter().enumerate() {
                    if let Some(v) = item[format!("L{}", k + 1)].as_f64() {
                        out.entry(col).or_default().push(v);
                    }
                }
            }
        }
    }
    out
}

/// Column values from a sample of clips: means per column, then AVG and OPEN_AVG over them.
fn columns(clips: &[&ClipValues]) -> BTreeMap<&'static str, (f64, usize)> {
    let mut sums: BTreeMap<&'static str, (f64, usize)> = BTreeMap::new();
    for c in clips {
        for (col, values) in c.iter() {
            let e = sums.entry(col).or_default();
            e.0 += values.iter().sum::<f64>();
            e.1 += values.len();
        }
    }
    let mut out: BTreeMap<&'static str, (f64, usize)> = sums
        .into_iter()
        .filter(|(_, (_, n))| *n > 0)
        .map(|(k, (s, n))| (k, (s / n as f64, n)))
        .collect();
    let mean_of = |cols: &[&str], out: &BTreeMap<&'static str, (f64, usize)>| {
        let vals: Vec<f64> = cols
            .iter()
            .filter_map(|c| out.get(c).map(|v| v.0))
            .collect();
        (vals.len() == cols.len()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
    };
    // An average's n is the items it covers: every closed item; each open item once, not per level.
    let items = |cols: &[&str], out: &BTreeMap<&'static str, (f64, usize)>| -> usize {
        cols.iter().filter_map(|c| out.get(c).map(|v| v.1)).sum()
    };
    if let Some(avg) = mean_of(&CLOSED, &out) {
        out.insert("AVG", (avg, items(&CLOSED, &out)));
    }
    if let Some(avg) = mean_of(&OPEN_LEVELS, &out) {
        out.insert("OPEN_AVG", (avg, items(&["MADU_L1", "MARE_L1"], &out)));
    }
    if let Some(score) = final_score(|c| out.get(c).map(|v| v.0)) {
        let n = items(&CLOSED, &out) + items(&["MADU_L1", "MARE_L1"], &out);
        out.insert("FINAL", (score, n));
    }
    out
}

/// Scores of one model from its judged records (one per clip), with `resamples` bootstrap draws.
pub fn score_model(
    model: &str,
    judge: &str,
    judged: &[&Value],
    resamples: usize,
    seed: u64,
) -> ModelScores {
    let per_clip: Vec<ClipValues> = judged.iter().map(|j| clip_values(j)).collect();
    let refs: Vec<&ClipValues> = per_clip.iter().collect();
    let point = columns(&refs);
    let mut draws: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut rng = Rng::new(seed, &[model, "bootstrap"]);
    if !refs.is_empty() {
        for _ in 0..resamples {
            let sample: Vec<&ClipValues> = (0..refs.len())
                .map(|_| refs[rng.below(refs.len())])
                .collect();
            for (col, (v, _)) in columns(&sample) {
                draws.entry(col).or_default().push(v);
            }
        }
    }
    let metrics = point
        .into_iter()
        .map(|(col, (value, n))| {
            let mut d = draws.remove(col).unwrap_or_default();
            d.sort_by(f64::total_cmp);
            let q = |p: f64| {
                if d.is_empty() {
                    value
                } else {
                    d[((d.len() - 1) as f64 * p).round() as usize]
                }
            };
            (
                col.to_string(),
                Metric {
                    value,
                    low: q(0.025),
                    high: q(0.975),
                    n,
                },
            )
        })
        .collect();
    let rows: Vec<&Value> = judged
        .iter()
        .flat_map(|j| j["items"].as_array().into_iter().flatten())
        .collect();
    let parsed = (rows.iter().filter(|r| readable(r)).count(), rows.len());
    ModelScores {
        model: model.to_string(),
        judge: judge.to_string(),
        metrics,
        parsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accuracy_avg_and_intervals() {
        let clip = |c: bool, l: u8| {
            json!({"items": [
                {"task": "CMAR", "correct": c}, {"task": "FMAR", "correct": true}, {"task": "SAD", "correct": c},
                {"task": "MAD", "correct": true}, {"task": "MAS", "correct": false}, {"task": "PPR", "correct": true},
                {"task": "MADU", "L1": l, "L2": l, "L3": l}, {"task": "MARE", "L1": 5, "L2": 5, "L3": 5}]})
        };
        let records = [clip(true, 1), clip(false, 3)];
        let refs: Vec<&Value> = records.iter().collect();
        let s = score_model("m", "rules", &refs, 200, 0);
        assert_eq!(s.metrics["CMAR"].value, 50.0);
        assert_eq!(s.metrics["MAS"].value, 0.0);
        assert!(
            (s.metrics["AVG"].value - (50.0 + 100.0 + 50.0 + 100.0 + 0.0 + 100.0) / 6.0).abs()
                < 1e-9
        );
        assert_eq!(s.metrics["MADU_L1"].value, 2.0);
        assert!((s.metrics["OPEN_AVG"].value - 3.5).abs() < 1e-9);
        // The averages count the items they cover: 2 clips × 6 closed items, 2 × 2 open ones.
        assert_eq!((s.metrics["AVG"].n, s.metrics["OPEN_AVG"].n), (12, 4));
        let ci = &s.metrics["CMAR"];
        assert!(ci.low <= ci.value && ci.value <= ci.high && ci.low >= 0.0 && ci.high <= 100.0);
        assert_eq!((ci.low, ci.high), (0.0, 100.0));
        // FINAL: the six accuracies and the six levels × 20, over twelve; not the AVGs.
        let want =
            (50.0 + 100.0 + 50.0 + 100.0 + 0.0 + 100.0 + 3.0 * 20.0 * 2.0 + 3.0 * 100.0) / 12.0;
        assert!((s.metrics["FINAL"].value - want).abs() < 1e-9);
        assert_eq!(s.metrics["FINAL"].n, 16);
        let f = &s.metrics["FINAL"];
        assert!(f.low <= f.value && f.value <= f.high);
    }

    #[test]
    fn items_without_an_answer_are_not_scored_and_final_needs_all_twelve() {
        let record = json!({"items": [
            {"task": "CMAR", "correct": true}, {"task": "CMAR", "correct": null},
            {"task": "MADU", "parsed": "x"}]});
        let s = score_model("m", "rules", &[&record], 50, 0);
        assert_eq!((s.metrics["CMAR"].value, s.metrics["CMAR"].n), (100.0, 1));
        assert!(!s.metrics.contains_key("MADU_L1"));
        assert!(!s.metrics.contains_key("FINAL"));
        assert!(!s.metrics.contains_key("AVG"));
    }
}
