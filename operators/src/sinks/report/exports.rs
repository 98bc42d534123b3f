//! The report's "Exports" section: what each sink that stated it decided
//! beyond writing (the training export's clips left out, and why), from the
//! sinks' notes.

use serde_json::Value;

/// What one sink stated: (sink, summary, [(why, clips)]).
type Statement<'a> = (&'a str, &'a str, Vec<(&'a str, Vec<&'a str>)>);

/// Each sink note with a summary.
fn stated(sinks: &[(String, Value)]) -> Vec<Statement<'_>> {
    sinks
        .iter()
        .filter_map(|(sink, note)| {
            let summary = note["summary"].as_str()?;
            let left_out = note["left_out"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|entry| {
                    let clips = entry["clips"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    (entry["why"].as_str().unwrap_or("unstated"), clips)
                })
                .collect();
            Some((sink.as_str(), summary, left_out))
        })
        .collect()
}

/// The most clips named per reason; the count says the rest.
const NAMED: usize = 20;

fn named(clips: &[&str]) -> String {
    let shown: Vec<&str> = clips.iter().take(NAMED).copied().collect();
    let rest = clips.len().saturating_sub(NAMED);
    if rest == 0 {
        shown.join(", ")
    } else {
        format!("{} and {rest} more", shown.join(", "))
    }
}

/// The section of `report.md` (empty when no sink stated anything).
pub fn markdown(sinks: &[(String, Value)]) -> String {
    let stated = stated(sinks);
    if stated.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n## Exports\n\n");
    for (sink, summary, left_out) in stated {
        out.push_str(&format!("- `{sink}`: {summary}\n"));
        for (why, clips) in left_out {
            out.push_str(&format!(
                "  - left out because {why} ({}): {}\n",
                clips.len(),
                named(&clips)
            ));
        }
    }
    out
}

/// The section of `report.html`; `esc` escapes text.
pub fn html(sinks: &[(String, Value)], esc: impl Fn(&str) -> String) -> String {
    let stated = stated(sinks);
    if stated.is_empty() {
        return String::new();
    }
    let mut h = String::from("<h2 id=\"exports\">Exports</h2><ul>");
    for (sink, summary, left_out) in stated {
        h.push_str(&format!("<li><code>{}</code>: {}", esc(sink), esc(summary)));
        if !left_out.is_empty() {
            h.push_str("<ul>");
            for (why, clips) in left_out {
                h.push_str(&format!(
                    "<li>left out because {} ({}): {}</li>",
                    esc(why),
                    clips.len(),
                    esc(&named(&clips))
                ));
            }
            h.push_str("</ul>");
        }
        h.push_str("</li>");
    }
    h.push_str("</ul>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_reason_with_its_clips_and_says_how_many_more() {
        let clips: Vec<String> = (0..25).map(|i| format!("c{i:02}")).collect();
        let notes = vec![(
            "train".to_string(),
            serde_json::json!({"summary": "Holds 1 of 26.", "left_out": [{"why": "it has benchmark items", "clips": clips}]}),
        )];
        let md = markdown(&notes);
        assert!(md.contains("- `train`: Holds 1 of 26.\n"), "{md}");
        assert!(
            md.contains("left out because it has benchmark items (25): c00, c01,")
                && md.contains("c19 and 5 more"),
            "{md}"
        );
        assert!(markdown(&[("jsonl".into(), serde_json::json!({}))]).is_empty());
    }
}
