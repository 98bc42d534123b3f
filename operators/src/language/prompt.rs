//! Prompt templates: text files with `{{name}}` placeholders, edited by users.
//!
//! A template is read when the spec is compiled; an unknown placeholder or a
//! missing file is a spec error on the `prompt` param. The template's text
//! is hashed into the operator's canonical config, so editing a prompt file
//! reruns exactly the operators that use it and what depends on them.
//! Files may be split into sections by `## NAME` lines (one per task).

use std::path::{Path, PathBuf};

/// A loaded template.
#[derive(Clone, Debug)]
pub struct Template {
    text: String,
    origin: String,
}

impl Template {
    /// The file at `path`, or the built-in `default` text when no path is given.
    pub fn load(path: Option<&Path>, default: &str, allowed: &[&str]) -> Result<Self, String> {
        let (text, origin) = match path {
            Some(p) => (
                std::fs::read_to_string(p)
                    .map_err(|e| format!("cannot read prompt file {}: {e}", p.display()))?,
                p.display().to_string(),
            ),
            None => (default.to_string(), "built-in".to_string()),
        };
        let template = Self { text, origin };
        for name in template.placeholders() {
            if !allowed.contains(&name.as_str()) {
                return Err(format!(
                    "prompt {}: unknown placeholder `{{{{{name}}}}}`; available: {}",
                    template.origin,
                    allowed
                        .iter()
                        .map(|a| format!("{{{{{a}}}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        Ok(template)
    }

    /// The placeholder names used.
    pub fn placeholders(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut rest = self.text.as_str();
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else { break };
            names.push(after[..end].trim().to_string());
            rest = &after[end + 2..];
        }
        names
    }

    /// A digest of the text, for cache keys.
    pub fn digest(&self) -> String {
        blake3::hash(self.text.as_bytes()).to_hex()[..16].to_string()
    }

    /// The text with every placeholder replaced (an unlisted one becomes empty).
    pub fn render(&self, vars: &[(&str, &str)]) -> String {
        let mut out = String::with_capacity(self.text.len());
        let mut rest = self.text.as_str();
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                out.push_str(&rest[start..]);
                return out;
            };
            let name = after[..end].trim();
            out.push_str(vars.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v));
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// The text of section `## name` (up to the next `## ` line), trimmed.
    pub fn section(&self, name: &str) -> Option<String> {
        let mut lines = self
            .text
            .lines()
            .skip_while(|l| l.trim() != format!("## {name}"));
        lines.next()?;
        let body: Vec<&str> = lines.take_while(|l| !l.starts_with("## ")).collect();
        Some(body.join("\n").trim().to_string())
    }
}

/// Where a prompt path given in a spec is read from: as written, else
/// relative to the repository (so specs run from any folder find the shipped prompts).
pub fn resolve(path: &Path) -> PathBuf {
    if path.is_absolute() || path.exists() {
        return path.to_path_buf();
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    if repo.exists() {
        repo
    } else {
        path.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_checked_and_rendered() {
        let t = Template::load(
            None,
            "Part {{part}} at {{ fps }} fps.\n## A\nfirst\n## B\nsecond",
            &["part", "fps"],
        )
        .unwrap();
        assert_eq!(
            t.render(&[("part", "Head"), ("fps", "30")])
                .lines()
                .next()
                .unwrap(),
            "Part Head at 30 fps."
        );
        assert_eq!(t.section("A").unwrap(), "first");
        assert_eq!(t.section("B").unwrap(), "second");
        let err = Template::load(None, "{{nope}}", &["part"]).unwrap_err();
        assert!(
            err.contains("`{{nope}}`") && err.contains("{{part}}"),
            "{err}"
        );
    }
}
