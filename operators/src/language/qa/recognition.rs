//! CMAR and FMAR (closed, from the clip's label) and the questions of MADU
//! and MARE (open): options drawn and ordered per item by its seeded
//! generator, and several phrasings of each question, so that neither the
//! answer letter nor the wording gives the label away.

use serde_json::{Value, json};

use super::super::rng::Rng;
use crate::common::taxonomy::{ACTIONS, Action, BODY_LEVELS, neighbours};

/// Option letters.
pub const LETTERS: [&str; 7] = ["A", "B", "C", "D", "E", "F", "G"];

/// Ways of asking CMAR.
pub const CMAR_QUESTIONS: [&str; 5] = [
    "Which coarse-grained body category does the micro-action in this clip belong to?",
    "To which body-level category does the small movement in this video belong?",
    "Choose the coarse-grained category that fits the micro-action shown in the video.",
    "Which body level does the person's micro-action in this clip involve?",
    "What is the coarse body-level label of the micro-action in this video?",
];

/// Ways of asking FMAR.
pub const FMAR_QUESTIONS: [&str; 5] = [
    "Which fine-grained micro-action label best matches the behaviour in this clip?",
    "Which of these fine-grained actions does the person perform in the video?",
    "Choose the fine-grained micro-action category shown in this clip.",
    "What is the specific micro-action the person makes in this video?",
    "Pick the fine-grained action label that describes this clip.",
];

/// Ways of asking MADU.
pub const MADU_QUESTIONS: [&str; 5] = [
    "Describe the changes in the person's movements in the video: which body parts move, in which directions, in what order and with what rhythm.",
    "Describe how the person's body parts move in this clip.",
    "Explain in detail how each moving part of the person's body behaves over the video.",
    "What movements does the person make in the video? Describe the parts involved, their paths and their timing.",
    "Give a detailed account of the person's body movements in this clip.",
];

/// The first MADU phrasing, for exports that ask one fixed question.
pub const MADU_QUESTION: &str = MADU_QUESTIONS[0];

/// Ways of asking MARE; each ends with [`MARE_FORMAT`].
pub const MARE_QUESTIONS: [&str; 5] = [
    "From the observed movements, reason step by step: what moves, how, and what that indicates; then give the coarse- and fine-grained labels.",
    "Reason from the movements in the video to the micro-action it shows, step by step, and name its coarse and fine labels.",
    "Using the motion cues in this clip, build a chain of reasoning that leads to the body-level and fine-grained micro-action labels.",
    "Explain which movements you observe, what they point to, and which coarse- and fine-grained micro-action they make.",
    "Work out the person's micro-action from the evidence in the video, explaining each step, and give both labels.",
];

/// What every MARE question asks the answer to end with.
pub const MARE_FORMAT: &str = "End with one line: [Body part (coarse-grained)] <body level> | [Micro-action (fine-grained)] <action>";

/// The CMAR item parts: question, the 7 levels as options in a seeded order, the answer letter, provenance.
pub fn cmar(action: &Action, rng: &mut Rng) -> (String, Vec<String>, String, Value) {
    let mut options: Vec<&str> = BODY_LEVELS.iter().map(|l| l.name).collect();
    rng.shuffle(&mut options);
    let level = action.body_level().name;
    let at = options
        .iter()
        .position(|l| *l == level)
        .expect("levels listed");
    (
        rng.pick(&CMAR_QUESTIONS).to_string(),
        options.iter().map(|o| o.to_string()).collect(),
        LETTERS[at].into(),
        json!({"label": action.id, "action": action.name, "code": action.code, "body_level": level}),
    )
}

/// The FMAR item parts: 5 options, the action and 4 distractors. Each distractor is from the
/// action's own level with probability `same_level` (the confusable neighbours first, then the
/// level's other actions at random), else from another level at random; options in a seeded order.
pub fn fmar(
    action: &Action,
    same_level: f64,
    rng: &mut Rng,
) -> (String, Vec<String>, String, Value) {
    let mut own: Vec<&Action> = ACTIONS
        .iter()
        .filter(|a| a.level == action.level && a.id != action.id)
        .collect();
    rng.shuffle(&mut own);
    let near = neighbours(action);
    own.sort_by_key(|a| !near.iter().any(|n| n.id == a.id));
    let mut other: Vec<&Action> = ACTIONS.iter().filter(|a| a.level != action.level).collect();
    rng.shuffle(&mut other);
    let from_own = (0..4)
        .filter(|_| rng.chance(same_level))
        .count()
        .min(own.len());
    let mut distractors: Vec<&Action> = own[..from_own].to_vec();
    distractors.extend(other.into_iter().take(4 - from_own));
    let mut options: Vec<&Action> = distractors.clone();
    options.push(action);
    rng.shuffle(&mut options);
    let at = options
        .iter()
        .position(|a| a.id == action.id)
        .expect("the action is an option");
    (
        rng.pick(&FMAR_QUESTIONS).to_string(),
        options.iter().map(|a| a.name.to_string()).collect(),
        LETTERS[at].into(),
        json!({"label": action.id, "action": action.name, "code": action.code,
               "distractors": distractors.iter().map(|a| json!({"action": a.name, "body_level": a.body_level().name})).collect::<Vec<_>>()}),
    )
}

/// A MADU question, in one of its phrasings.
pub fn madu_question(rng: &mut Rng) -> String {
    rng.pick(&MADU_QUESTIONS).to_string()
}

/// A MARE question, in one of its phrasings, with the label line it must end with.
pub fn mare_question(rng: &mut Rng) -> String {
    format!("{} {MARE_FORMAT}", rng.pick(&MARE_QUESTIONS))
}

/// The label line a MARE answer ends with.
pub fn label_line(level: &str, action: &str) -> String {
    format!("[Body part (coarse-grained)] {level} | [Micro-action (fine-grained)] {action}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::taxonomy::action;

    #[test]
    fn options_are_shuffled_per_item_and_the_share_of_same_level_distractors_follows_the_param() {
        let nodding = action(9).unwrap();
        let (mut orders, mut letters) = (std::collections::BTreeSet::new(), [0usize; 7]);
        let (mut same, mut total) = (0, 0);
        for k in 0..400 {
            let mut rng = Rng::new(0, &[&format!("clip{k}"), "CMAR"]);
            let (_, options, answer, _) = cmar(nodding, &mut rng);
            assert_eq!(
                options[LETTERS.iter().position(|l| *l == answer).unwrap()],
                "Head"
            );
            orders.insert(options);
            letters[LETTERS.iter().position(|l| *l == answer).unwrap()] += 1;
            let (_, options, answer, _) = fmar(
                nodding,
                0.4,
                &mut Rng::new(0, &[&format!("clip{k}"), "FMAR"]),
            );
            assert_eq!(options.len(), 5);
            assert_eq!(
                options[LETTERS.iter().position(|l| *l == answer).unwrap()],
                "nodding"
            );
            let level = |n: &str| ACTIONS.iter().find(|a| a.name == n).unwrap().level;
            same += options
                .iter()
                .filter(|o| o.as_str() != "nodding" && level(o) == 'B')
                .count();
            total += 4;
        }
        assert!(orders.len() > 300, "{} orders", orders.len());
        assert!(letters.iter().all(|&n| n < 100), "{letters:?}");
        let share = same as f64 / total as f64;
        assert!((share - 0.4).abs() < 0.05, "{share}");
        // All from the level: the neighbours come first.
        let (_, options, _, provenance) = fmar(nodding, 1.0, &mut Rng::new(1, &["x"]));
        assert!(
            options.iter().any(|o| o == "bowing head") && options.iter().any(|o| o == "head up"),
            "{options:?}"
        );
        assert_eq!(provenance["distractors"].as_array().unwrap().len(), 4);
    }
}
