//! Which clips make a benchmark: a seeded, stratified draw, with
//! evaluation and training participant-disjoint.
//!
//! Every clip and every participant gets a rank: the SHA-256 of the seed
//! and its id. Held-out participants are the lowest-ranked (or a given
//! list); each stratum (body level or action) takes its quota of the
//! lowest-ranked clips. A rank depends on nothing but the seed and the id,
//! so the draw is the same on every run, and a clip added to the source
//! changes it only where the newcomer outranks a chosen clip of its own
//! stratum (or, added with a new participant, that participant's side).
//! The draw is stated: counts per level, action and participant, and every
//! quota it could not meet.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::select_names::{ActionId, Level, Stratum};
pub use super::select_names::{HoldOut, NamedShares, Shares};
use crate::common::taxonomy::{self, BODY_LEVELS};
use maflow_engine::data::Clip;

/// MA-Bench's mix of body levels (its 1,000 test videos), in [`BODY_LEVELS`] order.
pub const PAPER_LEVEL_SHARES: [f64; 7] = [0.102, 0.196, 0.321, 0.206, 0.041, 0.081, 0.053];

/// The draw, as a source declares it: which participants are held out, which side is kept, and
/// how many clips of which levels or actions are drawn from it. What was drawn and why is in
/// run.json under `sources`, and in `maflow plan` and the report.
#[maflow_engine::params::configurable]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Select {
    /// Seed of the participant and clip ranks.
    #[serde(default)]
    pub seed: u64,
    /// Participants held out for evaluation: how many (the lowest-ranked) or which (ids; a number is written with four digits, so `3` is `0003`).
    #[serde(default)]
    #[example("[3, 44, \"0052\"]")]
    pub hold_out: Option<HoldOut>,
    /// The side kept: `eval` (the held-out participants), `train` (the others), or `both` (split `eval` for the draw, `train` for every clip of the others).
    #[serde(default)]
    pub side: Side,
    /// Clips to draw from the side (absent: all of it).
    #[serde(default)]
    #[example("1000")]
    pub count: Option<usize>,
    /// Strata of the draw: `level` (the 7 body levels) or `action` (the 52 actions); absent: `action` when the shares name actions, else `level`.
    #[serde(default)]
    pub by: Option<Strata>,
    /// Share of each stratum: `paper` (MA-Bench's level mix), `equal`, `proportional` (as in the side; the default), or a map of body level, or action name or id, to share.
    #[serde(default)]
    #[example("{nodding: 1, \"shaking head\": 1, 5: 2}")]
    pub shares: Option<Shares>,
    /// Only clips of these body levels (`Body`, `Head`, `Upper limb`, `Lower limb`, `Body-hand`, `Head-hand`, `Leg-hand`).
    #[serde(default)]
    #[example("[Head]")]
    pub levels: Option<Vec<Level>>,
    /// Only clips of these actions, by name or id.
    #[serde(default)]
    #[example("[nodding, 5]")]
    pub actions: Option<Vec<ActionId>>,
    /// Every action gets at least this many clips when it has them (inside its level's quota).
    #[serde(default)]
    pub min_per_action: usize,
}

/// Which side of the participant split a source keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The held-out participants' clips.
    #[default]
    Eval,
    /// Everybody else's.
    Train,
    /// Both, as one benchmark: the evaluation draw with split `eval`, and
    /// every clip of the other participants with split `train` (`count`,
    /// `by` and `shares` apply to the evaluation side).
    Both,
}

/// What the strata are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strata {
    /// The 7 body levels.
    #[default]
    Level,
    /// The 52 actions.
    Action,
}

/// A mistake in a `select`: the field path (`shares`, `nodding`) and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct SelectError {
    /// Keys from `select` down to the one at fault.
    pub path: Vec<String>,
    /// What is wrong.
    pub message: String,
}

fn at(path: &[&str], message: impl Into<String>) -> SelectError {
    SelectError {
        path: path.iter().map(|p| p.to_string()).collect(),
        message: message.into(),
    }
}

fn by_name(by: Strata) -> &'static str {
    match by {
        Strata::Level => "level",
        Strata::Action => "action",
    }
}

/// What a draw chose and why.
#[derive(Clone, Debug, Serialize)]
pub struct Drawn {
    /// The chosen clips, in the source's order.
    #[serde(skip)]
    pub clips: Vec<Clip>,
    /// The declaration.
    pub select: Select,
    /// Participants held out for evaluation.
    pub held_out: Vec<String>,
    /// Clips on the kept side before the draw.
    pub available: usize,
    /// Clips chosen (with `side: both`, the evaluation clips).
    pub chosen: usize,
    /// With `side: both`: training clips, and their participants.
    pub train: Option<(usize, usize)>,
    /// Clips each stratum was to get (its share of `count`), by stratum name; strata with none left out.
    pub quotas: BTreeMap<String, usize>,
    /// Chosen per body level name.
    pub per_level: BTreeMap<String, usize>,
    /// Chosen per action name.
    pub per_action: BTreeMap<String, usize>,
    /// Chosen per participant.
    pub per_participant: BTreeMap<String, usize>,
    /// Strata whose quota the side could not fill: (stratum, wanted, had).
    pub short: Vec<(String, usize, usize)>,
}

impl Drawn {
    /// Counts `clips` per body level, action and participant.
    fn count(&mut self, clips: &[Clip]) {
        for c in clips {
            if let Some(a) = c.label.and_then(taxonomy::action) {
                *self
                    .per_level
                    .entry(a.body_level().name.to_string())
                    .or_default() += 1;
                *self.per_action.entry(a.name.to_string()).or_default() += 1;
            }
            *self
                .per_participant
                .entry(c.participant.clone().unwrap_or_default())
                .or_default() += 1;
        }
    }
}

impl Select {
    /// Checks the declaration and fills in `by`; the error names the key at fault.
    pub fn resolved(mut self) -> Result<Select, SelectError> {
        if self.count == Some(0) {
            return Err(at(
                &["count"],
                "`count` must be at least 1 (leave it out to keep every clip of the side)",
            ));
        }
        if self.side != Side::Eval && self.hold_out.is_none() {
            return Err(at(
                &["side"],
                "`side: train` or `both` needs `hold_out` (which participants are held out for evaluation)",
            ));
        }
        let named = self.shares.as_ref().map_or(&[][..], Shares::map);
        let names_actions = named.iter().any(|(s, _)| matches!(s, Stratum::Action(_)));
        let by = *self.by.get_or_insert(if names_actions {
            Strata::Action
        } else {
            Strata::Level
        });
        if self.shares == Some(Shares::Named(NamedShares::Paper)) && by != Strata::Level {
            return Err(at(
                &["shares"],
                "`shares: paper` gives body-level shares: use it with `by: level`",
            ));
        }
        for (stratum, _) in named {
            let fits = matches!(
                (stratum, by),
                (Stratum::Level(_), Strata::Level) | (Stratum::Action(_), Strata::Action)
            );
            if !fits {
                let (what, fix) = match by {
                    Strata::Level => ("an action", "give body levels, or draw `by: action`"),
                    Strata::Action => ("a body level", "give actions, or draw `by: level`"),
                };
                let written = by_name(by);
                return Err(at(
                    &["shares", stratum.name()],
                    format!(
                        "`{}` is {what}, but the draw is `by: {written}`: {fix}",
                        stratum.name()
                    ),
                ));
            }
        }
        if !named.is_empty() && named.iter().map(|(_, share)| share).sum::<f64>() <= 0.0 {
            return Err(at(&["shares"], "the shares add up to 0"));
        }
        Ok(self)
    }

    fn strata(&self) -> Strata {
        self.by.unwrap_or_default()
    }

    fn stratum_index(&self, stratum: Stratum) -> Option<usize> {
        match (stratum, self.strata()) {
            (Stratum::Level(l), Strata::Level) => Some(l.0),
            (Stratum::Action(a), Strata::Action) => Some(a.0 as usize),
            _ => None,
        }
    }

    fn stratum_count(&self) -> usize {
        match self.strata() {
            Strata::Level => BODY_LEVELS.len(),
            Strata::Action => 52,
        }
    }

    fn stratum_name(&self, s: usize) -> String {
        match self.strata() {
            Strata::Level => BODY_LEVELS[s].name.to_string(),
            Strata::Action => {
                taxonomy::action(s as u32).map_or_else(|| s.to_string(), |a| a.name.to_string())
            }
        }
    }

    /// Whether the `levels` and `actions` filters keep a clip of this action.
    fn kept(&self, action: &taxonomy::Action) -> bool {
        let level = BODY_LEVELS.iter().position(|l| l.code == action.level);
        self.levels
            .as_ref()
            .is_none_or(|ls| ls.iter().any(|l| Some(l.0) == level))
            && self
                .actions
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|id| id.0 == action.id))
    }

    /// Draws from `clips` (labelled; unlabelled clips cannot be stratified and are left out).
    pub fn draw(&self, clips: &[Clip]) -> Drawn {
        if self.side != Side::Both {
            return self.draw_side(clips);
        }
        let mut drawn = Select {
            side: Side::Eval,
            ..self.clone()
        }
        .draw_side(clips);
        let held: BTreeSet<&String> = drawn.held_out.iter().collect();
        let chosen: BTreeSet<&str> = drawn.clips.iter().map(|c| c.id.as_str()).collect();
        let mut both = Vec::with_capacity(clips.len());
        let mut train_people = BTreeSet::new();
        for c in clips {
            let held_out = c.participant.as_ref().is_some_and(|p| held.contains(p));
            let role = if chosen.contains(c.id.as_str()) {
                "eval"
            } else if !held_out && c.label.is_some() {
                train_people.insert(c.participant.clone());
                "train"
            } else {
                continue;
            };
            both.push(Clip {
                split: Some(role.into()),
                ..c.clone()
            });
        }
        drawn.train = Some((both.len() - drawn.chosen, train_people.len()));
        drawn.select = self.clone();
        drawn.clips = both;
        drawn
    }

    /// A seeded rank of a `kind` (clip or participant) by id: lowest first is drawn first.
    fn rank(&self, kind: &str, id: &str) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(format!("{}\u{0}{kind}\u{0}{id}", self.seed)).into()
    }

    /// The participants held out for evaluation: every one, the listed ones,
    /// or the lowest ranked `n`.
    fn held_out(&self, clips: &[Clip]) -> BTreeSet<String> {
        let participants: BTreeSet<&str> = clips
            .iter()
            .filter_map(|c| c.participant.as_deref())
            .collect();
        match &self.hold_out {
            None => participants.iter().map(|p| p.to_string()).collect(),
            Some(HoldOut::List(ids)) => ids.iter().map(|p| p.0.clone()).collect(),
            Some(HoldOut::Count(n)) => {
                let mut ranked: Vec<&str> = participants.iter().copied().collect();
                ranked.sort_by_key(|p| self.rank("participant", p));
                ranked.into_iter().take(*n).map(String::from).collect()
            }
        }
    }

    fn draw_side(&self, clips: &[Clip]) -> Drawn {
        let held_out = self.held_out(clips);
        let on_side = |c: &Clip| {
            let held = c
                .participant
                .as_deref()
                .is_some_and(|p| held_out.contains(p));
            match self.side {
                Side::Eval | Side::Both => held,
                Side::Train => !held,
            }
        };
        let stratum = |c: &Clip| {
            let action = taxonomy::action(c.label?).filter(|a| self.kept(a))?;
            Some(match self.strata() {
                Strata::Level => BODY_LEVELS.iter().position(|l| l.code == action.level)?,
                Strata::Action => action.id as usize,
            })
        };
        // Per stratum, the side's clips, lowest rank first.
        let n = self.stratum_count();
        let mut pools: Vec<Vec<(usize, [u8; 32])>> = vec![Vec::new(); n];
        for (i, c) in clips.iter().enumerate() {
            if on_side(c)
                && let Some(s) = stratum(c)
            {
                pools[s].push((i, self.rank("clip", &c.id)));
            }
        }
        pools.iter_mut().for_each(|p| p.sort_by_key(|e| e.1));
        let available: usize = pools.iter().map(Vec::len).sum();
        let count = self.count.unwrap_or(available);
        let quotas = self.quotas(count, &pools.iter().map(Vec::len).collect::<Vec<_>>());
        let named_quotas: BTreeMap<String, usize> = quotas
            .iter()
            .enumerate()
            .filter(|(_, q)| **q > 0)
            .map(|(s, q)| (self.stratum_name(s), *q))
            .collect();
        let mut chosen: BTreeSet<usize> = BTreeSet::new();
        let mut short = Vec::new();
        for (s, (pool, &quota)) in pools.iter().zip(&quotas).enumerate() {
            let take = self.take(clips, pool, quota);
            if take.len() < quota {
                short.push((self.stratum_name(s), quota, pool.len()));
            }
            chosen.extend(take);
        }
        let clips: Vec<Clip> = chosen.iter().map(|&i| clips[i].clone()).collect();
        let mut drawn = Drawn {
            chosen: clips.len(),
            train: None,
            clips: Vec::new(),
            select: self.clone(),
            held_out: held_out.into_iter().collect(),
            available,
            quotas: named_quotas,
            per_level: BTreeMap::new(),
            per_action: BTreeMap::new(),
            per_participant: BTreeMap::new(),
            short,
        };
        drawn.count(&clips);
        drawn.clips = clips;
        drawn
    }

    /// Up to `quota` of a stratum's `pool` (ranked), each action of a level
    /// first getting its minimum when one is set.
    fn take(&self, clips: &[Clip], pool: &[(usize, [u8; 32])], quota: usize) -> BTreeSet<usize> {
        let mut take: BTreeSet<usize> = BTreeSet::new();
        if self.min_per_action > 0 && self.strata() == Strata::Level {
            // Each action of the level first gets its minimum, lowest rank first, within the quota.
            let mut per_action: BTreeMap<u32, usize> = BTreeMap::new();
            for &(i, _) in pool {
                let got = per_action
                    .entry(clips[i].label.unwrap_or(u32::MAX))
                    .or_default();
                if *got < self.min_per_action && take.len() < quota {
                    *got += 1;
                    take.insert(i);
                }
            }
        }
        for &(i, _) in pool {
            if take.len() >= quota {
                break;
            }
            take.insert(i);
        }
        take
    }

    /// Clips per stratum: `count` shared by the declared shares, whole
    /// numbers by largest remainder (so they add up to `count`).
    fn quotas(&self, count: usize, sizes: &[usize]) -> Vec<usize> {
        let n = sizes.len();
        let weights: Vec<f64> = match &self.shares {
            Some(Shares::Named(NamedShares::Paper)) => PAPER_LEVEL_SHARES.to_vec(),
            Some(Shares::Named(NamedShares::Equal)) => sizes
                .iter()
                .map(|&s| if s > 0 { 1.0 } else { 0.0 })
                .collect(),
            Some(Shares::Named(NamedShares::Proportional)) | None => {
                sizes.iter().map(|&s| s as f64).collect()
            }
            Some(Shares::Map(map)) => {
                let mut w = vec![0.0; n];
                for (stratum, share) in map {
                    if let Some(s) = self.stratum_index(*stratum) {
                        w[s] += share;
                    }
                }
                w
            }
        };
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return vec![0; n];
        }
        let exact: Vec<f64> = weights.iter().map(|w| w / total * count as f64).collect();
        let mut quotas: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
        let mut left = count - quotas.iter().sum::<usize>();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            (exact[b] - exact[b].floor())
                .total_cmp(&(exact[a] - exact[a].floor()))
                .then(a.cmp(&b))
        });
        for s in order {
            if left == 0 {
                break;
            }
            if weights[s] > 0.0 {
                quotas[s] += 1;
                left -= 1;
            }
        }
        quotas
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::sources::ma52::parse_list;
    use crate::sources::select_names::Participant;

    const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/ma52");

    /// The labelled MA-52 lists (train and val).
    fn labelled() -> Vec<Clip> {
        let mut clips = Vec::new();
        for split in ["train", "val"] {
            let text = std::fs::read_to_string(format!("{SHARED}/{split}_list_videos.txt"))
                .expect("the real MA-52 list files in ../shared");
            clips.extend(
                parse_list(&text, split, Path::new("l"), Path::new("v"))
                    .into_iter()
                    .map(Result::unwrap),
            );
        }
        clips
    }

    fn paper(side: Side) -> Select {
        Select {
            seed: 0,
            hold_out: Some(HoldOut::Count(24)),
            side,
            count: (side != Side::Train).then_some(1000),
            by: Some(Strata::Level),
            shares: Some(Shares::Named(NamedShares::Paper)),
            levels: None,
            actions: None,
            min_per_action: 0,
        }
    }

    #[test]
    fn the_paper_shape_is_drawn_from_held_out_participants_in_its_level_shares() {
        let clips = labelled();
        let eval = paper(Side::Eval).draw(&clips);
        assert_eq!(eval.chosen, 1000, "{:?}", eval.short);
        assert!(eval.short.is_empty(), "{:?}", eval.short);
        for (level, share) in BODY_LEVELS.iter().zip(PAPER_LEVEL_SHARES) {
            let got = eval.per_level.get(level.name).copied().unwrap_or(0) as f64;
            assert!(
                (got - share * 1000.0).abs() <= 1.0,
                "{}: {got} clips for a share of {share}",
                level.name
            );
        }
        let train = paper(Side::Train).draw(&clips);
        assert_eq!(eval.held_out, train.held_out);
        assert_eq!(eval.held_out.len(), 24);
        let eval_people: BTreeSet<&String> = eval.per_participant.keys().collect();
        assert!(
            train
                .per_participant
                .keys()
                .all(|p| !eval_people.contains(p)),
            "a participant on both sides"
        );
        assert!(eval_people.iter().all(|p| eval.held_out.contains(p)));
        assert_eq!(
            train.per_participant.len() + 24,
            clips
                .iter()
                .filter_map(|c| c.participant.as_ref())
                .collect::<BTreeSet<_>>()
                .len()
        );
    }

    #[test]
    fn both_sides_make_one_benchmark_with_roles_as_splits() {
        let clips = labelled();
        let drawn = paper(Side::Both).draw(&clips);
        let eval: Vec<&Clip> = drawn
            .clips
            .iter()
            .filter(|c| c.split.as_deref() == Some("eval"))
            .collect();
        let train: Vec<&Clip> = drawn
            .clips
            .iter()
            .filter(|c| c.split.as_deref() == Some("train"))
            .collect();
        assert_eq!(
            (eval.len(), eval.len() + train.len()),
            (1000, drawn.clips.len())
        );
        let (n, people) = drawn.train.unwrap();
        assert_eq!((n, people), (train.len(), 186 - 24));
        let eval_people: BTreeSet<_> = eval.iter().map(|c| &c.participant).collect();
        assert!(train.iter().all(|c| !eval_people.contains(&c.participant)));
    }

    #[test]
    fn the_draw_is_stable_for_a_seed_and_moves_little_when_clips_are_added() {
        let clips = labelled();
        let first = paper(Side::Eval).draw(&clips);
        let again = paper(Side::Eval).draw(&clips);
        let ids = |d: &Drawn| {
            d.clips
                .iter()
                .map(|c| c.id.clone())
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(ids(&first), ids(&again));
        // Unrelated clips (a participant outside the held-out ones would change the side; these join one already held out).
        let held = &first.held_out[0];
        let mut more = clips.clone();
        for k in 0..40 {
            let mut c = clips
                .iter()
                .find(|c| c.participant.as_deref() == Some(held.as_str()))
                .unwrap()
                .clone();
            c.id = format!("{held}_99_{k:04}");
            more.push(c);
        }
        let grown = paper(Side::Eval).draw(&more);
        let (a, b) = (ids(&first), ids(&grown));
        // The quotas are fixed shares of a fixed count: a clip leaves only for a newcomer that outranks it.
        let left: Vec<&String> = a.difference(&b).collect();
        let came: Vec<&String> = b.difference(&a).collect();
        assert!(came.iter().all(|id| id.contains("_99_")), "{came:?}");
        assert_eq!(left.len(), came.len());
        assert!(came.len() < 40, "every newcomer was drawn");
        let other_seed = Select {
            seed: 1,
            ..paper(Side::Eval)
        }
        .draw(&clips);
        assert_ne!(ids(&first), ids(&other_seed));
    }

    #[test]
    fn equal_shares_minimums_and_shortfalls_are_stated() {
        let clips = labelled();
        let select = Select {
            seed: 3,
            hold_out: Some(HoldOut::List(
                ["0003", "0004", "0005"]
                    .map(|p| Participant(p.into()))
                    .to_vec(),
            )),
            side: Side::Eval,
            count: Some(700),
            by: Some(Strata::Level),
            shares: Some(Shares::Named(NamedShares::Equal)),
            levels: None,
            actions: None,
            min_per_action: 2,
        };
        let drawn = select.draw(&clips);
        assert!(drawn.held_out == ["0003", "0004", "0005"]);
        assert!(
            drawn
                .clips
                .iter()
                .all(|c| drawn.held_out.contains(c.participant.as_ref().unwrap()))
        );
        // Three people do not have 100 clips of every level: what is missing is named, and not made up elsewhere.
        assert!(!drawn.short.is_empty());
        for (level, wanted, had) in &drawn.short {
            assert!(
                had < wanted && drawn.per_level.get(level).copied().unwrap_or(0) == *had,
                "{level}: {wanted} {had}"
            );
        }
        let missing: usize = drawn
            .short
            .iter()
            .map(|(_, wanted, had)| wanted - had)
            .sum();
        assert_eq!(drawn.chosen + missing, 700);
        // Every action of the three people's clips has its two (they have at least two of each they have).
        let mut have: BTreeMap<u32, usize> = BTreeMap::new();
        for c in clips
            .iter()
            .filter(|c| drawn.held_out.contains(c.participant.as_ref().unwrap()))
        {
            *have.entry(c.label.unwrap()).or_default() += 1;
        }
        for (action, n) in have {
            let name = taxonomy::action(action).unwrap().name;
            assert!(
                drawn.per_action.get(name).copied().unwrap_or(0) >= n.min(2),
                "{name}"
            );
        }
        let bad = Select {
            by: Some(Strata::Action),
            shares: Some(Shares::Named(NamedShares::Paper)),
            ..select.clone()
        };
        assert!(bad.resolved().unwrap_err().message.contains("by: level"));
        let bad = Select {
            side: Side::Both,
            hold_out: None,
            ..select.clone()
        };
        assert!(
            bad.resolved()
                .unwrap_err()
                .message
                .contains("needs `hold_out`")
        );
        assert!(paper(Side::Both).resolved().is_ok());
        // Shares naming actions draw by action; an action among level shares is refused at its key.
        let nodding = Stratum::parse("nodding").unwrap();
        let by_action = Select {
            by: None,
            shares: Some(Shares::Map(vec![(nodding, 1.0)])),
            ..select.clone()
        };
        assert_eq!(
            by_action.clone().resolved().unwrap().by,
            Some(Strata::Action)
        );
        let mixed = Select {
            by: Some(Strata::Level),
            ..by_action
        };
        assert_eq!(mixed.resolved().unwrap_err().path, ["shares", "nodding"]);
    }

    #[test]
    fn level_and_action_filters_keep_only_their_clips() {
        let clips = labelled();
        let head = Level::parse("Head").unwrap();
        let only_head = Select {
            levels: Some(vec![head]),
            ..paper(Side::Eval)
        };
        let only_head = Select {
            shares: None,
            count: Some(50),
            ..only_head
        }
        .resolved()
        .unwrap()
        .draw(&clips);
        assert_eq!(only_head.chosen, 50);
        assert_eq!(only_head.per_level.keys().collect::<Vec<_>>(), ["Head"]);
        let two = [
            ActionId::parse("nodding").unwrap(),
            ActionId::parse("2").unwrap(),
        ];
        let drawn = Select {
            actions: Some(two.to_vec()),
            shares: None,
            count: None,
            ..paper(Side::Eval)
        }
        .resolved()
        .unwrap()
        .draw(&clips);
        let names: Vec<&str> = drawn.per_action.keys().map(String::as_str).collect();
        assert!(
            !names.is_empty() && names.iter().all(|n| *n == "nodding" || *n == two[1].name()),
            "{names:?}"
        );
    }
}
