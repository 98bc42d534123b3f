//! The report's "Selection" section: which clips a source drew for the
//! benchmark and why, from the source's notes (see
//! [`crate::sources::selection::Drawn`]): the participant split, each
//! stratum's quota against what it got, the quotas that could not be met,
//! and how the clips spread over actions and participants.

use serde_json::Value;

/// One source's drawn selection, read from its notes.
struct Shown<'a> {
    source: &'a str,
    drawn: &'a Value,
}

fn selections(sources: &[(String, Value)]) -> Vec<Shown<'_>> {
    sources
        .iter()
        .filter_map(|(source, notes)| notes.get("selection").map(|drawn| Shown { source, drawn }))
        .collect()
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// The sentence that states the draw.
fn summary(s: &Shown<'_>) -> String {
    let d = s.drawn;
    let select = &d["select"];
    let held = d["held_out"].as_array().map_or(0, Vec::len);
    let by = select["by"].as_str().unwrap_or("level");
    let shares = match &select["shares"] {
        Value::String(name) => format!("shares `{name}`"),
        Value::Object(_) => "declared shares".to_string(),
        _ => "shares as the side has them".to_string(),
    };
    let mut text = format!(
        "Source `{}`: {} clips drawn from the {} clips of the {held} held-out participants (seed {}, by {}, {shares})",
        s.source,
        count(&d["chosen"]),
        count(&d["available"]),
        count(&select["seed"]),
        if by == "action" {
            "action"
        } else {
            "body level"
        },
    );
    if let Some([clips, people]) = d["train"]
        .as_array()
        .map(|t| [count(&t[0]), count(&t[1])])
        .as_ref()
    {
        text.push_str(&format!(
            "; training: {clips} clips of {people} other participants, none of them held out"
        ));
    }
    text.push('.');
    text
}

/// Rows of stratum, quota, chosen, share of the chosen (%).
fn rows(d: &Value) -> Vec<(String, u64, u64, f64)> {
    let by_level = d["select"]["by"].as_str() != Some("action");
    let chosen = if by_level {
        &d["per_level"]
    } else {
        &d["per_action"]
    };
    let total = count(&d["chosen"]).max(1) as f64;
    let mut names: Vec<String> = d["quotas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    for k in chosen.as_object().into_iter().flatten().map(|(k, _)| k) {
        if !names.contains(k) {
            names.push(k.clone());
        }
    }
    if by_level {
        let order = |n: &String| {
            crate::common::taxonomy::BODY_LEVELS
                .iter()
                .position(|l| l.name == n)
                .unwrap_or(usize::MAX)
        };
        names.sort_by_key(order);
    }
    names
        .into_iter()
        .map(|n| {
            let got = count(&chosen[&n]);
            let quota = count(&d["quotas"][&n]);
            (n, quota, got, 100.0 * got as f64 / total)
        })
        .collect()
}

/// Lines on what was short, and how actions and participants are spread.
fn spread(d: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    for s in d["short"].as_array().into_iter().flatten() {
        lines.push(format!(
            "`{}` was to get {} clips; the side has only {}.",
            s[0].as_str().unwrap_or("?"),
            count(&s[1]),
            count(&s[2])
        ));
    }
    let range = |v: &Value| {
        let n: Vec<u64> = v
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, c)| count(c))
            .collect();
        (
            n.len(),
            n.iter().min().copied().unwrap_or(0),
            n.iter().max().copied().unwrap_or(0),
        )
    };
    let (actions, lo, hi) = range(&d["per_action"]);
    lines.push(format!("{actions} actions, {lo} to {hi} clips each."));
    let (people, lo, hi) = range(&d["per_participant"]);
    lines.push(format!("{people} participants, {lo} to {hi} clips each."));
    lines
}

/// The section of `report.md` (and of `maflow plan`) from the sources' notes; empty when no source drew a selection.
pub fn markdown(sources: &[(String, Value)]) -> String {
    let mut out = String::new();
    for s in selections(sources) {
        out.push_str(&format!(
            "\n## Selection\n\n{}\n\n| stratum | quota | chosen | share |\n|---|---|---|---|\n",
            summary(&s)
        ));
        for (name, quota, got, share) in rows(s.drawn) {
            out.push_str(&format!("| {name} | {quota} | {got} | {share:.1}% |\n"));
        }
        out.push('\n');
        for line in spread(s.drawn) {
            out.push_str(&format!("- {line}\n"));
        }
    }
    out
}

/// The section of `report.html`; `esc` escapes text.
pub fn html(sources: &[(String, Value)], esc: impl Fn(&str) -> String) -> String {
    let mut h = String::new();
    for s in selections(sources) {
        h.push_str(&format!(
            "<h2 id=\"selection\">Selection</h2><p>{}</p>",
            esc(&summary(&s))
        ));
        h.push_str("<table class=\"selection\"><tr><th>stratum</th><th>quota</th><th>chosen</th><th>share</th></tr>");
        for (name, quota, got, share) in rows(s.drawn) {
            let flag = if got < quota { " class=\"short\"" } else { "" };
            h.push_str(&format!(
                "<tr{flag}><td>{}</td><td>{quota}</td><td>{got}</td><td>{share:.1}%</td></tr>",
                esc(&name)
            ));
        }
        h.push_str("</table>");
        for line in spread(s.drawn) {
            h.push_str(&format!("<p class=\"muted\">{}</p>", esc(&line)));
        }
        let per = |title: &str, v: &Value| {
            let cells: String = v
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, c)| format!("<tr><td>{}</td><td>{}</td></tr>", esc(k), count(c)))
                .collect();
            format!(
                "<details><summary>{title}</summary><table><tr><th>{title}</th><th>clips</th></tr>{cells}</table></details>"
            )
        };
        h.push_str(&per("action", &s.drawn["per_action"]));
        h.push_str(&per("participant", &s.drawn["per_participant"]));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(notes: Value) -> Vec<(String, Value)> {
        vec![("clips".into(), notes)]
    }

    #[test]
    fn the_section_states_the_split_the_quotas_and_what_fell_short() {
        let drawn = json!({"selection": {
            "select": {"seed": 7, "by": "level", "shares": "paper"},
            "held_out": ["0001", "0002"], "available": 40, "chosen": 10, "train": [90, 5],
            "quotas": {"Head": 6, "Body": 4}, "per_level": {"Head": 6, "Body": 3},
            "per_action": {"nodding": 4, "shaking head": 2, "shaking body": 3}, "per_participant": {"0001": 5, "0002": 4},
            "short": [["Body", 4, 3]],
        }});
        let md = markdown(&run(drawn.clone()));
        assert!(md.contains("Source `clips`: 10 clips drawn from the 40 clips of the 2 held-out participants (seed 7, by body level, shares `paper`); training: 90 clips of 5 other participants"), "{md}");
        let body = md.find("| Body | 4 | 3 | 30.0% |").unwrap();
        let head = md.find("| Head | 6 | 6 | 60.0% |").unwrap();
        assert!(body < head, "levels in taxonomy order: {md}");
        assert!(
            md.contains("`Body` was to get 4 clips; the side has only 3.")
                && md.contains("3 actions, 2 to 4 clips each."),
            "{md}"
        );
        let html = html(&run(drawn), |s| s.replace('<', "&lt;"));
        assert!(
            html.contains("<tr class=\"short\"><td>Body</td><td>4</td><td>3</td>")
                && html.contains("<summary>participant</summary>"),
            "{html}"
        );
        assert_eq!(
            markdown(&run(json!({"other": 1}))),
            "",
            "a source without a selection shows none"
        );
        assert_eq!(markdown(&[]), "");
    }
}
