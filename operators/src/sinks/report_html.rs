//! The self-contained HTML report: inline CSS and SVG, thumbnails as data
//! URLs, no scripts or external files, so it opens anywhere.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::language::frames::base64;
use crate::language::qa::CLOSED;
use crate::language::qa::recognition::LETTERS;
use super::report::{Collected, PAPER_RESULTS, Shown, failure_effect, parse_lines, table_rows};
use crate::language::score::ModelScores;
use crate::common::taxonomy::{ACTIONS, BODY_LEVELS};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const HEAD: [&str; 15] = ["model", "CMAR", "FMAR", "SAD", "MAD", "MAS", "PPR", "AVG", "MADU L1", "L2", "L3", "MARE L1", "L2", "L3", "AVG"];
const COLOURS: [&str; 6] = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2"];

/// The whole page.
pub fn render(scores: &[ModelScores], c: &Collected, thumbs: &Path, max_items: usize, shown: &Shown<'_>) -> String {
    let clips = shown.clips;
    let mut h = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>maflow benchmark report</title><style>\
         body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:1300px}table{border-collapse:collapse;margin:8px 0}\
         td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}td:first-child,th:first-child{text-align:left}\
         tr.ours{background:#eef5ff}.muted{color:#777}details{margin:4px 0}summary{cursor:pointer}\
         .clip{border-top:1px solid #ddd;padding:8px 0}.clip img{max-width:520px;display:block}pre{white-space:pre-wrap;background:#f6f6f6;padding:6px}\
         .ok{color:#1a7f37}.bad{color:#c62828}</style></head><body>",
    );
    h.push_str(&format!("<h1>Benchmark report</h1><p>{clips} clips, {} items. Accuracy in %, judge scores 0..5.</p>", c.total_items));
    if let Some(summary) = shown.summary() {
        h.push_str(&format!("<p class=\"bad\"><b>{}</b> <a href=\"#failures\">Failures</a></p>", esc(&summary)));
    }
    h.push_str("<h2>Results</h2><table><tr>");
    for col in HEAD {
        h.push_str(&format!("<th>{col}</th>"));
    }
    h.push_str("</tr>");
    for (name, cells) in table_rows(scores) {
        h.push_str(&format!("<tr class=\"ours\"><td>{}</td>", esc(&name)));
        for cell in cells {
            h.push_str(&format!("<td>{cell}</td>"));
        }
        h.push_str("</tr>");
    }
    for line in PAPER_RESULTS.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        h.push_str(&format!("<tr><td>{} <span class=\"muted\">(published)</span></td>", esc(cells[0])));
        for cell in &cells[1..] {
            h.push_str(&format!("<td>{}</td>", if cell.is_empty() { "-" } else { cell }));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    for (line, flag) in parse_lines(scores) {
        h.push_str(&format!("<p class=\"{}\">{}</p>", if flag { "bad" } else { "muted" }, esc(&line)));
    }
    h.push_str("<p class=\"muted\">Judge scores from the <code>rules</code> judge are an offline proxy, not comparable with published LLM-judge scores. 95% bootstrap intervals are in <code>scores.csv</code>.</p>");
    h.push_str("<h2>Accuracy per task</h2>");
    h.push_str(&bar_chart(scores));
    h.push_str("<h2>Confusion matrices (body levels)</h2>");
    let items: BTreeMap<&str, &Value> = c.items.iter().filter_map(|i| Some((i["id"].as_str()?, i))).collect();
    for ((model, _), records) in &c.judged {
        for task in ["CMAR", "FMAR"] {
            h.push_str(&confusion(model, task, records, &items));
        }
    }
    h.push_str("<h2>Items</h2>");
    h.push_str(&item_list(c, thumbs, max_items));
    if !shown.failures.is_empty() {
        h.push_str(&format!("<h2 id=\"failures\">Failures ({})</h2><table><tr><th>clip</th><th>operator</th><th>cause</th><th>in this report</th></tr>", shown.failures.len()));
        for f in shown.failures {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td><td>{}</td></tr>",
                esc(&f.error.clip),
                esc(&f.error.operator),
                esc(&f.error.cause),
                failure_effect(f)
            ));
        }
        h.push_str("</table>");
    }
    h.push_str("</body></html>\n");
    h
}

fn bar_chart(scores: &[ModelScores]) -> String {
    let (w, hgt, left, bottom) = (760.0, 260.0, 40.0, 30.0);
    let group = (w - left) / CLOSED.len() as f64;
    let bar = (group - 12.0) / scores.len().max(1) as f64;
    let mut s = format!("<svg width=\"{w}\" height=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">", hgt + 20.0 * scores.len() as f64);
    for k in 0..=4 {
        let y = hgt - bottom - (hgt - bottom - 10.0) * f64::from(k) / 4.0;
        s.push_str(&format!("<line x1=\"{left}\" x2=\"{w}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#ddd\"/><text x=\"4\" y=\"{}\">{}</text>", y + 4.0, k * 25));
    }
    for (t, task) in CLOSED.iter().enumerate() {
        let x0 = left + group * t as f64 + 6.0;
        for (m, sc) in scores.iter().enumerate() {
            if let Some(metric) = sc.metrics.get(*task) {
                let bh = (hgt - bottom - 10.0) * metric.value / 100.0;
                let x = x0 + bar * m as f64;
                s.push_str(&format!(
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{}\"><title>{} {task}: {:.1}% [{:.1}, {:.1}]</title></rect>",
                    hgt - bottom - bh,
                    bar - 2.0,
                    COLOURS[m % COLOURS.len()],
                    esc(&sc.model),
                    metric.value,
                    metric.low,
                    metric.high
                ));
            }
        }
        s.push_str(&format!("<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{task}</text>", x0 + (group - 12.0) / 2.0, hgt - bottom + 16.0));
    }
    for (m, sc) in scores.iter().enumerate() {
        let y = hgt + 20.0 * m as f64;
        s.push_str(&format!("<rect x=\"{left}\" y=\"{y}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>", COLOURS[m % COLOURS.len()], left + 18.0, y + 10.0, esc(&sc.model)));
    }
    s.push_str("</svg>");
    s
}

/// The body level an item's option letter stands for.
fn level_of(item: &Value, letter: &str) -> Option<usize> {
    let at = LETTERS.iter().position(|l| *l == letter)?;
    let option = item["options"].get(at)?.as_str()?;
    let level = if item["task"] == "CMAR" {
        option.to_string()
    } else {
        ACTIONS.iter().find(|a| a.name == option)?.body_level().name.to_string()
    };
    BODY_LEVELS.iter().position(|l| l.name == level)
}

fn confusion(model: &str, task: &str, records: &[Value], items: &BTreeMap<&str, &Value>) -> String {
    let n = BODY_LEVELS.len();
    let mut m = vec![vec![0u32; n + 1]; n];
    for row in records.iter().flat_map(|r| r["items"].as_array().into_iter().flatten()).filter(|r| r["task"] == task) {
        let Some(item) = row["id"].as_str().and_then(|id| items.get(id)) else { continue };
        let Some(truth) = item["answer"].as_str().and_then(|a| level_of(item, a)) else { continue };
        let guess = row["parsed"].as_str().and_then(|p| level_of(item, p)).unwrap_or(n);
        m[truth][guess] += 1;
    }
    let mut s = format!("<h3>{} — {task} <span class=\"muted\">(rows: true level, columns: chosen level)</span></h3><table><tr><th></th>", esc(model));
    for l in BODY_LEVELS {
        s.push_str(&format!("<th>{}</th>", l.name));
    }
    s.push_str("<th>unreadable</th></tr>");
    for (i, l) in BODY_LEVELS.iter().enumerate() {
        s.push_str(&format!("<tr><td>{}</td>", l.name));
        let total = m[i].iter().sum::<u32>().max(1);
        for (j, v) in m[i].iter().enumerate() {
            let shade = 255 - (f64::from(*v) / f64::from(total) * 150.0) as u32;
            let colour = if i == j { format!("rgb({shade},255,{shade})") } else { format!("rgb(255,{shade},{shade})") };
            s.push_str(&format!("<td style=\"background:{colour}\">{v}</td>"));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

fn item_list(c: &Collected, thumbs: &Path, max_items: usize) -> String {
    let mut s = String::new();
    let mut by_clip: Vec<(&str, Vec<&Value>)> = Vec::new();
    for item in c.items.iter().take(max_items) {
        let clip = item["clip"].as_str().unwrap_or("");
        match by_clip.last_mut() {
            Some((id, list)) if *id == clip => list.push(item),
            _ => by_clip.push((clip, vec![item])),
        }
    }
    let replies: BTreeMap<(&str, &str), &Value> = c
        .judged
        .iter()
        .flat_map(|((model, _), recs)| recs.iter().flat_map(|r| r["items"].as_array().into_iter().flatten()).map(move |row| (model.as_str(), row)))
        .filter_map(|(model, row)| Some(((row["id"].as_str()?, model), row)))
        .collect();
    for (clip, items) in by_clip {
        s.push_str(&format!("<div class=\"clip\"><h3>{}</h3>", esc(clip)));
        if let Ok(png) = std::fs::read(thumbs.join(format!("{clip}.png"))) {
            s.push_str(&format!("<img alt=\"{0}\" src=\"data:image/png;base64,{1}\">", esc(clip), base64(&png)));
        }
        for item in items {
            let id = item["id"].as_str().unwrap_or("");
            let mut summary = format!("<b>{}</b> {}", esc(item["task"].as_str().unwrap_or("")), esc(item["question"].as_str().unwrap_or("")));
            if let Some(options) = item["options"].as_array().filter(|o| !o.is_empty()) {
                let opts: Vec<String> = options.iter().zip(LETTERS).map(|(o, l)| format!("{l}. {}", esc(o.as_str().unwrap_or("")))).collect();
                summary.push_str(&format!(" <span class=\"muted\">[{}]</span>", opts.join("; ")));
            }
            let answer = item["answer"].as_str().filter(|a| !a.is_empty()).unwrap_or("(open)");
            s.push_str(&format!("<details><summary>{summary} — answer: <b>{}</b></summary>", esc(answer)));
            if let Some(r) = item["reference"].as_str() {
                s.push_str(&format!("<p><i>Reference:</i> {}</p>", esc(r)));
            }
            s.push_str("<table><tr><th>model</th><th>reply</th><th>parsed</th><th>result</th></tr>");
            for (model, _) in c.judged.keys() {
                if let Some(row) = replies.get(&(id, model.as_str())) {
                    let result = match row.get("correct").and_then(Value::as_bool) {
                        Some(true) => "<span class=\"ok\">right</span>".to_string(),
                        Some(false) => "<span class=\"bad\">wrong</span>".to_string(),
                        None => format!("L1 {} · L2 {} · L3 {}", row["L1"], row["L2"], row["L3"]),
                    };
                    s.push_str(&format!(
                        "<tr><td>{}</td><td style=\"text-align:left\">{}</td><td>{}</td><td>{result}</td></tr>",
                        esc(model),
                        esc(row["reply"].as_str().unwrap_or("")),
                        esc(&row["parsed"].to_string())
                    ));
                }
            }
            s.push_str("</table>");
            s.push_str(&format!("<pre>{}</pre></details>", esc(&serde_json::to_string_pretty(&item["provenance"]).unwrap_or_default())));
        }
        s.push_str("</div>");
    }
    if c.total_items > max_items {
        s.push_str(&format!("<p class=\"muted\">{} more items in bench.jsonl.</p>", c.total_items - max_items));
    }
    s
}
