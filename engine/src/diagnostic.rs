//! Positioned error reports for specs, rendered with a source snippet.
//!
//! Every spec mistake becomes one [`Diagnostic`] pointing at a [`Span`] of a
//! [`SourceMap`] entry (the spec file, or one `--set` argument), so all
//! mistakes can be collected, sorted and shown together before anything runs.

use std::fmt::Write as _;

/// Index of a text in a [`SourceMap`].
pub type SourceId = u32;

/// A place in a spec text: 1-based line and column, length in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// Which text.
    pub source: SourceId,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// Length in characters (0 for a point).
    pub len: u32,
}

/// The texts a spec was assembled from: the file and each `--set` argument.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    texts: Vec<(String, String)>,
}

impl SourceMap {
    /// Registers a text under a display name and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> SourceId {
        self.texts.push((name.into(), text.into()));
        (self.texts.len() - 1) as SourceId
    }

    /// Display name of a text (a path, or `--set`).
    pub fn name(&self, id: SourceId) -> &str {
        &self.texts[id as usize].0
    }

    /// Full text.
    pub fn text(&self, id: SourceId) -> &str {
        &self.texts[id as usize].1
    }
}

/// One problem found in a spec.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// What is wrong, in one line.
    pub message: String,
    /// Where; `None` for problems that have no place (e.g. an empty spec).
    pub span: Option<Span>,
    /// A hint, such as the nearest valid name.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at a place.
    pub fn at(span: Span, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            span: Some(span),
            help: None,
        }
    }

    /// A diagnostic without a place.
    pub fn global(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            span: None,
            help: None,
        }
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a "did you mean" hint when a candidate is close to `word`.
    pub fn suggest<'a>(self, word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Self {
        match nearest(word, candidates) {
            Some(best) => self.with_help(format!("did you mean `{best}`?")),
            None => self,
        }
    }

    /// Renders as `error: …`, `--> file:line:col`, the source line and a caret line.
    pub fn render(&self, sources: &SourceMap) -> String {
        self.render_as("error", sources)
    }

    /// Renders as [`render`](Self::render) does, headed `warning:` instead.
    pub fn render_warning(&self, sources: &SourceMap) -> String {
        self.render_as("warning", sources)
    }

    fn render_as(&self, severity: &str, sources: &SourceMap) -> String {
        let mut out = format!("{severity}: {}\n", self.message);
        if let Some(span) = self.span {
            let name = sources.name(span.source);
            let gutter = span.line.to_string();
            let pad = " ".repeat(gutter.len());
            let _ = writeln!(out, "{pad}--> {name}:{}:{}", span.line, span.column);
            if let Some(line) = sources
                .text(span.source)
                .lines()
                .nth(span.line as usize - 1)
            {
                let width = line.chars().count() as u32;
                let start = span.column.saturating_sub(1).min(width);
                let len = span.len.max(1).min(width.saturating_sub(start).max(1));
                let _ = writeln!(out, "{pad} |");
                let _ = writeln!(out, "{gutter} | {line}");
                let _ = writeln!(
                    out,
                    "{pad} | {}{}",
                    " ".repeat(start as usize),
                    "^".repeat(len as usize)
                );
            }
        }
        if let Some(help) = &self.help {
            let pad = " ".repeat(self.span.map_or(1, |s| s.line.to_string().len()));
            let _ = writeln!(out, "{pad} = help: {help}");
        }
        out
    }
}

/// Sorts diagnostics by place (placeless ones first) and drops exact repeats.
pub fn sort_diagnostics(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| a.span.cmp(&b.span).then_with(|| a.message.cmp(&b.message)));
    diags.dedup();
}

/// The candidate nearest to `word` by edit distance, if near enough to be a plausible typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= limit && *d < c.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            nearest("frams", ["frames", "listing", "table"]),
            Some("frames")
        );
        assert_eq!(
            nearest("input", ["inputs", "params", "kind"]),
            Some("inputs")
        );
        assert_eq!(nearest("zzzzzz", ["frames", "listing"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn renders_snippet_with_caret_under_the_span() {
        let mut sources = SourceMap::default();
        let id = sources.add("spec.yaml", "name: x\n  kind: frams\n");
        let d = Diagnostic::at(
            Span {
                source: id,
                line: 2,
                column: 9,
                len: 5,
            },
            "unknown kind `frams`",
        )
        .suggest("frams", ["frames"]);
        let text = d.render(&sources);
        assert!(text.contains("--> spec.yaml:2:9"), "{text}");
        assert!(
            text.contains("2 |   kind: frams\n  |         ^^^^^\n"),
            "{text}"
        );
        assert!(text.contains("did you mean `frames`?"), "{text}");
    }
}
