//! The embedded judge (offline default): scores MADU and MARE answers 0..5
//! on the three levels of the rubrics by overlap with the reference, of
//! body parts, directions, order and labels. It is a proxy for an LLM
//! judge, labelled `rules` wherever its scores appear. An answer that
//! names no body part and no motion (empty, gibberish, off-topic) scores 0
//! on every level, whatever the reference: agreeing by both saying nothing
//! is no agreement.

use std::collections::BTreeSet;

use crate::common::taxonomy::ACTIONS;
use crate::language::answers::label_line;

const PART_WORDS: [&str; 8] = [
    "head", "torso", "shoulder", "arm", "hand", "leg", "knee", "foot",
];
const DIRECTION_WORDS: [&str; 10] = [
    "left", "right", "up", "down", "toward", "away", "forward", "backward", "closer", "midline",
];
const TIME_WORDS: [&str; 9] = [
    "initial", "middle", "late", "first", "then", "before", "after", "repeat", "single",
];
const TENDENCIES: [&str; 4] = ["repetitive", "continuous", "single", "still"];
/// Words for motion or its absence (folded as [`words`] folds them). An answer about the clip names a
/// body part or uses one of these; verbs such as "turn" alone are too common in stray text to count.
const MOTION_WORDS: &[&str] = &[
    "move",
    "moving",
    "motion",
    "movement",
    "still",
    "static",
    "stationary",
    "motionless",
];

/// Whether an answer speaks of the clip's motion at all.
fn about_motion(answer: &[String]) -> bool {
    !found(answer, &PART_WORDS).is_empty() || !found(answer, MOTION_WORDS).is_empty()
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            // Plurals and adverbs fold onto the vocabulary.
            let w = w.trim_end_matches("wards").trim_end_matches("ward");
            let w = w.strip_suffix("s").filter(|s| s.len() > 2).unwrap_or(w);
            match w {
                "feet" => "foot".to_string(),
                "repeated" | "repeatedly" | "repeating" | "repetition" => "repeat".to_string(),
                other => other.to_string(),
            }
        })
        .collect()
}

fn found<'a>(text: &[String], vocabulary: &[&'a str]) -> BTreeSet<&'a str> {
    vocabulary
        .iter()
        .copied()
        .filter(|v| text.iter().any(|w| w == v))
        .collect()
}

fn f1(reference: &BTreeSet<&str>, answer: &BTreeSet<&str>) -> f64 {
    if reference.is_empty() {
        return if answer.is_empty() { 1.0 } else { 0.5 };
    }
    let hit = reference.intersection(answer).count() as f64;
    if hit == 0.0 {
        0.0
    } else {
        2.0 * hit / (reference.len() as f64 + answer.len() as f64)
    }
}

fn score(x: f64) -> u8 {
    (x.clamp(0.0, 1.0) * 5.0).round() as u8
}

/// Whether the parts both texts name come in the same order of first mention.
fn same_order(reference: &[String], answer: &[String]) -> bool {
    let order = |t: &[String]| -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        for w in t {
            if let Some(p) = PART_WORDS.iter().find(|p| *p == w)
                && !seen.contains(p)
            {
                seen.push(p);
            }
        }
        seen
    };
    let (r, a) = (order(reference), order(answer));
    let common: Vec<&&str> = r.iter().filter(|p| a.contains(p)).collect();
    let in_answer: Vec<&&str> = a.iter().filter(|p| r.contains(p)).collect();
    common.len() >= 2 && common == in_answer
}

/// L1..L3 of a MADU answer.
pub fn madu(reference: &str, answer: &str) -> [u8; 3] {
    let (r, a) = (words(reference), words(answer));
    if !about_motion(&a) {
        return [0; 3];
    }
    let tendency = f1(&found(&r, &TENDENCIES), &found(&a, &TENDENCIES));
    let l1 = 0.7 * f1(&found(&r, &PART_WORDS), &found(&a, &PART_WORDS)) + 0.3 * tendency;
    let l2 = f1(&found(&r, &DIRECTION_WORDS), &found(&a, &DIRECTION_WORDS));
    let l3 = 0.5 * f64::from(u8::from(same_order(&r, &a)))
        + 0.5 * f1(&found(&r, &TIME_WORDS), &found(&a, &TIME_WORDS));
    [score(l1), score(l2), score(l3)]
}

/// L1..L3 of a MARE answer.
pub fn mare(reference: &str, answer: &str) -> [u8; 3] {
    let Some((ref_level, ref_action)) = label_line(reference) else {
        return [0; 3];
    };
    let (r, a) = (words(reference), words(answer));
    let parsed = label_line(answer);
    if parsed.is_none() && !about_motion(&a) {
        return [0; 3];
    }
    let parts = f1(&found(&r, &PART_WORDS), &found(&a, &PART_WORDS));
    let l1 = match &parsed {
        Some((level, _)) if level.eq_ignore_ascii_case(&ref_level) => 1.0,
        _ => 0.4 * parts,
    };
    let level_of = |action: &str| {
        ACTIONS
            .iter()
            .find(|x| x.name.eq_ignore_ascii_case(action))
            .map(|x| x.body_level().name)
    };
    let l2 = match &parsed {
        Some((_, action)) if action.eq_ignore_ascii_case(&ref_action) => 1.0,
        Some((_, action)) if level_of(action) == Some(ref_level.as_str()) => 0.4,
        _ => 0.0,
    };
    let l3 = match &parsed {
        None => 0.2 * parts,
        Some((level, action)) => {
            let consistent = level_of(action).is_some_and(|l| l.eq_ignore_ascii_case(level));
            let grounded = !found(&a, &PART_WORDS).is_empty();
            0.2 + 0.4 * f64::from(u8::from(consistent)) + 0.4 * f64::from(u8::from(grounded))
        }
    };
    [score(l1), score(l2), score(l3)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_scores_full_and_nothing_scores_zero() {
        let reference = "The motion is repetitive and led by the head, then the right hand moves left in the middle phase.";
        assert_eq!(madu(reference, reference), [5, 5, 5]);
        assert_eq!(madu(reference, ""), [0, 0, 0]);
        let partial = madu(reference, "The head moves.");
        assert!(
            partial[0] > 0 && partial[0] < 5 && partial[1] == 0,
            "{partial:?}"
        );
        let mref = "The head nods. [Body part (coarse-grained)] Head | [Micro-action (fine-grained)] nodding";
        assert_eq!(mare(mref, mref), [5, 5, 5]);
        let wrong = mare(
            mref,
            "The head moves.\n[Body part (coarse-grained)] Head | [Micro-action (fine-grained)] shaking head",
        );
        assert_eq!(wrong[0], 5);
        assert_eq!(wrong[1], 2);
        assert_eq!(mare(mref, "no idea"), [0, 0, 0]);
    }

    #[test]
    fn empty_and_gibberish_answers_score_zero_on_every_level() {
        // A reference without direction or time words: overlap of nothing with nothing is not agreement.
        let still = "No part moves noticeably in any phase.";
        let moving = "The motion is repetitive and led by the head, then the right hand moves left in the middle phase.";
        let mref = "The head nods. [Body part (coarse-grained)] Head | [Micro-action (fine-grained)] nodding";
        for answer in [
            "",
            "   ",
            "<start_of_turn>model\n<end_of_turn> lorem ipsum dolor sit amet 12 34",
            "Paris is the capital of France.",
        ] {
            assert_eq!(madu(still, answer), [0, 0, 0], "{answer:?}");
            assert_eq!(madu(moving, answer), [0, 0, 0], "{answer:?}");
            assert_eq!(mare(mref, answer), [0, 0, 0], "{answer:?}");
        }
        assert!(madu(still, "Nothing moves; the person stays still.")[0] > 0);
    }
}
