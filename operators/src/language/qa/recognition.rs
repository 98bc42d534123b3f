//! CMAR, FMAR (closed, from the clip's label) and MADU, MARE (open, with
//! reference answers from the description and the label).

use serde_json::{Value, json};

use super::super::rng::Rng;
use crate::common::taxonomy::{ACTIONS, Action, BODY_LEVELS};

/// Option letters.
pub const LETTERS: [&str; 7] = ["A", "B", "C", "D", "E", "F", "G"];

/// Levels whose actions are confused with a level's own, nearest first.
fn confusable(level: char) -> &'static [char] {
    match level {
        'A' => &['E', 'C', 'B'],
        'B' => &['F', 'A', 'C'],
        'C' => &['E', 'G', 'F'],
        'D' => &['G', 'A', 'C'],
        'E' => &['A', 'C', 'F'],
        'F' => &['B', 'C', 'E'],
        _ => &['D', 'C', 'E'],
    }
}

/// The CMAR item parts: question, the 7 levels as options, the answer letter, provenance.
pub fn cmar(action: &Action) -> (String, Vec<String>, String, Value) {
    let options: Vec<String> = BODY_LEVELS.iter().map(|l| l.name.to_string()).collect();
    let at = BODY_LEVELS.iter().position(|l| l.code == action.level).expect("levels listed");
    (
        "Which coarse-grained body category does the micro-action in this clip belong to?".into(),
        options,
        LETTERS[at].into(),
        json!({"label": action.id, "action": action.name, "code": action.code, "body_level": action.body_level().name}),
    )
}

/// The FMAR item parts: 5 options (the action and 4 distractors, same level first, then confusable levels).
pub fn fmar(action: &Action, rng: &mut Rng) -> (String, Vec<String>, String, Value) {
    let mut distractors: Vec<&Action> = Vec::new();
    for level in std::iter::once(action.level).chain(confusable(action.level).iter().copied()) {
        let mut pool: Vec<&Action> = ACTIONS.iter().filter(|a| a.level == level && a.id != action.id).collect();
        rng.shuffle(&mut pool);
        distractors.extend(pool.into_iter().take(4 - distractors.len()));
        if distractors.len() == 4 {
            break;
        }
    }
    let mut options: Vec<&Action> = distractors.clone();
    options.push(action);
    rng.shuffle(&mut options);
    let at = options.iter().position(|a| a.id == action.id).expect("the action is an option");
    (
        "Which fine-grained micro-action label best matches the behaviour in this clip?".into(),
        options.iter().map(|a| a.name.to_string()).collect(),
        LETTERS[at].into(),
        json!({"label": action.id, "action": action.name, "code": action.code,
               "distractors": distractors.iter().map(|a| json!({"action": a.name, "body_level": a.body_level().name})).collect::<Vec<_>>()}),
    )
}

/// The label line a MARE answer ends with.
pub fn label_line(level: &str, action: &str) -> String {
    format!("[Body part (coarse-grained)] {level} | [Micro-action (fine-grained)] {action}")
}

/// The MADU question.
pub const MADU_QUESTION: &str = "Describe the changes in the person's movements in the video: which body parts move, \
    in which directions, in what order and with what rhythm.";

/// The MARE question.
pub const MARE_QUESTION: &str = "From the observed movements, reason step by step: what moves, how, and what that \
    indicates; then give the coarse- and fine-grained labels. End with one line: \
    [Body part (coarse-grained)] <body level> | [Micro-action (fine-grained)] <action>";

/// The MARE reference: observation (the description), reasoning from the definition, conclusion.
pub fn mare_reference(description: &str, action: &Action) -> String {
    format!(
        "Observation: {description} Reasoning: the {} definition reads \"{}\", and the observed motion fits it: \
         the parts that carry the motion belong to the {} level. Conclusion: {}",
        action.name,
        action.definition,
        action.body_level().name,
        label_line(action.body_level().name, action.name)
    )
}
