//! The MA-52 taxonomy: 7 body levels and 52 actions.
//!
//! Action ids (the numbers in MA-52's list files and `label_name.txt`) are
//! not in the order of the codes A1..G4 of the taxonomy table: id 1 is
//! "sitting straightly", code A3. This is the one table that maps them.

use serde::Serialize;

/// A body level (the coarse class of CMAR).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct BodyLevel {
    /// Letter code, `A`..`G`.
    pub code: char,
    /// Name.
    pub name: &'static str,
}

/// The 7 body levels in code order.
pub const BODY_LEVELS: [BodyLevel; 7] = [
    BodyLevel {
        code: 'A',
        name: "Body",
    },
    BodyLevel {
        code: 'B',
        name: "Head",
    },
    BodyLevel {
        code: 'C',
        name: "Upper limb",
    },
    BodyLevel {
        code: 'D',
        name: "Lower limb",
    },
    BodyLevel {
        code: 'E',
        name: "Body-hand",
    },
    BodyLevel {
        code: 'F',
        name: "Head-hand",
    },
    BodyLevel {
        code: 'G',
        name: "Leg-hand",
    },
];

/// One fine-grained action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Action {
    /// MA-52 action id (list files, `label_name.txt`), 0..=51.
    pub id: u32,
    /// Taxonomy code, e.g. `A3`.
    pub code: &'static str,
    /// Name as in `label_name.txt`.
    pub name: &'static str,
    /// Body level letter.
    pub level: char,
    /// Definition from the MA-52 taxonomy.
    pub definition: &'static str,
}

impl Action {
    /// The action's body level.
    pub fn body_level(&self) -> BodyLevel {
        *BODY_LEVELS
            .iter()
            .find(|l| l.code == self.level)
            .expect("every action has a listed level")
    }
}

/// Looks an action up by its MA-52 id.
pub fn action(id: u32) -> Option<&'static Action> {
    ACTIONS.get(id as usize).filter(|a| a.id == id)
}

/// Looks an action up by its taxonomy code (`A1`..`G4`).
pub fn action_by_code(code: &str) -> Option<&'static Action> {
    ACTIONS.iter().find(|a| a.code == code)
}

/// Actions that are told apart by a detail of the same motion, by name: a head moving up and down
/// once or repeatedly, turning or tilting, a hand stretching out or drawing back, touching one body
/// region or the next one. Each action is in one group at most.
const CONFUSABLE: [&[&str]; 16] = [
    &["nodding", "bowing head", "head up"],
    &["turning head", "tilting head", "shaking head"],
    &["shaking body", "turning around"],
    &["sitting straightly", "rising up", "shrugging"],
    &["stretching arms", "retracting arms"],
    &["stretching feet", "retracting feet", "tiptoe"],
    &[
        "putting hands together",
        "rubbing hands",
        "hands touching fingers",
    ],
    &[
        "playing objects",
        "clenching fist",
        "other finger movements",
    ],
    &[
        "pointing oneself",
        "waving",
        "spreading hands",
        "illustrative gestures",
        "scratching arms",
    ],
    &[
        "scratching or touching neck",
        "scratching or touching shoulder",
        "scratching or touching chest",
        "scratching or touching back",
    ],
    &["arms akimbo", "crossing arms"],
    &[
        "scratching or touching face",
        "covering face",
        "rubbing eyes",
        "touching nose",
        "covering mouth",
        "pushing glasses",
    ],
    &[
        "playing or tidying hair",
        "scratching or touching hindbrain",
        "touching ears",
        "scratching or touching forehead",
    ],
    &[
        "patting legs",
        "touching legs",
        "scratching legs",
        "scratching feet",
    ],
    &["shaking legs", "spread legs", "closing legs"],
    &["curling legs", "crossing legs"],
];

/// The actions most easily confused with `action`, nearest first (its group in [`CONFUSABLE`],
/// starting after it and wrapping round).
pub fn neighbours(action: &Action) -> Vec<&'static Action> {
    let Some(group) = CONFUSABLE.iter().find(|g| g.contains(&action.name)) else {
        return Vec::new();
    };
    let at = group
        .iter()
        .position(|n| *n == action.name)
        .expect("found in its group");
    (1..group.len())
        .filter_map(|k| {
            ACTIONS
                .iter()
                .find(|a| a.name == group[(at + k) % group.len()])
        })
        .collect()
}

/// Looks an action up by its name, in any letter case (`Bowing head`, `bowing head`).
pub fn action_by_name(name: &str) -> Option<&'static Action> {
    ACTIONS
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name.trim()))
}

/// All 52 actions, indexed by id.
pub const ACTIONS: [Action; 52] = [
    Action {
        id: 0,
        code: "A1",
        name: "shaking body",
        level: 'A',
        definition: "The movement of the upper body from side to side",
    },
    Action {
        id: 1,
        code: "A3",
        name: "sitting straightly",
        level: 'A',
        definition: "The dynamic process of straightening the back, without involving the maintenance of an upright sitting",
    },
    Action {
        id: 2,
        code: "A4",
        name: "shrugging",
        level: 'A',
        definition: "Shrugging or moving the shoulders back and forth, indicating movements involving only the shoulders",
    },
    Action {
        id: 3,
        code: "A2",
        name: "turning around",
        level: 'A',
        definition: "The movement that causes changes in the facing angle",
    },
    Action {
        id: 4,
        code: "A5",
        name: "rising up",
        level: 'A',
        definition: "The preparatory movements before standing up from a seated position",
    },
    Action {
        id: 5,
        code: "B5",
        name: "bowing head",
        level: 'B',
        definition: "Lower the head slowly or abruptly, typically as a single motion",
    },
    Action {
        id: 6,
        code: "B6",
        name: "head up",
        level: 'B',
        definition: "Raise the head slowly or abruptly, typically as a single motion",
    },
    Action {
        id: 7,
        code: "B4",
        name: "tilting head",
        level: 'B',
        definition: "Tilt the head toward the shoulder, distinguishing between tilting and turning",
    },
    Action {
        id: 8,
        code: "B3",
        name: "turning head",
        level: 'B',
        definition: "Turn the head backward or sideways, typically as a single motion",
    },
    Action {
        id: 9,
        code: "B1",
        name: "nodding",
        level: 'B',
        definition: "The movement of continuous up-and-down head",
    },
    Action {
        id: 10,
        code: "B2",
        name: "shaking head",
        level: 'B',
        definition: "The movement of continuous turn of the head left and right",
    },
    Action {
        id: 11,
        code: "C6",
        name: "scratching arms",
        level: 'C',
        definition: "The movement of scratching the other arm with one hand",
    },
    Action {
        id: 12,
        code: "C8",
        name: "playing objects",
        level: 'C',
        definition: "The movement of playing with or adjusting objects in hand.",
    },
    Action {
        id: 13,
        code: "C9",
        name: "putting hands together",
        level: 'C',
        definition: "The movement of bringing both hands closer together until palms together",
    },
    Action {
        id: 14,
        code: "C13",
        name: "rubbing hands",
        level: 'C',
        definition: "The movement of touching and rubbing the hands together",
    },
    Action {
        id: 15,
        code: "C11",
        name: "pointing oneself",
        level: 'C',
        definition: "The movement of the hand that indicates direction and self-reference",
    },
    Action {
        id: 16,
        code: "C12",
        name: "clenching fist",
        level: 'C',
        definition: "The movement of bending the fingers into a fist, including partial clenching of the fingers",
    },
    Action {
        id: 17,
        code: "C4",
        name: "stretching arms",
        level: 'C',
        definition: "The movement of raising or extending the arm forward or sideways",
    },
    Action {
        id: 18,
        code: "C10",
        name: "retracting arms",
        level: 'C',
        definition: "The movement of extending and retracting the arm",
    },
    Action {
        id: 19,
        code: "C5",
        name: "waving",
        level: 'C',
        definition: "The movement of waving one's hand or arm, often accompanied by shaking one's head",
    },
    Action {
        id: 20,
        code: "C7",
        name: "spreading hands",
        level: 'C',
        definition: "The movement of holding one's hand open with the palm facing up",
    },
    Action {
        id: 21,
        code: "C3",
        name: "hands touching fingers",
        level: 'C',
        definition: "The movement of changing from having the fingers of both hands uncrossed to interlaced",
    },
    Action {
        id: 22,
        code: "C2",
        name: "other finger movements",
        level: 'C',
        definition: "Excluding finger movements as defined within the upper limb",
    },
    Action {
        id: 23,
        code: "C1",
        name: "illustrative gestures",
        level: 'C',
        definition: "The illustrative gestures made with either the left arm or the right arm",
    },
    Action {
        id: 24,
        code: "D3",
        name: "shaking legs",
        level: 'D',
        definition: "The movement of shaking the leg up and down, either continuously or briefly",
    },
    Action {
        id: 25,
        code: "D7",
        name: "curling legs",
        level: 'D',
        definition: "The movement of sitting with one leg crossed over the other",
    },
    Action {
        id: 26,
        code: "D6",
        name: "spread legs",
        level: 'D',
        definition: "The movement of increasing the distance between the knees",
    },
    Action {
        id: 27,
        code: "D5",
        name: "closing legs",
        level: 'D',
        definition: "The movement of moving the legs from apart to together",
    },
    Action {
        id: 28,
        code: "D8",
        name: "crossing legs",
        level: 'D',
        definition: "The movement of legs gradually turning from crossing to crossing",
    },
    Action {
        id: 29,
        code: "D4",
        name: "stretching feet",
        level: 'D',
        definition: "The movement of extending the foot forward or sideways, often accompanied by leaning forward or turning",
    },
    Action {
        id: 30,
        code: "D2",
        name: "retracting feet",
        level: 'D',
        definition: "Retract the foot towards the body. If both feet retract into a tiptoe position, it is considered tiptoe",
    },
    Action {
        id: 31,
        code: "D1",
        name: "tiptoe",
        level: 'D',
        definition: "Place the foot sideways or rest the heel on a stool with the toe touching the ground",
    },
    Action {
        id: 32,
        code: "E2",
        name: "scratching or touching neck",
        level: 'E',
        definition: "The movement of bringing the hand close to and touching the neck area",
    },
    Action {
        id: 33,
        code: "E1",
        name: "scratching or touching chest",
        level: 'E',
        definition: "The movement of bringing the hand close to and touching the front of the upper body",
    },
    Action {
        id: 34,
        code: "E3",
        name: "scratching or touching back",
        level: 'E',
        definition: "The movement of bringing the hand close to and touching the back of the upper body",
    },
    Action {
        id: 35,
        code: "E6",
        name: "scratching or touching shoulder",
        level: 'E',
        definition: "The movement of bringing the hand close to or touching the shoulder area",
    },
    Action {
        id: 36,
        code: "E4",
        name: "arms akimbo",
        level: 'E',
        definition: "The movement of placing one or both hands on the hips",
    },
    Action {
        id: 37,
        code: "E5",
        name: "crossing arms",
        level: 'E',
        definition: "The movement of crossing one's arms over one's chest",
    },
    Action {
        id: 38,
        code: "F3",
        name: "playing or tidying hair",
        level: 'F',
        definition: "Hand movements that adjust hair on the sides or top of the head, including women arranging their hanging hair",
    },
    Action {
        id: 39,
        code: "F4",
        name: "scratching or touching hindbrain",
        level: 'F',
        definition: "Touch the back of the head or the hair on the back of the head",
    },
    Action {
        id: 40,
        code: "F7",
        name: "scratching or touching forehead",
        level: 'F',
        definition: "The movement of scratching or touching the forehead",
    },
    Action {
        id: 41,
        code: "F2",
        name: "scratching or touching face",
        level: 'F',
        definition: "The movement of touching the cheek area, excluding the nose, forehead, and chin",
    },
    Action {
        id: 42,
        code: "F6",
        name: "rubbing eyes",
        level: 'F',
        definition: "The movement of bringing the hand close to and touching the area around the eyes",
    },
    Action {
        id: 43,
        code: "F1",
        name: "touching nose",
        level: 'F',
        definition: "The movement of bringing the hand close to and touching the nose area",
    },
    Action {
        id: 44,
        code: "F8",
        name: "touching ears",
        level: 'F',
        definition: "The movement of bringing the hand close to and touching the ear, or touching and rubbing the ear",
    },
    Action {
        id: 45,
        code: "F10",
        name: "covering face",
        level: 'F',
        definition: "The movement of covering the face region, excluding the mouth, with one or both hands",
    },
    Action {
        id: 46,
        code: "F9",
        name: "covering mouth",
        level: 'F',
        definition: "The movement of covering the mouth with the hand",
    },
    Action {
        id: 47,
        code: "F5",
        name: "pushing glasses",
        level: 'F',
        definition: "The movement of bringing the hand close to and touching the glasses",
    },
    Action {
        id: 48,
        code: "G2",
        name: "patting legs",
        level: 'G',
        definition: "Move one hand close to and touch the leg in a dynamic process",
    },
    Action {
        id: 49,
        code: "G1",
        name: "touching legs",
        level: 'G',
        definition: "The movement of touching and rubbing the leg with one hand",
    },
    Action {
        id: 50,
        code: "G3",
        name: "scratching legs",
        level: 'G',
        definition: "Scratch the calf area with the hand, excluding the ankle",
    },
    Action {
        id: 51,
        code: "G4",
        name: "scratching feet",
        level: 'G',
        definition: "The movement of scratching the foot with the hand, excluding the legs",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positions_and_codes_are_a_permutation_of_the_table() {
        for (i, a) in ACTIONS.iter().enumerate() {
            assert_eq!(a.id as usize, i);
            assert!(a.code.starts_with(a.level), "{a:?}");
        }
        let mut codes: Vec<_> = ACTIONS.iter().map(|a| a.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 52);
        let per_level: Vec<usize> = BODY_LEVELS
            .iter()
            .map(|l| ACTIONS.iter().filter(|a| a.level == l.code).count())
            .collect();
        assert_eq!(per_level, [5, 6, 13, 8, 6, 10, 4]);
    }

    #[test]
    fn id_order_differs_from_code_order() {
        assert_eq!(
            action(1).map(|a| (a.code, a.name)),
            Some(("A3", "sitting straightly"))
        );
        assert_eq!(action(0).map(|a| a.code), Some("A1"));
        assert_eq!(action(9).map(|a| (a.code, a.name)), Some(("B1", "nodding")));
        assert_eq!(action_by_code("G4").map(|a| a.id), Some(51));
        assert_eq!(action(52), None);
        assert_eq!(action(24).unwrap().body_level().name, "Lower limb");
    }

    #[test]
    fn confusable_groups_name_real_actions_once_each() {
        let mut seen = Vec::new();
        for group in CONFUSABLE {
            for name in group {
                assert!(action_by_name(name).is_some(), "{name}");
                assert!(!seen.contains(name), "{name} twice");
                seen.push(*name);
            }
        }
        let nodding = action(9).unwrap();
        let near: Vec<&str> = neighbours(nodding).iter().map(|a| a.name).collect();
        assert_eq!(near, ["bowing head", "head up"]);
        assert!(neighbours(nodding).iter().all(|a| a.level == nodding.level));
        assert_eq!(action_by_name("Bowing head").map(|a| a.id), Some(5));
    }

    #[test]
    fn names_match_the_real_label_file() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/data/ma52/label_name.txt"
        );
        let text = std::fs::read_to_string(path).expect("bundled label_name.txt");
        let mut n = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (id, name) = line.split_once('\t').expect("id<TAB>name");
            assert_eq!(action(id.parse().unwrap()).unwrap().name, name.trim());
            n += 1;
        }
        assert_eq!(n, 52);
    }
}
