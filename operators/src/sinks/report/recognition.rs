//! Recognition per action: each model's CMAR and FMAR accuracy on the clips
//! of each labelled action, and the options a model named as equally
//! fitting (the descriptor-oracle does so where the facts cannot tell two
//! actions apart), for `report.md` and `report.html`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::language::oracle::UNDECIDED;

/// One action's row: clips, and per model (in the given order) CMAR and FMAR accuracy in %.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionRow {
    /// The action's name.
    pub action: String,
    /// Items of the action, per task (CMAR, FMAR).
    pub n: [u32; 2],
    /// Per model: CMAR and FMAR accuracy, `None` without items.
    pub accuracy: Vec<[Option<f64>; 2]>,
}

/// Options named together as equally fitting, per model, with how often.
pub type Undecided = BTreeMap<String, BTreeMap<String, u32>>;

/// The per-action rows (by action name) and the undecided replies, from the CMAR/FMAR items
/// (with their `action`) and each model's judged records.
pub fn by_action(
    items: &BTreeMap<&str, &Value>,
    models: &[(&str, &[Value])],
) -> (Vec<ActionRow>, Undecided) {
    let mut counts: BTreeMap<String, Vec<[[u32; 2]; 2]>> = BTreeMap::new();
    let mut undecided = Undecided::new();
    for (m, (model, records)) in models.iter().enumerate() {
        for row in records
            .iter()
            .flat_map(|r| r["items"].as_array().into_iter().flatten())
        {
            let task = match row["task"].as_str() {
                Some("CMAR") => 0,
                Some("FMAR") => 1,
                _ => continue,
            };
            let Some(item) = row["id"].as_str().and_then(|id| items.get(id)) else {
                continue;
            };
            let Some(action) = item["action"]
                .as_str()
                .or_else(|| item["provenance"]["action"].as_str())
            else {
                continue;
            };
            let entry = counts
                .entry(action.to_string())
                .or_insert_with(|| vec![[[0; 2]; 2]; models.len()]);
            entry[m][task][1] += 1;
            if row["correct"] == Value::Bool(true) {
                entry[m][task][0] += 1;
            }
            if let Some((_, named)) = row["reply"].as_str().and_then(|r| r.split_once(UNDECIDED)) {
                // A set of options, whatever order the item listed them in.
                let mut names: Vec<&str> = named.split(", ").map(str::trim).collect();
                names.sort_unstable();
                *undecided
                    .entry((*model).to_string())
                    .or_default()
                    .entry(names.join(" / "))
                    .or_default() += 1;
            }
        }
    }
    let rows = counts
        .into_iter()
        .map(|(action, per_model)| {
            let n = [0, 1].map(|t| per_model.iter().map(|c| c[t][1]).max().unwrap_or(0));
            let accuracy = per_model
                .iter()
                .map(|c| {
                    [0, 1].map(|t| {
                        (c[t][1] > 0).then(|| 100.0 * f64::from(c[t][0]) / f64::from(c[t][1]))
                    })
                })
                .collect();
            ActionRow {
                action,
                n,
                accuracy,
            }
        })
        .collect();
    (rows, undecided)
}

/// A percentage with one decimal, or `-`.
fn pct(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.1}"))
}

/// The undecided replies, one line per model and set of options.
fn undecided_lines(undecided: &Undecided) -> Vec<String> {
    let mut out = Vec::new();
    for (model, sets) in undecided {
        let mut sets: Vec<(&String, &u32)> = sets.iter().collect();
        sets.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        let total: u32 = sets.iter().map(|(_, n)| **n).sum();
        let mut listed: Vec<String> = sets
            .iter()
            .take(8)
            .map(|(names, n)| format!("{names} ({n})"))
            .collect();
        if sets.len() > 8 {
            listed.push(format!(
                "{} other sets ({})",
                sets.len() - 8,
                total - sets.iter().take(8).map(|(_, n)| **n).sum::<u32>()
            ));
        }
        out.push(format!(
            "{model} named options as fitting equally well in {total} items (the facts cannot tell them apart) and took the first: {}",
            listed.join("; ")
        ));
    }
    out
}

/// The per-action section of `report.md`.
pub fn markdown(rows: &[ActionRow], models: &[&str], undecided: &Undecided) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "\n## Recognition per action\n\nCMAR and FMAR accuracy (%) on the clips of each labelled action.\n\n| action | items |",
    );
    for m in models {
        s.push_str(&format!(" {m} CMAR | {m} FMAR |"));
    }
    s.push_str(&format!("\n|---|---|{}\n", "---|---|".repeat(models.len())));
    for r in rows {
        s.push_str(&format!("| {} | {} |", r.action, r.n[0].max(r.n[1])));
        for a in &r.accuracy {
            s.push_str(&format!(" {} | {} |", pct(a[0]), pct(a[1])));
        }
        s.push('\n');
    }
    for line in undecided_lines(undecided) {
        s.push_str(&format!("\n- {line}"));
    }
    s.push('\n');
    s
}

/// The per-action section of `report.html`; `esc` escapes text.
pub fn html(
    rows: &[ActionRow],
    models: &[&str],
    undecided: &Undecided,
    esc: impl Fn(&str) -> String,
) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "<h3>Recognition per action</h3><p class=\"muted\">CMAR and FMAR accuracy (%) on the clips of each labelled action.</p><table><tr><th rowspan=\"2\">action</th><th rowspan=\"2\">items</th>",
    );
    for m in models {
        s.push_str(&format!(
            "<th class=\"group\" colspan=\"2\">{}</th>",
            esc(m)
        ));
    }
    s.push_str("</tr><tr>");
    for _ in models {
        s.push_str("<th>CMAR</th><th>FMAR</th>");
    }
    s.push_str("</tr>");
    for r in rows {
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td>",
            esc(&r.action),
            r.n[0].max(r.n[1])
        ));
        for a in &r.accuracy {
            s.push_str(&format!("<td>{}</td><td>{}</td>", pct(a[0]), pct(a[1])));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    for line in undecided_lines(undecided) {
        s.push_str(&format!("<p class=\"muted\">{}</p>", esc(&line)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accuracy_per_action_and_ties_are_counted() {
        let a = json!({"id": "c1-CMAR-1", "task": "CMAR", "action": "nodding"});
        let b = json!({"id": "c1-FMAR-1", "task": "FMAR", "action": "nodding"});
        let c = json!({"id": "c2-FMAR-1", "task": "FMAR", "provenance": {"action": "waving"}});
        let items: BTreeMap<&str, &Value> =
            [("c1-CMAR-1", &a), ("c1-FMAR-1", &b), ("c2-FMAR-1", &c)]
                .into_iter()
                .collect();
        let records = vec![json!({"items": [
            {"id": "c1-CMAR-1", "task": "CMAR", "correct": true},
            {"id": "c1-FMAR-1", "task": "FMAR", "correct": false, "reply": format!("B; {UNDECIDED}nodding, bowing head")},
            {"id": "c2-FMAR-1", "task": "FMAR", "correct": true},
            {"id": "c2-SAD-1", "task": "SAD", "correct": true},
        ]})];
        let (rows, undecided) = by_action(&items, &[("oracle", &records)]);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].action.as_str(), rows[0].n, rows[0].accuracy[0]),
            ("nodding", [1, 1], [Some(100.0), Some(0.0)])
        );
        assert_eq!(rows[1].accuracy[0], [None, Some(100.0)]);
        assert_eq!(undecided["oracle"]["bowing head / nodding"], 1);
    }
}
