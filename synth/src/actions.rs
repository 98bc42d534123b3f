//! Parameterised micro-actions of the synthetic figure.
//!
//! Each action moves a few parts over time: `amplitude` scales its size
//! (1 = typical of MA-52, a few pixels per frame at full size), `speed` its
//! rate (cycles per second for repeated motions, 1 / duration for one-way
//! ones) and `onset` the second it starts. Before the onset the figure
//! sits still. Angles are radians, shifts rest-pose pixels (y down).

use std::f32::consts::PI;

use super::figure::Pose;

/// The actions `maflow synth` renders, with their MA-52 action ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Head down and up, repeatedly.
    Nodding,
    /// Head left and right, repeatedly.
    ShakingHead,
    /// Head turns to one side and holds.
    TurningHead,
    /// Head tilts to one side and back.
    TiltingHead,
    /// Shoulders (and arms) rise and fall.
    Shrugging,
    /// One leg swings from the hip, repeatedly.
    ShakingLegs,
    /// Raised right forearm and hand swing from the elbow.
    Waving,
    /// Right hand travels from the thigh to the neck.
    TouchingNeck,
    /// Both forearms fold across the belly.
    CrossingArms,
}

impl Action {
    /// Every action, in a fixed order.
    pub const ALL: [Action; 9] = [
        Action::Nodding,
        Action::ShakingHead,
        Action::TurningHead,
        Action::TiltingHead,
        Action::Shrugging,
        Action::ShakingLegs,
        Action::Waving,
        Action::TouchingNeck,
        Action::CrossingArms,
    ];

    /// The MA-52 action id (`label_name.txt`) closest to it.
    pub fn ma52_id(self) -> u32 {
        match self {
            Action::Nodding => 9,
            Action::ShakingHead => 10,
            Action::TurningHead => 8,
            Action::TiltingHead => 7,
            Action::Shrugging => 2,
            Action::ShakingLegs => 24,
            Action::Waving => 19,
            Action::TouchingNeck => 32,
            Action::CrossingArms => 37,
        }
    }

    /// Its name as written in files.
    pub fn name(self) -> &'static str {
        match self {
            Action::Nodding => "nodding",
            Action::ShakingHead => "shaking_head",
            Action::TurningHead => "turning_head",
            Action::TiltingHead => "tilting_head",
            Action::Shrugging => "shrugging",
            Action::ShakingLegs => "shaking_legs",
            Action::Waving => "waving",
            Action::TouchingNeck => "touching_neck",
            Action::CrossingArms => "crossing_arms",
        }
    }

    /// Parses [`name`](Self::name).
    pub fn from_name(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == s)
    }
}

/// How one clip performs its action.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Performance {
    /// The action.
    pub action: Action,
    /// Size factor (1 = typical).
    pub amplitude: f32,
    /// Cycles per second (repeated) or 1 / duration (one-way).
    pub speed: f32,
    /// Start, seconds.
    pub onset: f32,
}

/// Smooth 0 → 1 over [0, 1] (cosine ease), clamped outside.
fn ease(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    0.5 - 0.5 * (PI * x).cos()
}

/// Part indices (see [`maflow_operators::common::body::PARTS`]).
const HEAD: usize = 0;
const L_UPPER_ARM: usize = 2;
const R_UPPER_ARM: usize = 3;
const L_LOWER_ARM: usize = 4;
const R_LOWER_ARM: usize = 5;
const R_HAND: usize = 7;
const R_UPPER_LEG: usize = 9;

impl Performance {
    /// The pose at time `t` seconds.
    pub fn pose(&self, t: f32) -> Pose {
        let mut p = Pose::default();
        let a = self.amplitude;
        let since = (t - self.onset).max(0.0);
        let moving = t >= self.onset;
        // Repeated motions: a whole number of sine cycles starting at rest.
        let cycle = |size: f32| {
            if moving {
                size * (2.0 * PI * self.speed * since).sin()
            } else {
                0.0
            }
        };
        // A down-and-back bump per cycle (0 → size → 0).
        let bump = |size: f32| {
            if moving {
                size * 0.5 * (1.0 - (2.0 * PI * self.speed * since).cos())
            } else {
                0.0
            }
        };
        // One-way motions: ease from 0 to size over 1 / speed seconds.
        let reach = |size: f32| size * ease(since * self.speed);
        match self.action {
            Action::Nodding => p.shift[HEAD] = (0.0, bump(14.0 * a)),
            Action::ShakingHead => p.shift[HEAD] = (cycle(12.0 * a), 0.0),
            Action::TurningHead => p.shift[HEAD] = (reach(-28.0 * a), 0.0),
            Action::TiltingHead => p.angle[HEAD] = bump(0.12 * a),
            Action::Shrugging => {
                let lift = bump(-16.0 * a);
                p.shift[L_UPPER_ARM] = (0.0, lift);
                p.shift[R_UPPER_ARM] = (0.0, lift);
            }
            Action::ShakingLegs => p.angle[R_UPPER_LEG] = cycle(0.05 * a),
            Action::Waving => {
                // The forearm is raised from the start; the wave swings it about the elbow.
                p.angle[R_UPPER_ARM] = 0.5;
                p.angle[R_LOWER_ARM] = 2.4 + cycle(0.12 * a);
            }
            Action::TouchingNeck => {
                let k = reach(a);
                // The elbow swings out a little while the forearm folds up and in,
                // bringing the hand to the side of the neck.
                p.angle[R_UPPER_ARM] = 0.25 * k;
                p.angle[R_LOWER_ARM] = -2.43 * k;
                p.angle[R_HAND] = -0.3 * k;
            }
            Action::CrossingArms => {
                let k = reach(a);
                p.angle[L_LOWER_ARM] = 0.9 * k;
                p.angle[R_LOWER_ARM] = -0.9 * k;
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_the_same_actions_in_the_real_label_file() {
        let labels = include_str!("../../tests/data/ma52/label_name.txt");
        for action in Action::ALL {
            let line = labels
                .lines()
                .find(|l| l.split('\t').next() == Some(&action.ma52_id().to_string()))
                .unwrap();
            let label = line.split('\t').nth(1).unwrap().replace(' ', "_");
            let ours = action
                .name()
                .replace("touching_neck", "scratching_or_touching_neck");
            assert_eq!(label, ours, "{action:?}");
        }
    }

    #[test]
    fn still_before_the_onset_and_moving_after() {
        for action in Action::ALL {
            let perf = Performance {
                action,
                amplitude: 1.0,
                speed: 1.5,
                onset: 0.5,
            };
            let rest = perf.pose(0.0);
            assert_eq!(perf.pose(0.4), rest, "{action:?}");
            assert_ne!(perf.pose(0.7), rest, "{action:?}");
            assert_eq!(Action::from_name(action.name()), Some(action));
        }
    }
}
