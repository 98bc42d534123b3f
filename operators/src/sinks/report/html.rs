//! The HTML report: inline CSS and SVG, thumbnails as data URLs, a few
//! lines of inline script for the item filters, and links to the motion
//! pictures in the folders beside it (the output folder's own files; no
//! outside request). Moved alone, it still reads, without those pictures.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::Listing;
use super::charts::{grouped_bars, ranking, series};
use super::collected::{Collected, Shown, failure_effect, parse_lines};
use super::recognition;
use super::results_table::{FINAL_RULE, GROUPS, Row, Table, footnote, format, is_best, table};
use super::score::ModelScores;
use crate::common::base64;
use crate::common::taxonomy::{ACTIONS, BODY_LEVELS};
use crate::language::qa::recognition::LETTERS;
use maflow_engine::registry::RunInfo;
use maflow_engine::store::{is_file_with_writes, read_with_writes};
use maflow_kernels::flow::color::wheel_key;
use maflow_kernels::png_io::encode_rgb_png;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The whole page.
pub fn render(
    scores: &[ModelScores],
    c: &Collected,
    dir: &Path,
    listing: &Listing<'_>,
    shown: &Shown<'_>,
) -> String {
    let clips = shown.clips;
    let mut h = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>maflow benchmark report</title><style>\
         body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:1300px}table{border-collapse:collapse;margin:8px 0}\
         td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}td:first-child,th:first-child{text-align:left}\
         tr.ours{background:#eef5ff}th.section{text-align:left;background:#f2f2f2}th.group{text-align:center}table.run th{text-align:left;background:#f6f6f6}table.run td{text-align:left}small{font-size:11px;white-space:nowrap}.scroll{overflow-x:auto}.muted{color:#777}details{margin:4px 0}tr.short td{background:#fff1e0}summary{cursor:pointer}\
         .clip{border-top:1px solid #ddd;padding:8px 0}.clip img{max-width:520px;display:block}pre{white-space:pre-wrap;background:#f6f6f6;padding:6px}\
         .ok{color:#1a7f37}td.text,th.text{text-align:left;white-space:pre-wrap}.chip{font-size:12px;margin-left:6px}.filters{margin:8px 0;padding:6px;background:#f6f6f6}.row{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0}figure img{max-width:420px;display:block}img.key{width:96px}figcaption{font-size:12px;color:#555;max-width:420px}.bad{color:#c62828}</style></head><body>",
    );
    h.push_str(&format!("<h1>Benchmark report</h1><p>{clips} clips, {} items. Accuracy in %, judge scores 0..5.</p>", c.total_items));
    if let Some(run) = shown.run {
        h.push_str(&run_details(run));
    }
    if let Some(summary) = shown.summary() {
        h.push_str(&format!(
            "<p class=\"bad\"><b>{}</b> <a href=\"#failures\">Failures</a></p>",
            esc(&summary)
        ));
    }
    h.push_str(&results_section(scores));
    h.push_str(&recognition_section(c));
    h.push_str(&super::selection::html(
        shown.run.map_or(&[][..], |r| &r.sources),
        esc,
    ));
    h.push_str(&super::exports::html(
        shown.run.map_or(&[][..], |r| &r.sinks),
        esc,
    ));
    h.push_str("<h2>Items</h2>");
    h.push_str(&item_list(c, dir, listing));
    h.push_str(&failures_section(shown));
    h.push_str("</body></html>\n");
    h
}

/// The results: the table beside the published rows, the parse rates, the charts and the ranking.
fn results_section(scores: &[ModelScores]) -> String {
    let mut h = String::new();
    h.push_str("<h2>Results</h2>");
    h.push_str(&results_html(&table(scores)));
    for (line, flag) in parse_lines(scores) {
        h.push_str(&format!(
            "<p class=\"{}\">{}</p>",
            if flag { "bad" } else { "muted" },
            esc(&line)
        ));
    }
    h.push_str("<p class=\"muted\">Judge scores from the <code>rules</code> judge are an offline proxy, not comparable with published LLM-judge scores.</p>");
    h.push_str("<h2>Accuracy per task</h2><p class=\"muted\">Bars: value; whiskers: 95% bootstrap interval over clips.</p>");
    let closed = ["CMAR", "FMAR", "SAD", "MAD", "MAS", "PPR", "AVG"];
    h.push_str(&grouped_bars(
        &closed,
        &series(scores, &closed),
        100.0,
        "accuracy (%)",
    ));
    h.push_str("<h2>Judge scores per level</h2>");
    let open = [
        "MADU_L1", "MADU_L2", "MADU_L3", "MARE_L1", "MARE_L2", "MARE_L3",
    ];
    let open_names = [
        "MADU L1", "MADU L2", "MADU L3", "MARE L1", "MARE L2", "MARE L3",
    ];
    h.push_str(&grouped_bars(
        &open_names,
        &series(scores, &open),
        5.0,
        "judge score (0–5)",
    ));
    h.push_str("<h2>This run among the published models</h2>");
    let t = table(scores);
    h.push_str(&ranking(&t, 6, "closed-task AVG (accuracy %)", 100.0));
    h.push_str(&ranking(&t, 13, "open-task AVG (judge score 0–5)", 5.0));
    h.push_str(&ranking(&t, 14, "final score (0–100)", 100.0));
    if scores.iter().any(|s| s.judge == "rules") {
        h.push_str("<p class=\"muted\">Open-task scores from the <code>rules</code> judge are an offline proxy and do not rank against published LLM-judge scores.</p>");
    }
    h
}

/// Recognition per action, and per model the CMAR confusion matrix and FMAR's wrong picks.
fn recognition_section(c: &Collected) -> String {
    let mut h = String::new();
    h.push_str("<h2>Recognition: CMAR body levels, FMAR actions</h2>");
    let items: BTreeMap<&str, &Value> = c
        .items
        .iter()
        .filter_map(|i| Some((i["id"].as_str()?, i)))
        .collect();
    let (rows, models, undecided) = c.by_action();
    h.push_str(&recognition::html(&rows, &models, &undecided, esc));
    for ((model, _), records) in &c.judged {
        h.push_str(&confusion(model, "CMAR", records, &items));
        h.push_str(&fmar_picks(model, records, &items));
    }
    h
}

/// The clips this run could not compute, if any.
fn failures_section(shown: &Shown<'_>) -> String {
    let mut h = String::new();
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
    h
}

/// What ran: the spec, the version, when, how long, the cache, and the
/// models that wrote, answered and judged (endpoint and model, never a key).
fn run_details(run: &RunInfo) -> String {
    let mut h = format!(
        "<table class=\"run\"><tr><th>spec</th><td>{} <span class=\"muted\">({})</span></td></tr>\
         <tr><th>maflow</th><td>{}</td></tr><tr><th>started</th><td>{}</td></tr>\
         <tr><th>wall time</th><td>{:.1} s</td></tr><tr><th>clips</th><td>{}</td></tr>\
         <tr><th>outputs</th><td>{} from the store, {} computed or tried</td></tr>",
        esc(&run.spec),
        esc(&run.spec_hash[..run.spec_hash.len().min(16)]),
        esc(run.version),
        utc(run.started_unix),
        run.wall_seconds,
        run.clips,
        run.cache_hits,
        run.cache_misses
    );
    for (id, kind, config) in &run.nodes {
        let role = match kind.as_str() {
            "respond" => "model under test",
            "judge" => "judge",
            "caption" | "describe" => "writer",
            _ => continue,
        };
        let backend = config["backend"].as_str().unwrap_or("rules");
        let who = match config.get("llm").filter(|l| l.is_object()) {
            Some(llm) if backend == "llm" => format!(
                "{} at <code>{}</code>",
                esc(llm["model"].as_str().unwrap_or("?")),
                esc(llm["base_url"].as_str().unwrap_or("?"))
            ),
            _ => format!("<code>{}</code> (built in)", esc(backend)),
        };
        h.push_str(&format!(
            "<tr><th>{role}</th><td><b>{}</b> ({kind}): {who}</td></tr>",
            esc(id)
        ));
    }
    h.push_str("</table>");
    h
}

/// `2026-12-01 14:40 UTC` from Unix seconds (the proleptic Gregorian calendar).
fn utc(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60
    )
}

/// The results table: grouped headers, this run's rows with their intervals
/// and item counts, the published rows under their own heading, the best
/// value of each column in bold.
fn results_html(t: &Table) -> String {
    let columns: usize = GROUPS.iter().map(|(_, cols)| cols.len()).sum();
    let mut h = String::from(
        "<div class=\"scroll\"><table class=\"results\"><tr><th rowspan=\"2\">model</th>",
    );
    for (title, cols) in GROUPS {
        h.push_str(&format!(
            "<th colspan=\"{}\" class=\"group\">{title}</th>",
            cols.len()
        ));
    }
    h.push_str("</tr><tr>");
    for (_, cols) in GROUPS {
        for col in cols.iter() {
            h.push_str(&format!("<th>{col}</th>"));
        }
    }
    h.push_str("</tr>");
    let row_html = |row: &Row, class: &str| {
        let mut r = format!("<tr class=\"{class}\"><td>{}</td>", esc(&row.name));
        for (c, cell) in row.cells.iter().enumerate() {
            let Some(x) = cell else {
                r.push_str("<td class=\"muted\">–</td>");
                continue;
            };
            let v = format(x.value);
            let v = if is_best(t, row, c, x.value) {
                format!(
                    "<b title=\"best in this column among rows of the same kind of judge\">{v}</b>"
                )
            } else {
                v
            };
            let mut extra = Vec::new();
            if let Some((lo, hi)) = x.interval {
                extra.push(format!("[{}, {}]", format(lo), format(hi)));
            }
            if let Some(n) = x.n {
                extra.push(format!("n={n}"));
            }
            let extra = extra.join("<br>");
            if extra.is_empty() {
                r.push_str(&format!("<td>{v}</td>"));
            } else {
                r.push_str(&format!(
                    "<td>{v}<br><small class=\"muted\">{extra}</small></td>"
                ));
            }
        }
        r.push_str("</tr>");
        r
    };
    h.push_str(&format!("<tr><th colspan=\"{}\" class=\"section\">This run: value, [95% bootstrap interval over clips], n items</th></tr>", columns + 1));
    for row in &t.ours {
        h.push_str(&row_html(row, "ours"));
    }
    h.push_str(&format!(
        "<tr><th colspan=\"{}\" class=\"section\">Published: MA-Bench¹</th></tr>",
        columns + 1
    ));
    for row in &t.published {
        h.push_str(&row_html(row, "published"));
    }
    h.push_str(&format!(
        "</table></div><p class=\"muted\">¹ {}</p><p class=\"muted\">{}</p>",
        esc(&footnote(t)),
        esc(FINAL_RULE)
    ));
    h
}

/// The body level an item's option letter stands for.
fn level_of(item: &Value, letter: &str) -> Option<usize> {
    let option = option_of(item, letter)?;
    let level = if item["task"] == "CMAR" {
        option.to_string()
    } else {
        ACTIONS
            .iter()
            .find(|a| a.name == option)?
            .body_level()
            .name
            .to_string()
    };
    BODY_LEVELS.iter().position(|l| l.name == level)
}

/// The option an item's letter names.
fn option_of<'a>(item: &'a Value, letter: &str) -> Option<&'a str> {
    let at = LETTERS.iter().position(|l| *l == letter)?;
    item["options"].get(at)?.as_str()
}

/// FMAR at the action level: every FMAR option is an action of the clip's
/// own body level, so a level matrix is all diagonal; what tells is which
/// action was taken for which, and how often.
fn fmar_picks(model: &str, records: &[Value], items: &BTreeMap<&str, &Value>) -> String {
    let mut picks: BTreeMap<(String, String), u32> = BTreeMap::new();
    let (mut right, mut total) = (0, 0);
    for row in records
        .iter()
        .flat_map(|r| r["items"].as_array().into_iter().flatten())
        .filter(|r| r["task"] == "FMAR")
    {
        let Some(item) = row["id"].as_str().and_then(|id| items.get(id)) else {
            continue;
        };
        let Some(truth) = item["answer"].as_str().and_then(|a| option_of(item, a)) else {
            continue;
        };
        total += 1;
        let chosen = row["parsed"]
            .as_str()
            .and_then(|p| option_of(item, p))
            .unwrap_or("(unreadable)");
        if chosen == truth {
            right += 1;
        } else {
            *picks
                .entry((truth.to_string(), chosen.to_string()))
                .or_default() += 1;
        }
    }
    let mut wrong: Vec<((String, String), u32)> = picks.into_iter().collect();
    wrong.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut s = format!(
        "<h3>{} — FMAR <span class=\"muted\">({right} of {total} right; the most common wrong picks)</span></h3>",
        esc(model)
    );
    if wrong.is_empty() {
        s.push_str("<p class=\"muted\">No wrong picks.</p>");
        return s;
    }
    s.push_str(
        "<table><tr><th>true action</th><th class=\"text\">chosen instead</th><th>times</th></tr>",
    );
    for ((truth, chosen), n) in wrong.iter().take(10) {
        s.push_str(&format!(
            "<tr><td>{}</td><td class=\"text\">{}</td><td>{n}</td></tr>",
            esc(truth),
            esc(chosen)
        ));
    }
    s.push_str("</table>");
    s
}

fn confusion(model: &str, task: &str, records: &[Value], items: &BTreeMap<&str, &Value>) -> String {
    let n = BODY_LEVELS.len();
    let mut m = vec![vec![0u32; n + 1]; n];
    for row in records
        .iter()
        .flat_map(|r| r["items"].as_array().into_iter().flatten())
        .filter(|r| r["task"] == task)
    {
        let Some(item) = row["id"].as_str().and_then(|id| items.get(id)) else {
            continue;
        };
        let Some(truth) = item["answer"].as_str().and_then(|a| level_of(item, a)) else {
            continue;
        };
        let guess = row["parsed"]
            .as_str()
            .and_then(|p| level_of(item, p))
            .unwrap_or(n);
        m[truth][guess] += 1;
    }
    let mut s = format!(
        "<h3>{} — {task} <span class=\"muted\">(rows: true level, columns: chosen level)</span></h3><table><tr><th></th>",
        esc(model)
    );
    for l in BODY_LEVELS {
        s.push_str(&format!("<th>{}</th>", l.name));
    }
    s.push_str("<th>unreadable</th></tr>");
    for (i, l) in BODY_LEVELS.iter().enumerate() {
        s.push_str(&format!("<tr><td>{}</td>", l.name));
        let total = m[i].iter().sum::<u32>().max(1);
        for (j, v) in m[i].iter().enumerate() {
            let shade = 255 - (f64::from(*v) / f64::from(total) * 150.0) as u32;
            let colour = if i == j {
                format!("rgb({shade},255,{shade})")
            } else {
                format!("rgb(255,{shade},{shade})")
            };
            s.push_str(&format!("<td style=\"background:{colour}\">{v}</td>"));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

/// The item filters (task, model, outcome) and the little inline script that applies them; no server, no outside file.
fn filters(models: &[&str]) -> String {
    let mut h = String::from(
        "<form id=\"filters\" class=\"filters\">Show <select id=\"f-task\"><option value=\"\">every task</option>",
    );
    for task in ["CMAR", "FMAR", "SAD", "MAD", "MAS", "PPR", "MADU", "MARE"] {
        h.push_str(&format!("<option>{task}</option>"));
    }
    h.push_str("</select> where <select id=\"f-model\">");
    for (k, m) in models.iter().enumerate() {
        h.push_str(&format!("<option value=\"{k}\">{}</option>", esc(m)));
    }
    h.push_str(
        "</select> is <select id=\"f-outcome\"><option value=\"\">anything</option><option>right</option><option>wrong</option><option>open</option></select> \
         <span id=\"f-count\" class=\"muted\"></span></form>",
    );
    h
}

/// Applies the filters to the items; placed after them, so they exist when it runs.
const FILTER_SCRIPT: &str = "<script>(function(){var f=document.getElementById('filters');function apply(){\
         var t=document.getElementById('f-task').value,m=document.getElementById('f-model').value,o=document.getElementById('f-outcome').value,n=0;\
         document.querySelectorAll('details.item').forEach(function(d){var show=(!t||d.dataset.task===t)&&(!o||d.getAttribute('data-m'+m)===o);\
         d.hidden=!show;if(show)n++;});\
         document.querySelectorAll('div.clip').forEach(function(c){c.hidden=!c.querySelector('details.item:not([hidden])');});\
         document.getElementById('f-count').textContent=n+' items shown';}\
         f.addEventListener('change',apply);apply();})();</script>";

/// Motion pictures of a clip that the run made, linked from the folders beside the report, with the flow colour key.
fn motion_pictures(dir: &Path, folders: &[std::path::PathBuf], clip: &str) -> String {
    // Each folder's picture, then its vector drawing where it has one (the motion plot, with real text).
    let found: Vec<(String, &str)> = folders
        .iter()
        .flat_map(|f| ["png", "svg"].map(|ext| (f, ext)))
        // Written by this run's sinks too, which land together after the report.
        .filter(|(f, ext)| is_file_with_writes(&dir.join(f).join(format!("{clip}.{ext}"))))
        .map(|(f, ext)| (f.display().to_string(), ext))
        .collect();
    if found.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "<details class=\"pictures\"><summary>motion pictures</summary><div class=\"row\">",
    );
    for (folder, ext) in &found {
        let href = format!("{}/{clip}.{ext}", esc(folder));
        s.push_str(&format!(
            "<figure><a href=\"{href}\"><img alt=\"{0} of {1}\" src=\"{href}\"></a><figcaption>{0}</figcaption></figure>",
            esc(folder),
            esc(clip)
        ));
    }
    s.push_str(&format!(
        "<figure><img class=\"key\" alt=\"flow colour key\" src=\"data:image/png;base64,{}\"><figcaption>flow key: hue is the direction (right red, down yellow-green, left cyan, up blue), \
         saturation the speed, white none</figcaption></figure></div></details>",
        flow_key()
    ));
    s
}

/// The flow colour key as a base64 PNG (made once per report).
fn flow_key() -> String {
    let side = 96;
    let png = encode_rgb_png(&wheel_key(side), side, side).expect("a small key encodes");
    base64::encode(&png)
}

/// Each model's judged row of each item: `(item id, model)` → row.
type Replies<'a> = BTreeMap<(&'a str, &'a str), &'a Value>;

fn item_list(c: &Collected, dir: &Path, listing: &Listing<'_>) -> String {
    let (thumbs, max_items) = (dir.join(listing.thumbnails), listing.max_items);
    let mut s = String::new();
    let mut by_clip: Vec<(&str, Vec<&Value>)> = Vec::new();
    for item in c.items.iter().take(max_items) {
        let clip = item["clip"].as_str().unwrap_or("");
        match by_clip.last_mut() {
            Some((id, list)) if *id == clip => list.push(item),
            _ => by_clip.push((clip, vec![item])),
        }
    }
    let replies: Replies<'_> = c
        .judged
        .iter()
        .flat_map(|((model, _), recs)| {
            recs.iter()
                .flat_map(|r| r["items"].as_array().into_iter().flatten())
                .map(move |row| (model.as_str(), row))
        })
        .filter_map(|(model, row)| Some(((row["id"].as_str()?, model), row)))
        .collect();
    let models: Vec<&str> = c.judged.keys().map(|(m, _)| m.as_str()).collect();
    s.push_str(&filters(&models));
    for (clip, items) in by_clip {
        s.push_str(&clip_heading(clip, &items, &models, &replies));
        if let Ok(png) = read_with_writes(&thumbs.join(format!("{clip}.png"))) {
            s.push_str(&format!(
                "<img alt=\"{0}\" src=\"data:image/png;base64,{1}\">",
                esc(clip),
                base64::encode(&png)
            ));
        }
        s.push_str(&motion_pictures(dir, listing.pictures, clip));
        for item in items {
            s.push_str(&item_details(item, &models, &replies));
        }
        s.push_str("</div>");
    }
    if c.total_items > max_items {
        s.push_str(&format!(
            "<p class=\"muted\">{} more items in bench.jsonl.</p>",
            c.total_items - max_items
        ));
    }
    s.push_str(FILTER_SCRIPT);
    s
}

/// A clip's heading, with each model's right answers out of its closed items.
fn clip_heading(clip: &str, items: &[&Value], models: &[&str], replies: &Replies<'_>) -> String {
    let tally: Vec<String> = models
        .iter()
        .map(|m| {
            let rows: Vec<&&Value> = items
                .iter()
                .filter_map(|i| replies.get(&(i["id"].as_str().unwrap_or(""), *m)))
                .collect();
            let closed: Vec<bool> = rows
                .iter()
                .filter_map(|r| r.get("correct").and_then(Value::as_bool))
                .collect();
            format!(
                "{} {}/{}",
                esc(m),
                closed.iter().filter(|x| **x).count(),
                closed.len()
            )
        })
        .collect();
    format!(
        "<div class=\"clip\" id=\"clip-{0}\"><h3><a href=\"#clip-{0}\">{0}</a> <span class=\"muted\">closed items right: {1}</span></h3>",
        esc(clip),
        tally.join(" · ")
    )
}

/// One item, folded: its question, options, answer and each model's outcome
/// (as chips, and as data for the filters); open: the reference, each
/// model's reply, and the provenance.
fn item_details(item: &Value, models: &[&str], replies: &Replies<'_>) -> String {
    let id = item["id"].as_str().unwrap_or("");
    let mut summary = format!(
        "<b>{}</b> {}",
        esc(item["task"].as_str().unwrap_or("")),
        esc(item["question"].as_str().unwrap_or(""))
    );
    if let Some(options) = item["options"].as_array().filter(|o| !o.is_empty()) {
        let opts: Vec<String> = options
            .iter()
            .zip(LETTERS)
            .map(|(o, l)| format!("{l}. {}", esc(o.as_str().unwrap_or(""))))
            .collect();
        summary.push_str(&format!(
            " <span class=\"muted\">[{}]</span>",
            opts.join("; ")
        ));
    }
    let answer = item["answer"]
        .as_str()
        .filter(|a| !a.is_empty())
        .unwrap_or("(open)");
    // Each model's outcome, visible without opening the item, and as data for the filters.
    let mut chips = String::new();
    let mut data = String::new();
    for (k, m) in models.iter().enumerate() {
        let outcome = replies.get(&(id, *m)).map_or("none", |row| {
            match row.get("correct").and_then(Value::as_bool) {
                Some(true) => "right",
                Some(false) => "wrong",
                None => "open",
            }
        });
        data.push_str(&format!(" data-m{k}=\"{outcome}\""));
        let mark = match outcome {
            "right" => "<span class=\"ok\">✓</span>",
            "wrong" => "<span class=\"bad\">✗</span>",
            _ => "<span class=\"muted\">·</span>",
        };
        chips.push_str(&format!(
            " <span class=\"chip\" title=\"{0}: {outcome}\">{0} {mark}</span>",
            esc(m)
        ));
    }
    let mut s = format!(
        "<details class=\"item\" id=\"{0}\" data-task=\"{1}\"{data}><summary><a href=\"#{0}\" class=\"muted\">#</a> {summary} — answer: <b>{2}</b>{chips}</summary>",
        esc(id),
        esc(item["task"].as_str().unwrap_or("")),
        esc(answer)
    );
    if let Some(r) = item["reference"].as_str() {
        s.push_str(&format!("<p><i>Reference:</i> {}</p>", esc(r)));
    }
    s.push_str("<table><tr><th>model</th><th>reply</th><th>parsed</th><th>result</th></tr>");
    for model in models {
        if let Some(row) = replies.get(&(id, *model)) {
            s.push_str(&reply_row(item, model, row));
        }
    }
    s.push_str("</table>");
    s.push_str(&format!(
        "<pre>{}</pre></details>",
        esc(&serde_json::to_string_pretty(&item["provenance"]).unwrap_or_default())
    ));
    s
}

/// One model's reply to `item`: the reply, what was read from it, and the result.
fn reply_row(item: &Value, model: &str, row: &Value) -> String {
    let result = match row.get("correct").and_then(Value::as_bool) {
        Some(true) => "<span class=\"ok\">right</span>".to_string(),
        Some(false) => "<span class=\"bad\">wrong</span>".to_string(),
        None => format!("L1 {} · L2 {} · L3 {}", row["L1"], row["L2"], row["L3"]),
    };
    let reply = row["reply"].as_str().unwrap_or("");
    let reply = if reply.trim().is_empty() {
        "<span class=\"muted\">(empty)</span>".to_string()
    } else {
        esc(reply)
    };
    // An open answer is its own reading: only closed answers and MARE's label line are parsed.
    let parsed = match (item["task"].as_str(), &row["parsed"]) {
        (Some("MADU"), _) => "<span class=\"muted\">(the reply)</span>".to_string(),
        (_, Value::Null) => "<span class=\"bad\">(unreadable)</span>".to_string(),
        (_, Value::String(p)) => esc(p),
        (_, other) => esc(&other.to_string()),
    };
    format!(
        "<tr><td>{}</td><td class=\"text\">{reply}</td><td class=\"text\">{parsed}</td><td>{result}</td></tr>",
        esc(model)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_become_a_utc_date() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_796_135_400), "2026-12-01 14:30 UTC");
    }
}
