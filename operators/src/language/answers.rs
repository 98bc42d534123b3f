//! Reading a model's reply as an answer: an option letter or option text, a
//! yes/no, or the MARE label line. Replies are free text; parsing is lenient
//! about wrapping ("Answer: (B)", "**Yes**.") and strict about ambiguity.

use super::qa::recognition::LETTERS;

/// The option letter a reply picks, if exactly one can be read.
pub fn option(reply: &str, options: &[String]) -> Option<String> {
    let letters = &LETTERS[..options.len().min(LETTERS.len())];
    let clean: String = reply
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = clean.split_whitespace().collect();
    // "B", "Answer: B", "(B) head": a lone capital letter that names an option.
    for w in &words {
        if let Some(l) = letters.iter().find(|l| *l == w) {
            return Some((*l).to_string());
        }
    }
    // The text of exactly one option, case-insensitively (longest first, so "head up" beats "head").
    let lower = reply.to_lowercase();
    let mut hits: Vec<(usize, &String)> = options
        .iter()
        .enumerate()
        .filter(|(_, o)| lower.contains(&o.to_lowercase()))
        .collect();
    hits.sort_by_key(|(_, o)| std::cmp::Reverse(o.len()));
    match hits.as_slice() {
        [] => None,
        [(i, _)] => Some(letters[*i].to_string()),
        [(i, best), rest @ ..] => rest
            .iter()
            .all(|(_, o)| best.to_lowercase().contains(&o.to_lowercase()))
            .then(|| letters[*i].to_string()),
    }
}

/// `yes` or `no`, from the first of them that appears as a word.
pub fn yes_no(reply: &str) -> Option<String> {
    let lower = reply.to_lowercase();
    lower
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| *w == "yes" || *w == "no")
        .map(str::to_string)
}

/// The (level, action) of a MARE label line, from the last such line.
pub fn label_line(reply: &str) -> Option<(String, String)> {
    reply.lines().rev().find_map(|line| {
        let (left, right) = line.split_once('|')?;
        let level = left
            .split_once(']')?
            .1
            .trim()
            .trim_matches(|c: char| c == '*' || c == '"')
            .to_string();
        let action = right
            .split_once(']')?
            .1
            .trim()
            .trim_matches(|c: char| c == '*' || c == '"' || c == '.')
            .to_string();
        (!level.is_empty() && !action.is_empty()).then_some((level, action))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_from_letters_or_text() {
        let opts: Vec<String> = ["nodding", "head up", "head", "shrugging", "waving"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(option("B", &opts).as_deref(), Some("B"));
        assert_eq!(
            option("Answer: (D) shrugging.", &opts).as_deref(),
            Some("D")
        );
        assert_eq!(option("I think it is head up", &opts).as_deref(), Some("B"));
        assert_eq!(option("nodding or waving", &opts), None);
        assert_eq!(option("no idea", &opts), None);
    }

    #[test]
    fn yes_no_and_label_lines() {
        assert_eq!(yes_no("**Yes**, it does.").as_deref(), Some("yes"));
        assert_eq!(yes_no("No.").as_deref(), Some("no"));
        assert_eq!(yes_no("nothing moves"), None);
        let reply = "The head goes up and down.\n[Body part (coarse-grained)] Head | [Micro-action (fine-grained)] nodding";
        assert_eq!(label_line(reply), Some(("Head".into(), "nodding".into())));
        assert_eq!(label_line("no line"), None);
    }
}
