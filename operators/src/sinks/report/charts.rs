//! The report's charts as inline SVG, so their text is real text: grouped
//! bars with axis titles, ticks, value labels and 95% error bars (a zero is
//! drawn as a zero, not as a gap), and a ranking of this run's models among
//! the published ones.

use super::score::ModelScores;

use super::results_table::{Table, format};

/// Colours of this run's models, in order.
pub const COLOURS: [&str; 6] = [
    "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A bar: its value and, when known, its 95% interval.
pub type Bar = (f64, Option<(f64, f64)>);

/// One model's bars: per group, the value and its interval.
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Per group.
    pub values: Vec<Option<Bar>>,
}

/// Grouped vertical bars over `groups`, on a `0..y_max` axis titled `y_title`.
pub fn grouped_bars(groups: &[&str], series: &[Series], y_max: f64, y_title: &str) -> String {
    let (plot_w, plot_h, left, top) = (720.0, 220.0, 64.0, 16.0);
    let bottom = top + plot_h;
    let legend_h = 18.0 * series.len() as f64;
    let width = left + plot_w + 16.0;
    let height = bottom + 40.0 + legend_h;
    let y = |v: f64| bottom - plot_h * (v / y_max).clamp(0.0, 1.0);
    let mut s = format!(
        "<svg role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\" font-family=\"system-ui,sans-serif\">"
    );
    for k in 0..=5 {
        let v = y_max * f64::from(k) / 5.0;
        let yy = y(v);
        s.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left + plot_w,
            left - 6.0,
            yy + 4.0,
            trim(v)
        ));
    }
    s.push_str(&format!(
        "<text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        top + plot_h / 2.0,
        esc(y_title)
    ));
    let group_w = plot_w / groups.len().max(1) as f64;
    let bar_w = ((group_w - 16.0) / series.len().max(1) as f64).min(36.0);
    for (g, name) in groups.iter().enumerate() {
        let x0 = left + group_w * g as f64 + (group_w - bar_w * series.len() as f64) / 2.0;
        for (m, sr) in series.iter().enumerate() {
            let Some(bar) = sr.values.get(g).copied().flatten() else {
                continue;
            };
            let x = x0 + bar_w * m as f64;
            let label = format!("{} {}", esc(&sr.name), esc(name));
            s.push_str(&bar_svg(
                bar,
                (x, bar_w),
                COLOURS[m % COLOURS.len()],
                &label,
                (bottom, &y),
            ));
        }
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            left + group_w * (g as f64 + 0.5),
            bottom + 16.0,
            esc(name)
        ));
    }
    s.push_str(&format!(
        "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{bottom}\" y2=\"{bottom}\" stroke=\"#222\"/>",
        left + plot_w
    ));
    for (m, sr) in series.iter().enumerate() {
        let yy = bottom + 32.0 + 18.0 * m as f64;
        s.push_str(&format!(
            "<rect x=\"{left}\" y=\"{yy:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            COLOURS[m % COLOURS.len()],
            left + 18.0,
            yy + 10.0,
            esc(&sr.name)
        ));
    }
    s.push_str("</svg>");
    s
}

/// One bar at `x`, `bar_w` wide, with its error bar and value label;
/// `(bottom, y)` place values on the axis.
fn bar_svg(
    (v, interval): Bar,
    (x, bar_w): (f64, f64),
    colour: &str,
    label: &str,
    (bottom, y): (f64, &dyn Fn(f64) -> f64),
) -> String {
    // One decimal above the bars, where three labels share a group's width; the table has two.
    let text = format!("{v:.1}");
    // At least a hairline, so a zero reads as a zero.
    let h = (bottom - y(v)).max(1.5);
    let mut s = format!(
        "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{colour}\"><title>{label}: {text}</title></rect>",
        bottom - h,
        bar_w - 3.0,
    );
    let cx = x + (bar_w - 3.0) / 2.0;
    let mut label_y = bottom - h - 4.0;
    if let Some((lo, hi)) = interval {
        s.push_str(&format!(
            "<path d=\"M{cx:.1} {:.1}V{:.1}M{:.1} {:.1}h6M{:.1} {:.1}h6\" stroke=\"#222\" fill=\"none\"/>",
            y(lo),
            y(hi),
            cx - 3.0,
            y(lo),
            cx - 3.0,
            y(hi)
        ));
        label_y = label_y.min(y(hi) - 4.0);
    }
    s.push_str(&format!("<text x=\"{cx:.1}\" y=\"{label_y:.1}\" text-anchor=\"middle\" font-size=\"9\">{text}</text>"));
    s
}

/// `v` without trailing zeros (axis ticks).
fn trim(v: f64) -> String {
    let t = format!("{v:.2}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The series of this run's models over the table columns `cols`.
pub fn series(scores: &[ModelScores], cols: &[&str]) -> Vec<Series> {
    scores
        .iter()
        .map(|s| Series {
            name: format!("{} (judge: {})", s.model, s.judge),
            values: cols
                .iter()
                .map(|c| s.metrics.get(*c).map(|m| (m.value, Some((m.low, m.high)))))
                .collect(),
        })
        .collect()
}

/// Horizontal bars of one table column over every row, highest first, this run's rows marked.
pub fn ranking(t: &Table, col: usize, title: &str, x_max: f64) -> String {
    let mut rows: Vec<(&str, f64, bool)> = t
        .ours
        .iter()
        .map(|r| (r.name.as_str(), r, true))
        .chain(t.published.iter().map(|r| (r.name.as_str(), r, false)))
        .filter_map(|(name, r, ours)| r.cells[col].as_ref().map(|c| (name, c.value, ours)))
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (left, bar_h, plot_w) = (300.0, 16.0, 380.0);
    let top = 8.0;
    let height = top + bar_h * rows.len() as f64 + 40.0;
    let width = left + plot_w + 60.0;
    let mut s = format!(
        "<svg role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\" font-family=\"system-ui,sans-serif\">"
    );
    for (i, (name, v, ours)) in rows.iter().enumerate() {
        let y = top + bar_h * i as f64;
        let w = (plot_w * (v / x_max).clamp(0.0, 1.0)).max(1.5);
        let (fill, weight, mark) = if *ours {
            ("#4c78a8", "bold", " ◆ this run")
        } else {
            ("#bbb", "normal", "")
        };
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-weight=\"{weight}\">{}{mark}</text><rect x=\"{left}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{fill}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            left - 6.0,
            y + 12.0,
            esc(name),
            y + 2.0,
            bar_h - 4.0,
            left + w + 4.0,
            y + 12.0,
            format(*v)
        ));
    }
    let axis_y = top + bar_h * rows.len() as f64 + 4.0;
    s.push_str(&format!(
        "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{axis_y:.1}\" y2=\"{axis_y:.1}\" stroke=\"#222\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></svg>",
        left + plot_w,
        left + plot_w / 2.0,
        axis_y + 24.0,
        esc(title)
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_is_drawn_and_labelled_and_intervals_get_error_bars() {
        let series = vec![Series {
            name: "m".into(),
            values: vec![
                Some((0.0, Some((0.0, 0.0)))),
                Some((50.0, Some((25.0, 75.0)))),
                None,
            ],
        }];
        let svg = grouped_bars(&["CMAR", "FMAR", "SAD"], &series, 100.0, "accuracy (%)");
        assert_eq!(
            svg.matches("<rect").count(),
            3,
            "two bars and a legend swatch: {svg}"
        );
        assert!(svg.contains("height=\"1.5\""), "the zero is a hairline");
        assert!(
            svg.contains(">0.0</text>") && svg.contains(">50.0</text>"),
            "value labels"
        );
        assert!(
            svg.contains("accuracy (%)") && svg.contains(">100</text>"),
            "axis title and ticks"
        );
        assert_eq!(svg.matches("<path").count(), 2, "error bars");
    }

    #[test]
    fn the_ranking_marks_this_runs_rows() {
        let t = super::super::results_table::table(&[]);
        let svg = ranking(&t, 6, "closed-task AVG (accuracy %)", 100.0);
        assert!(
            svg.find("Gemini-2.5-Flash").unwrap() < svg.find("Random").unwrap(),
            "highest first"
        );
        assert!(!svg.contains("this run"));
    }
}
