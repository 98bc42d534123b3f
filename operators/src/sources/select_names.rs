//! How a `select` names what it draws: body levels and actions by name or
//! id, participants by id, the share presets. Each is read from the spec as
//! a string or a number, and a name that is none of them is an error at the
//! name itself that lists what would do.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::common::taxonomy::{self, ACTIONS, BODY_LEVELS};
use maflow_engine::diagnostic::nearest;

/// A body level, by its index in [`BODY_LEVELS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Level(pub usize);

/// An action, by its MA-52 id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ActionId(pub u32);

/// A stratum a share names: a body level or an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stratum {
    /// A body level.
    Level(Level),
    /// An action.
    Action(ActionId),
}

fn level_names() -> String {
    BODY_LEVELS
        .iter()
        .map(|l| l.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn action_names() -> String {
    ACTIONS
        .iter()
        .map(|a| format!("{} {}", a.id, a.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "did you mean `x`?" for the nearest of `names`, or nothing.
fn did_you_mean<'a>(word: &str, names: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, names)
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default()
}

impl Level {
    /// The level named `name`, in any letter case.
    pub fn parse(name: &str) -> Result<Level, String> {
        BODY_LEVELS
            .iter()
            .position(|l| l.name.eq_ignore_ascii_case(name.trim()))
            .map(Level)
            .ok_or_else(|| {
                format!(
                    "`{name}` is not a body level{}; the levels are {}",
                    did_you_mean(name, BODY_LEVELS.iter().map(|l| l.name)),
                    level_names()
                )
            })
    }

    /// Its name (`Upper limb`).
    pub fn name(self) -> &'static str {
        BODY_LEVELS[self.0].name
    }
}

impl ActionId {
    /// The action named `name` (any letter case) or numbered `name`.
    pub fn parse(name: &str) -> Result<ActionId, String> {
        let text = name.trim();
        if let Ok(id) = text.parse::<u32>() {
            return Self::of(i64::from(id));
        }
        taxonomy::action_by_name(text)
            .map(|a| ActionId(a.id))
            .ok_or_else(|| {
                format!(
                    "`{name}` is not an action{}; the actions are {}",
                    did_you_mean(text, ACTIONS.iter().map(|a| a.name)),
                    action_names()
                )
            })
    }

    /// The action numbered `id`.
    pub fn of(id: i64) -> Result<ActionId, String> {
        u32::try_from(id)
            .ok()
            .and_then(taxonomy::action)
            .map(|a| ActionId(a.id))
            .ok_or_else(|| {
                format!("action id {id} is out of range: MA-52's actions are numbered 0 to 51")
            })
    }

    /// Its name (`nodding`).
    pub fn name(self) -> &'static str {
        taxonomy::action(self.0).map_or("?", |a| a.name)
    }
}

impl Stratum {
    /// A level name, an action name, or an action id.
    pub fn parse(name: &str) -> Result<Stratum, String> {
        if let Ok(level) = Level::parse(name) {
            return Ok(Stratum::Level(level));
        }
        ActionId::parse(name).map(Stratum::Action).map_err(|_| {
            let levels = BODY_LEVELS.iter().map(|l| l.name);
            format!(
                "`{name}` is neither a body level nor an action{}; the levels are {}; the actions are {}",
                did_you_mean(name, levels.chain(ACTIONS.iter().map(|a| a.name))),
                level_names(),
                action_names()
            )
        })
    }

    /// Its name, as the report writes it.
    pub fn name(self) -> &'static str {
        match self {
            Stratum::Level(l) => l.name(),
            Stratum::Action(a) => a.name(),
        }
    }
}

/// Reads a name given as a string or a number with `parse` (numbers as their decimal text).
struct NameVisitor<T>(fn(&str) -> Result<T, String>, &'static str);

impl<T> Visitor<'_> for NameVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.1)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.0)(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
}

macro_rules! named {
    ($ty:ty, $parse:path, $expecting:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(NameVisitor($parse, $expecting))
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    };
}

named!(Level, Level::parse, "a body level name");
named!(ActionId, ActionId::parse, "an action name or id");
named!(
    Stratum,
    Stratum::parse,
    "a body level name, or an action name or id"
);

/// A participant id; a number is written with four digits, as MA-52 names participants (`3` is `0003`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Participant(pub String);

fn participant(text: &str) -> Result<Participant, String> {
    match text.trim().parse::<u64>() {
        Ok(n) => Ok(Participant(format!("{n:04}"))),
        Err(_) if !text.trim().is_empty() => Ok(Participant(text.trim().to_string())),
        Err(_) => Err("a participant id is empty".into()),
    }
}

impl<'de> Deserialize<'de> for Participant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NameVisitor(participant, "a participant id"))
    }
}

/// Held-out participants.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum HoldOut {
    /// The lowest-ranked this many.
    Count(usize),
    /// These ids.
    List(Vec<Participant>),
}

impl<'de> Deserialize<'de> for HoldOut {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HoldOutVisitor;
        impl<'de> Visitor<'de> for HoldOutVisitor {
            type Value = HoldOut;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of participants, or a list of participant ids")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<HoldOut, E> {
                Ok(HoldOut::Count(v as usize))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<HoldOut, E> {
                usize::try_from(v)
                    .map(HoldOut::Count)
                    .map_err(|_| E::custom("`hold_out` must not be negative"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HoldOut, A::Error> {
                let mut ids = Vec::new();
                while let Some(id) = seq.next_element::<Participant>()? {
                    ids.push(id);
                }
                Ok(HoldOut::List(ids))
            }
        }
        d.deserialize_any(HoldOutVisitor)
    }
}

/// The named share presets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NamedShares {
    /// MA-Bench's body-level mix (levels only).
    Paper,
    /// The same number per stratum.
    Equal,
    /// As the side has them.
    Proportional,
}

/// How the count is shared out over the strata.
#[derive(Clone, Debug, PartialEq)]
pub enum Shares {
    /// `paper`, `equal` or `proportional`.
    Named(NamedShares),
    /// Explicit shares by level name, or by action name or id, in the order written.
    Map(Vec<(Stratum, f64)>),
}

impl Shares {
    /// The explicit shares, if these are.
    pub fn map(&self) -> &[(Stratum, f64)] {
        match self {
            Shares::Map(map) => map,
            Shares::Named(_) => &[],
        }
    }
}

impl Serialize for Shares {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Shares::Named(named) => named.serialize(s),
            Shares::Map(map) => {
                let mut out = s.serialize_map(Some(map.len()))?;
                for (stratum, share) in map {
                    out.serialize_entry(stratum.name(), share)?;
                }
                out.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Shares {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SharesVisitor;
        impl<'de> Visitor<'de> for SharesVisitor {
            type Value = Shares;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "`paper`, `equal`, `proportional`, or a map of level or action to share",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Shares, E> {
                match v {
                    "paper" => Ok(Shares::Named(NamedShares::Paper)),
                    "equal" => Ok(Shares::Named(NamedShares::Equal)),
                    "proportional" => Ok(Shares::Named(NamedShares::Proportional)),
                    _ => Err(E::custom(format!(
                        "unknown shares `{v}`{}: use `paper`, `equal`, `proportional`, or a map such as {{Head: 1, nodding: 2}}",
                        did_you_mean(v, ["paper", "equal", "proportional"])
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shares, A::Error> {
                let mut shares: Vec<(Stratum, f64)> = Vec::new();
                while let Some(stratum) = map.next_key::<Stratum>()? {
                    let share: f64 = map.next_value()?;
                    if !(share.is_finite() && share >= 0.0) {
                        return Err(de::Error::custom(format!(
                            "the share of `{}` must be a number ≥ 0",
                            stratum.name()
                        )));
                    }
                    if shares.iter().any(|(s, _)| *s == stratum) {
                        return Err(de::Error::custom(format!(
                            "`{}` is given a share twice",
                            stratum.name()
                        )));
                    }
                    shares.push((stratum, share));
                }
                Ok(Shares::Map(shares))
            }
        }
        d.deserialize_any(SharesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ids_and_numbers_resolve_and_a_wrong_name_lists_what_would_do() {
        assert_eq!(Stratum::parse("head"), Ok(Stratum::Level(Level(1))));
        assert_eq!(Stratum::parse("Nodding").map(Stratum::name), Ok("nodding"));
        assert_eq!(Stratum::parse("0").map(Stratum::name), Ok("shaking body"));
        assert_eq!(participant("3"), Ok(Participant("0003".into())));
        let wrong = Stratum::parse("noding").unwrap_err();
        assert!(
            wrong.contains("did you mean `nodding`?")
                && wrong.contains("Upper limb")
                && wrong.contains("51 "),
            "{wrong}"
        );
        assert!(ActionId::parse("52").unwrap_err().contains("0 to 51"));
        assert!(
            Level::parse("nodding")
                .unwrap_err()
                .contains("the levels are Body, Head")
        );
    }
}
