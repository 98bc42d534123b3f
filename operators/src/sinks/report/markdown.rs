//! `report.md`: the results table in the paper's columns beside the
//! published rows, the parse rates, recognition per action, the selection,
//! the exports' notes and the failures.

use maflow_engine::registry::SinkFailure;

use super::collected::{Collected, Shown, failure_effect, parse_lines};
use super::results_table::{FINAL_RULE, Row, flat_header, footnote, format, is_best, table};
use super::score::{COLUMNS, ModelScores};
use super::{exports, recognition, selection};

pub fn report_md(scores: &[ModelScores], collected: &Collected, shown: &Shown<'_>) -> String {
    let (clips, items) = (shown.clips, shown.items);
    let mut out = format!(
        "# Benchmark report\n\n{clips} clips, {items} items. Accuracy in %, judge scores 0..5; 95% bootstrap intervals over clips in `scores.csv`.\n\n"
    );
    if let Some(summary) = shown.summary() {
        out.push_str(&format!("**{summary}**\n\n"));
    }
    let t = table(scores);
    out.push_str("## Results\n\nThis run: value [95% bootstrap interval over clips] and the items behind it; the best value of each column in bold.\n\n| model |");
    for c in 0..COLUMNS.len() {
        out.push_str(&format!(" {} |", flat_header(c)));
    }
    out.push_str(&format!("\n|---|{}\n", "---|".repeat(COLUMNS.len())));
    let md_row = |row: &Row| {
        let cells: Vec<String> = row
            .cells
            .iter()
            .enumerate()
            .map(|(c, cell)| match cell {
                None => "-".to_string(),
                Some(x) => {
                    let v = format(x.value);
                    let mut text = if is_best(&t, row, c, x.value) {
                        format!("**{v}**")
                    } else {
                        v
                    };
                    if let Some((lo, hi)) = x.interval {
                        text.push_str(&format!(" [{}, {}]", format(lo), format(hi)));
                    }
                    if let Some(n) = x.n {
                        text.push_str(&format!(" n={n}"));
                    }
                    text
                }
            })
            .collect();
        format!("| {} | {} |\n", row.name, cells.join(" | "))
    };
    out.push_str(&format!("| *this run* |{}\n", " |".repeat(COLUMNS.len())));
    for row in &t.ours {
        out.push_str(&md_row(row));
    }
    out.push_str(&format!(
        "| *published (MA-Bench)*¹ |{}\n",
        " |".repeat(COLUMNS.len())
    ));
    for row in &t.published {
        out.push_str(&md_row(row));
    }
    out.push_str(&format!("\n¹ {}\n\n{FINAL_RULE}\n\n", footnote(&t)));
    for (line, flag) in parse_lines(scores) {
        out.push_str(&format!(
            "- {}{line}\n",
            if flag { "**Warning:** " } else { "" }
        ));
    }
    out.push_str("\nScores from the `rules` judge are an offline proxy for an LLM judge and are not comparable with the published judge scores.\n");
    let (rows, models, undecided) = collected.by_action();
    out.push_str(&recognition::markdown(&rows, &models, &undecided));
    out.push_str(&selection::markdown(
        shown.run.map_or(&[][..], |r| &r.sources),
    ));
    out.push_str(&exports::markdown(shown.run.map_or(&[][..], |r| &r.sinks)));
    if !shown_failures(&mut out, shown.failures) {
        out.push_str("\nEvery clip was computed in this run or taken from the store.\n");
    }
    out
}

/// The failures table; false when there is none.
fn shown_failures(out: &mut String, failures: &[SinkFailure]) -> bool {
    if failures.is_empty() {
        return false;
    }
    out.push_str(&format!(
        "\n## Failures ({})\n\n| clip | operator | cause | in this report |\n|---|---|---|---|\n",
        failures.len()
    ));
    for f in failures {
        let cause = f.error.cause.replace('|', "\\|").replace('\n', " ");
        out.push_str(&format!(
            "| {} | {} | {cause} | {} |\n",
            f.error.clip,
            f.error.operator,
            failure_effect(f)
        ));
    }
    true
}
