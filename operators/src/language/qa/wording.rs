//! How a yes/no claim is asked: several phrasings per claim kind, phase and
//! direction, chosen by the item's seeded generator, in the register of
//! MA-Bench's questions (rises, drops, extends, retracts, comes closer).
//! The wording never changes what is asked: each phrasing of a claim has
//! the same answer. A question about the whole clip names no phase.

use super::super::clip_motion::{capitalised, spoken};
use super::super::facts::WHOLE;
use super::super::rng::Rng;

/// How a phase is named in a question, several ways each.
fn phase_name(phase: &str, rng: &mut Rng) -> &'static str {
    let names: &[&'static str] = match phase {
        "initial" => &[
            "the initial phase",
            "the early phase",
            "the early segment",
            "the first third of the clip",
            "the opening phase",
        ],
        "middle" => &[
            "the middle phase",
            "the middle segment",
            "the middle third of the clip",
        ],
        _ => &[
            "the late phase",
            "the late segment",
            "the final third of the clip",
            "the final phase",
        ],
    };
    names[rng.below(names.len())]
}

/// A direction as a verb: (base form, third person, adjective). `up-left` reads "move up and to the left".
fn verb(direction: &str, rng: &mut Rng) -> (String, String, String) {
    let one = |d: &str, rng: &mut Rng| -> (String, String, String) {
        let forms: &[(&str, &str)] = match d {
            "up" => &[
                ("move upward", "moves upward"),
                ("rise", "rises"),
                ("lift", "lifts"),
            ],
            "down" => &[
                ("move downward", "moves downward"),
                ("drop", "drops"),
                ("lower", "lowers"),
            ],
            "left" => &[
                ("move to the left", "moves to the left"),
                ("move leftward", "moves leftward"),
                ("shift to the left", "shifts to the left"),
            ],
            _ => &[
                ("move to the right", "moves to the right"),
                ("move rightward", "moves rightward"),
                ("shift to the right", "shifts to the right"),
            ],
        };
        let (base, third) = rng.pick(forms);
        (base.to_string(), third.to_string(), format!("{d}ward"))
    };
    match direction.split_once('-') {
        None => one(direction, rng),
        Some((v, h)) => {
            let adjective = format!("{v}ward and {h}ward");
            (
                format!("move {v} and to the {h}"),
                format!("moves {v} and to the {h}"),
                adjective,
            )
        }
    }
}

/// The SAD question: `part` moves `direction` in `phase` (`whole`: over the clip, no phase named).
pub fn moves(part: &str, phase: &str, direction: &str, rng: &mut Rng) -> String {
    let part = spoken(part);
    let (base, _, adjective) = verb(direction, rng);
    if phase == WHOLE {
        return match rng.below(3) {
            0 => format!("Taken over the clip, does the {part} {base} noticeably?"),
            1 => format!(
                "Does the {part}'s motion in this clip include a clear {adjective} component?"
            ),
            _ => format!("Looking at the action as a whole, does the {part} {base}?"),
        };
    }
    let when = phase_name(phase, rng);
    match rng.below(3) {
        0 => format!("In {when}, does the {part} {base} noticeably?"),
        1 => format!("Does the {part} {base} during {when}?"),
        _ => format!("During {when}, is there a clear {adjective} motion of the {part}?"),
    }
}

/// The SAD question over the whole clip: `part`'s motion runs mainly along `axis`.
pub fn main_axis(part: &str, axis: &str, rng: &mut Rng) -> String {
    let part = spoken(part);
    let way = if axis == "vertical" {
        rng.pick(&["up and down", "vertically"])
    } else {
        rng.pick(&["from side to side", "horizontally"])
    };
    match rng.below(2) {
        0 => format!("Taken as a whole, does the {part}'s motion run mainly {way}?"),
        _ => format!("Does the {part} move mainly {way} in this clip?"),
    }
}

/// When a MAD or PPR question speaks of: a phase, or the whole clip.
fn during(phase: &str, rng: &mut Rng) -> String {
    if phase == WHOLE {
        "over the clip".into()
    } else {
        format!("during {}", phase_name(phase, rng))
    }
}

/// The MAD question: both `a` and `b` move in `phase`.
pub fn both_move(a: &str, b: &str, phase: &str, rng: &mut Rng) -> String {
    let (a, b, when) = (spoken(a), spoken(b), during(phase, rng));
    match rng.below(3) {
        0 => format!("Do both the {a} and the {b} move noticeably {when}?"),
        1 => format!("Are the {a} and the {b} both in motion {when}?"),
        _ => format!("Do the {a} and the {b} move at the same time {when}?"),
    }
}

/// The MAD question: `a` and `b` move the same way in `phase`.
pub fn same_direction(a: &str, b: &str, phase: &str, rng: &mut Rng) -> String {
    let (a, b, when) = (spoken(a), spoken(b), during(phase, rng));
    match rng.below(2) {
        0 => format!("Do the {a} and the {b} move in the same direction {when}?"),
        _ => format!("Does the {a} move the same way as the {b} {when}?"),
    }
}

/// The MAD question: `a` moves while `b` stays still in `phase`.
pub fn moves_while_still(a: &str, b: &str, phase: &str, rng: &mut Rng) -> String {
    let (a, b, when) = (spoken(a), spoken(b), during(phase, rng));
    match rng.below(2) {
        0 => format!("Does the {a} move noticeably while the {b} stays still {when}?"),
        _ => format!("Is the {b} at rest while the {a} moves {when}?"),
    }
}

/// The MAS question: `a` starts moving `dir_a` before `b` starts moving `dir_b` (`within` a phase when given).
pub fn before(
    a: &str,
    dir_a: &str,
    b: &str,
    dir_b: &str,
    within: Option<&str>,
    rng: &mut Rng,
) -> String {
    let (first, _, adjective_a) = verb(dir_a, rng);
    let (second_base, second, adjective_b) = verb(dir_b, rng);
    let subject_b = if a == b {
        "it".to_string()
    } else {
        format!("the {}", spoken(b))
    };
    let possessive_b = if a == b {
        "its".to_string()
    } else {
        format!("the {}'s", spoken(b))
    };
    let a = spoken(a);
    let question = match rng.below(3) {
        0 => format!("does the {a} {first} before {subject_b} {second}?"),
        1 => format!("did the {a} begin to {first} before {subject_b} began to {second_base}?"),
        _ => format!(
            "does the {a}'s {adjective_a} motion come before {possessive_b} {adjective_b} motion?"
        ),
    };
    match within {
        Some(phase) => format!("In {}, {question}", phase_name(phase, rng)),
        None => capitalised(&question),
    }
}

/// The PPR question: `a` approaches (or moves away from) `b` in `phase`; toward or away from the torso a hand or foot retracts or extends.
pub fn distance(a: &str, b: &str, phase: &str, approach: bool, rng: &mut Rng) -> String {
    let extremity = a.ends_with("Hand") || a.ends_with("Foot");
    let (a, b, when) = (spoken(a), spoken(b), phase_name(phase, rng));
    let verbs: &[&str] = match (approach, extremity && b == "torso") {
        (true, true) => &[
            "retract toward the torso",
            "noticeably approach the torso",
            "draw back toward the torso",
        ],
        (false, true) => &[
            "extend away from the torso",
            "noticeably move away from the torso",
            "reach out away from the torso",
        ],
        (true, false) => &[
            "noticeably approach the {b}",
            "come closer to the {b}",
            "move toward the {b}",
        ],
        (false, false) => &[
            "noticeably move away from the {b}",
            "move apart from the {b}",
            "draw away from the {b}",
        ],
    };
    let v = rng.pick(verbs).replace("{b}", &b);
    match rng.below(2) {
        0 => format!("In {when}, does the {a} {v}?"),
        _ => format!("Does the {a} {v} during {when}?"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::claims::Claim;
    use super::super::shape::names_phase;
    use super::*;

    #[test]
    fn a_question_names_a_phase_exactly_when_its_claim_does() {
        let s = |x: &str| x.to_string();
        let claims = [
            Claim::Moves {
                part: s("Head"),
                phase: s("initial"),
                direction: s("up"),
            },
            Claim::Moves {
                part: s("Right_Hand"),
                phase: s(WHOLE),
                direction: s("left"),
            },
            Claim::MainAxis {
                part: s("Head"),
                axis: s("vertical"),
            },
            Claim::BothMove {
                a: s("Head"),
                b: s("Left_Hand"),
                phase: s("late"),
            },
            Claim::SameDirection {
                a: s("Head"),
                b: s("Torso"),
                phase: s(WHOLE),
            },
            Claim::MovesWhileStill {
                a: s("Head"),
                b: s("Left_Foot"),
                phase: s("middle"),
            },
            Claim::Before {
                a: s("Head"),
                dir_a: s("up"),
                b: s("Right_Hand"),
                dir_b: s("down-left"),
                within: None,
            },
            Claim::Before {
                a: s("Head"),
                dir_a: s("up"),
                b: s("Head"),
                dir_b: s("down"),
                within: Some(s("middle")),
            },
            Claim::Approaches {
                a: s("Right_Hand"),
                b: s("Torso"),
                phase: s("initial"),
            },
            Claim::MovesAway {
                a: s("Left_Foot"),
                b: s("Right_Lower_Leg"),
                phase: s("late"),
            },
        ];
        let mut seen = std::collections::BTreeSet::new();
        for claim in &claims {
            for k in 0..40 {
                let q = claim.question(&mut Rng::new(k, &["clip"]));
                assert_eq!(names_phase(&q), claim.names_phase(), "{q}");
                assert!(
                    q.ends_with('?') && q.chars().next().unwrap().is_uppercase(),
                    "{q}"
                );
                seen.insert(q);
            }
        }
        assert!(seen.len() >= 3 * claims.len(), "{} phrasings", seen.len());
        let q = claims[8].question(&mut Rng::new(3, &["x"]));
        assert!(
            q.contains("torso")
                && (q.contains("retract") || q.contains("approach") || q.contains("draw back")),
            "{q}"
        );
    }
}
