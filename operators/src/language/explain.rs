//! The MARE reference: the reasoning from what was observed to the clip's
//! labels, in MA-Bench's shape. The observation (the clip's description),
//! then evidence of at least three kinds read from the facts (which part
//! carries the motion and what it reaches, the direction of its path, its
//! rhythm), then the near neighbour among the taxonomy's confusable actions
//! and why it is set aside, and the label line last. Every statement is a
//! fact of the clip or a definition of the taxonomy.

use super::clip_motion::{capitalised, spoken};
use super::describe::amplitude;
use super::facts::ClipFacts;
use super::oracle::{Motion, implied, motion};
use super::qa::recognition::label_line;
use crate::common::taxonomy::{Action, neighbours};

/// The path of the lead part over the clip, in words: `up and down`, `to the left`.
fn path_words(f: &ClipFacts, lead: &str) -> Option<String> {
    let ways = f.whole.parts.iter().find(|p| p.part == lead)?.ways();
    Some(match ways.as_slice() {
        [] => return None,
        ["up"] => "upward".into(),
        ["down"] => "downward".into(),
        [one] => format!("to the {one}"),
        ["right", "left"] => "left and right".into(),
        w => w.join(" and "),
    })
}

/// Why a neighbour does not fit: the first thing its definition implies (axis, repetition, rising,
/// a hand reaching the body) that the clip's motion shows otherwise.
fn set_aside(near: &Action, m: &Motion) -> String {
    let [vertical, repeated, rises, reaches] = implied(near);
    match (vertical, m.vertical, repeated, rises, m.rises, reaches) {
        (Some(true), Some(false), ..) => {
            "it would move the part up and down, while here the path is sideways".into()
        }
        (Some(false), Some(true), ..) => {
            "it would move the part sideways, while here the path is vertical".into()
        }
        (_, _, Some(true), ..) if !m.repeated => {
            "it would repeat, while here the motion does not go back and forth".into()
        }
        (_, _, Some(false), ..) if m.repeated => {
            "it is typically a single motion, while here the motion repeats".into()
        }
        (_, _, _, Some(true), Some(false), _) => {
            "it would end higher, while here the part ends lower".into()
        }
        (_, _, _, Some(false), Some(true), _) => {
            "it would end lower, while here the part ends higher".into()
        }
        (.., Some(true)) if m.reached.is_empty() => {
            "a hand would reach the body, while here no hand reaches another part".into()
        }
        _ => format!(
            "the motion fits the labelled action's definition more closely than {}'s",
            near.name
        ),
    }
}

/// The MARE reference of a clip labelled `action`.
pub fn mare_reference(description: &str, f: &ClipFacts, action: &Action) -> String {
    let level = action.body_level().name;
    let mut evidence: Vec<String> = Vec::new();
    match f.dominant.first() {
        None => evidence
            .push("no body part moves noticeably, so the label rests on the posture alone".into()),
        Some(lead) => {
            evidence.push(format!(
                "the {} carries the motion with a {} amplitude",
                spoken(lead),
                amplitude(f, lead)
            ));
            evidence.push(match path_words(f, lead) {
                Some(path) => format!("its path runs {path} over the clip"),
                None => "its direction changes within the clip rather than holding one way".into(),
            });
            evidence.push(match f.tendency.as_str() {
                "repetitive" => "its rhythm is repetitive".into(),
                "single" => "it is a single movement".into(),
                _ => "it runs continuously".into(),
            });
            // Contact: where the lead hand goes, when a hand leads.
            let hand = ["Left_Hand", "Right_Hand"].iter().position(|h| h == lead);
            if let Some(near) = hand.and_then(|k| f.hand_near[k].first()) {
                evidence.push(format!(
                    "it comes close to the {}",
                    spoken(near).replace("upper leg", "thigh")
                ));
            }
        }
    }
    let mut text = format!("{description} Reasoning: {}.", evidence.join("; "));
    text.push_str(&format!(
        " These cues fit the {level} level and {}, which the taxonomy defines as \"{}\".",
        action.name,
        action.definition.trim_end_matches('.').to_lowercase()
    ));
    if let Some(near) = neighbours(action).first() {
        text.push_str(&format!(
            " The near neighbour {} is set aside: {}.",
            near.name,
            set_aside(near, &motion(f))
        ));
    }
    text.push(' ');
    // The action capitalised, as the authors' label lines write it ("Bowing head").
    text.push_str(&label_line(level, &capitalised(action.name)));
    text
}
