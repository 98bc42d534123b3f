//! The descriptor-oracle: the answers a researcher would give from the
//! clip's facts alone, an upper baseline that shows what the items ask is
//! in the motion.
//!
//! Yes/no items: the independent checker's answer on the raw frames. CMAR:
//! the body level of the dominant part, with a hand that comes near the
//! head, the torso or a thigh making it a hand level. FMAR: each option's
//! definition (MA-52's taxonomy) is read for the motion it implies (which
//! axis, repeated or single, up or down, a hand reaching a body part, and
//! which part: the head for the neck or the face, the torso for the chest)
//! and
//! held against the facts; the best match is the answer. When the facts
//! match two options equally (nodding and bowing the head once both move the
//! head vertically), the answer names them, so the report shows where the
//! facts cannot tell actions apart instead of a silent guess.

use super::clip_motion::ClipMotion;
use super::describe::describe_rules;
use super::facts::{ClipFacts, Verdict};
use super::qa::check;
use super::qa::claims::Claim;
use super::qa::item::Item;
use super::qa::recognition::{LETTERS, label_line};
use crate::common::taxonomy::{ACTIONS, Action};

/// What an FMAR reply says before the options that fit equally well.
pub const UNDECIDED: &str = "the facts cannot tell apart: ";

/// What a clip's motion looks like, as far as action definitions speak of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Motion {
    /// The body level the facts point to.
    pub level: &'static str,
    /// `Some(true)`: mainly vertical; `Some(false)`: mainly horizontal.
    pub vertical: Option<bool>,
    /// Reverses direction repeatedly.
    pub repeated: bool,
    /// `Some(true)`: ends up higher; `Some(false)`: lower.
    pub rises: Option<bool>,
    /// The parts a hand noticeably approaches, and those it comes near while doing so (empty: no hand reaches anything).
    pub reached: Vec<String>,
}

/// The motion the facts show.
pub fn motion(f: &ClipFacts) -> Motion {
    let lead = f.dominant.first().map(String::as_str);
    let hand_led = lead.is_some_and(|p| p.ends_with("Hand") || p.ends_with("Arm"));
    let near = |target: &str| f.hand_near.iter().any(|n| n.iter().any(|p| p == target));
    let level = match lead {
        None | Some("Torso") => "Body",
        Some(_) if hand_led && near("Head") => "Head-hand",
        Some(_) if hand_led && near("Upper_Leg") => "Leg-hand",
        Some(_) if hand_led && near("Torso") => "Body-hand",
        Some("Head") => "Head",
        Some(p) if p.ends_with("Leg") || p.ends_with("Foot") => "Lower limb",
        Some(_) => "Upper limb",
    };
    let (mut vertical, mut horizontal, mut rise, mut path) = (0.0, 0.0, 0.0, 0.0);
    for phase in &f.phases {
        if let Some(p) = lead.and_then(|l| phase.parts.iter().find(|p| p.part == l)) {
            vertical += p.directional[0] + p.directional[2];
            horizontal += p.directional[1] + p.directional[3];
            rise += p.net[1];
            path += p.path;
        }
    }
    let axis = if vertical > 1.5 * horizontal {
        Some(true)
    } else if horizontal > 1.5 * vertical {
        Some(false)
    } else {
        None
    };
    let rises = (rise.abs() >= 0.3 * path && path > 0.0).then_some(rise > 0.0);
    // Approaching, not resting near: a seated person's hands often lie on the thighs throughout.
    let approached: Vec<&crate::language::facts::Proximity> = f
        .proximity
        .iter()
        .filter(|x| x.a.ends_with("Hand") && x.approaches == Verdict::Yes)
        .collect();
    let mut reached: Vec<String> = approached.iter().map(|x| x.b.clone()).collect();
    if !approached.is_empty() {
        reached.extend(f.hand_near.iter().flatten().cloned());
    }
    reached.sort();
    reached.dedup();
    Motion {
        level,
        vertical: axis,
        repeated: f.tendency == "repetitive",
        rises,
        reached,
    }
}

/// The parts a definition's hand goes to, by the body words it names (`None`: it names none).
fn target(definition: &str) -> Option<&'static [&'static str]> {
    const HEAD: &[&str] = &["Head"];
    const TORSO: &[&str] = &["Torso"];
    const LEGS: &[&str] = &[
        "Upper_Leg",
        "Left_Upper_Leg",
        "Right_Upper_Leg",
        "Left_Lower_Leg",
        "Right_Lower_Leg",
        "Left_Foot",
        "Right_Foot",
    ];
    const HANDS: &[&str] = &[
        "Left_Hand",
        "Right_Hand",
        "Left_Lower_Arm",
        "Right_Lower_Arm",
        "Left_Upper_Arm",
        "Right_Upper_Arm",
    ];
    let d = definition.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| d.contains(w));
    if has(&[
        "neck", "face", "forehead", "eyes", "nose", "ear", "mouth", "hair", "head", "glasses",
        "cheek",
    ]) {
        Some(HEAD)
    } else if has(&["chest", "upper body", "shoulder", "hips"]) {
        Some(TORSO)
    } else if has(&["leg", "calf", "foot", "feet"]) {
        Some(LEGS)
    } else if has(&["other arm", "hands together", "hands closer", "both hands"]) {
        Some(HANDS)
    } else {
        None
    }
}

/// What an action's definition says of its motion: vertical, repeated, rises, reaches (`None`: not said).
pub fn implied(a: &Action) -> [Option<bool>; 4] {
    let d = a.definition.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| d.contains(w));
    let vertical = if has(&["up-and-down", "up and down", "lower", "raise"]) {
        Some(true)
    } else if has(&["left and right", "side to side", "sideways", "tilt", "turn"]) {
        Some(false)
    } else {
        None
    };
    let repeated = if has(&[
        "continuous",
        "shaking",
        "back and forth",
        "waving",
        "rubbing",
        "scratch",
        "patting",
    ]) {
        Some(true)
    } else if has(&["single motion"]) {
        Some(false)
    } else {
        None
    };
    let rises = if has(&["raise"]) {
        Some(true)
    } else if has(&["lower"]) {
        Some(false)
    } else {
        None
    };
    let reaches = has(&[
        "touch",
        "close to",
        "covering",
        "scratch",
        "placing one or both hands",
        "crossing one's arms",
    ])
    .then_some(true);
    [vertical, repeated, rises, reaches]
}

/// How well an action fits the motion: its level counts most, then each thing its definition says.
fn fit(a: &Action, m: &Motion) -> i32 {
    let seen = [
        m.vertical,
        Some(m.repeated),
        m.rises,
        Some(!m.reached.is_empty()),
    ];
    let implied = implied(a);
    let mut score = if a.body_level().name == m.level { 4 } else { 0 };
    for (want, got) in implied.iter().zip(seen) {
        if let (Some(w), Some(g)) = (want, got) {
            score += if *w == g { 1 } else { -1 };
        }
    }
    // Where the hand goes, when the definition says and a hand went somewhere.
    if implied[3] == Some(true)
        && !m.reached.is_empty()
        && let Some(parts) = target(a.definition)
    {
        score += if m.reached.iter().any(|r| parts.contains(&r.as_str())) {
            1
        } else {
            -1
        };
    }
    score
}

/// The FMAR answer: the best-fitting option's letter, and the options that fit as well.
pub fn pick_action(options: &[String], m: &Motion) -> (usize, Vec<usize>) {
    let scores: Vec<i32> = options
        .iter()
        .map(|o| {
            ACTIONS
                .iter()
                .find(|a| a.name == o)
                .map_or(i32::MIN, |a| fit(a, m))
        })
        .collect();
    let best = scores.iter().copied().max().unwrap_or(0);
    let tied: Vec<usize> = (0..options.len()).filter(|&i| scores[i] == best).collect();
    (tied[0], tied)
}

/// The oracle's reply to an item.
pub fn answer(item: &Item, m: &ClipMotion, f: &ClipFacts) -> String {
    let motion = motion(f);
    match item.task.as_str() {
        "CMAR" => item
            .options
            .iter()
            .position(|o| o == motion.level)
            .map_or("A", |i| LETTERS[i])
            .to_string(),
        "FMAR" => {
            let (pick, tied) = pick_action(&item.options, &motion);
            if tied.len() > 1 {
                let names: Vec<&str> = tied.iter().map(|&i| item.options[i].as_str()).collect();
                format!("{}; {UNDECIDED}{}", LETTERS[pick], names.join(", "))
            } else {
                LETTERS[pick].to_string()
            }
        }
        "MADU" => describe_rules(f),
        "MARE" => {
            let options: Vec<String> = ACTIONS.iter().map(|a| a.name.to_string()).collect();
            let (pick, _) = pick_action(&options, &motion);
            format!(
                "{}\n{}",
                describe_rules(f),
                label_line(motion.level, &options[pick])
            )
        }
        _ => {
            let claim: Option<Claim> = item
                .provenance
                .get("claim")
                .and_then(|c| serde_json::from_value(c.clone()).ok());
            let answer = claim.and_then(|c| check::check(m, &c, &f.thresholds));
            if answer.unwrap_or(true) { "yes" } else { "no" }.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(vertical: Option<bool>, repeated: bool, rises: Option<bool>) -> Motion {
        Motion {
            level: "Head",
            vertical,
            repeated,
            rises,
            reached: Vec::new(),
        }
    }

    #[test]
    fn definitions_tell_head_actions_apart() {
        let options: Vec<String> = [
            "bowing head",
            "head up",
            "turning head",
            "nodding",
            "shaking head",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let name = |m: &Motion| options[pick_action(&options, m).0].as_str();
        assert_eq!(name(&head(Some(true), true, None)), "nodding");
        assert_eq!(name(&head(Some(false), true, None)), "shaking head");
        assert_eq!(name(&head(Some(false), false, None)), "turning head");
        assert_eq!(name(&head(Some(true), false, Some(false))), "bowing head");
        assert_eq!(name(&head(Some(true), false, Some(true))), "head up");
        // A hand that reaches the neck is not a head action.
        let touch = Motion {
            level: "Body-hand",
            vertical: None,
            repeated: false,
            rises: None,
            reached: vec!["Head".into()],
        };
        let hands: Vec<String> = [
            "scratching or touching chest",
            "scratching or touching neck",
            "nodding",
            "waving",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            pick_action(&hands, &touch).0,
            1,
            "the hand went to the head, not the chest"
        );
    }

    #[test]
    fn equal_fits_are_named_not_guessed() {
        // A repeated head motion on no clear axis: nodding and shaking the head fit it alike.
        let options: Vec<String> = ["nodding", "shaking head", "bowing head"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (_, tied) = pick_action(&options, &head(None, true, None));
        assert_eq!(tied, [0, 1]);
    }
}
