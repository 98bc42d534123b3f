//! `qa`: the benchmark items of one clip, 12 in the reference mix: CMAR ×1,
//! FMAR ×1, SAD ×2, MAD ×2, MAS ×2, PPR ×2, MADU ×1, MARE ×1.
//!
//! Yes/no items come from the clip's facts ([`super::facts`]: claims with a
//! clear verdict, [`claims`]), each confirmed by the independent [`check`]er
//! on the raw descriptor frames; a "yes" is asked only when the clip's
//! description states it, and a description that contradicts an item makes
//! the clip an error ([`super::agreement`]). A clip's items of one task
//! alternate yes and no (seeded order), so answers are balanced over the
//! benchmark. Every closed item carries its provenance. The task mix,
//! counts and seed are params; the thresholds are the `facts` operator's.
//!
//! Items read like MA-Bench's: CMAR's seven levels and FMAR's five options
//! in a seeded order per item, FMAR's distractors drawn from the true level
//! at a set share, several phrasings of every question, and a set share of
//! each yes/no task's questions naming a phase (the rest ask about the clip
//! as a whole, or about an order of motions without a phase).

pub mod check;
pub mod claims;
pub mod item;
pub mod make;
pub mod recognition;
pub mod shape;
pub mod wording;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::clip_motion::ClipMotion;
use super::facts::ClipFacts;
use crate::common::record_types::{self as records, record};
use crate::prelude::*;
use item::TASKS;
use make::{PHASE_SHARE, Recipe, make_items};

/// Items per task and clip in the reference recipe (MA-Bench's 12 per clip).
const REFERENCE_MIX: [(&str, u32); 8] = [
    ("CMAR", 1),
    ("FMAR", 1),
    ("SAD", 2),
    ("MAD", 2),
    ("MAS", 2),
    ("PPR", 2),
    ("MADU", 1),
    ("MARE", 1),
];

/// Benchmark items of a clip over the 8 tasks (reference mix: CMAR 1, FMAR 1, SAD 2, MAD 2, MAS 2,
/// PPR 2, MADU 1, MARE 1). Yes/no answers are computed from the descriptor, confirmed by an
/// independent checker, and alternate yes/no per clip; CMAR/FMAR come from the label with options
/// in a seeded order, FMAR with 4 seeded distractors (`fmar_same_level` of them from the true body
/// level, its confusable neighbours first); MADU/MARE carry reference answers. Record: `items`
/// (id, clip, task, question, options, answer, reference, provenance), `shortfall`, `rejected`;
/// clips outside `splits` get no items.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QaConfig {
    /// Items per task and clip (tasks left out are not asked).
    #[default(REFERENCE_MIX.into_iter().map(|(k, v)| (k.to_string(), v)).collect())]
    pub tasks: BTreeMap<String, u32>,
    /// Seed of every choice (distractors, which claims, answer order).
    #[serde(default)]
    pub seed: u64,
    /// Only clips of these splits get items (default: every clip), so one run
    /// can describe the training split and evaluate on the test split.
    #[serde(default)]
    pub splits: Option<Vec<String>>,
    /// The chance that each FMAR distractor comes from the true action's body level (MA-Bench: 2.6 of
    /// its 5 options share the level, the answer included, so 0.4 of the distractors).
    #[default(0.4)]
    pub fmar_same_level: f64,
    /// Per yes/no task, the share of its questions that name a phase (the others ask about the clip as a
    /// whole, or MAS's order without a phase), as far as the clip's facts allow; tasks left out keep the default.
    #[default(PHASE_SHARE.into_iter().map(|(k, v)| (k.to_string(), v)).collect())]
    pub phase_share: BTreeMap<String, f64>,
}

impl QaConfig {
    /// What of these params shapes the items.
    pub fn recipe(&self) -> Recipe<'_> {
        Recipe {
            tasks: &self.tasks,
            seed: self.seed,
            fmar_same_level: self.fmar_same_level,
            phase_share: &self.phase_share,
        }
    }
}

/// Input: the clip's descriptor.
const DESCRIPTOR: RecordIn = RecordIn::new(0, "descriptor", records::DESCRIPTOR);
/// Input: the clip's description.
const DESCRIPTION: RecordIn = RecordIn::new(1, "description", records::DESCRIPTION);
/// Input: the clip's facts.
const FACTS: RecordIn = RecordIn::new(2, "facts", records::FACTS);

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "qa",
    section: Section::Operators,
    version: 5,
    doc: QaConfig::DOC,
    inputs: &[DESCRIPTOR.port(), DESCRIPTION.port(), FACTS.port()],
    output: Some(record(records::QA)),
    params: QaConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: QaConfig = parse_params(params)?;
    let mut diags = Vec::new();
    for task in config.tasks.keys() {
        if !TASKS.contains(&task.as_str()) {
            diags.push(
                param_error(params, "tasks", format!("unknown task `{task}`"))
                    .suggest(task, TASKS.iter().copied()),
            );
        }
    }
    // MA-52's lists, and the roles a source's `select: {side: both}` gives.
    const SPLITS: [&str; 4] = ["train", "val", "test", "eval"];
    if !(0.0..=1.0).contains(&config.fmar_same_level) {
        diags.push(param_error(
            params,
            "fmar_same_level",
            format!(
                "`fmar_same_level` is {}, and a share is in [0, 1]",
                config.fmar_same_level
            ),
        ));
    }
    for (task, share) in &config.phase_share {
        if !PHASE_SHARE.iter().any(|(t, _)| t == task) {
            diags.push(
                param_error(
                    params,
                    "phase_share",
                    format!("`{task}` is not a yes/no task"),
                )
                .suggest(task, PHASE_SHARE.iter().map(|(t, _)| *t)),
            );
        } else if !(0.0..=1.0).contains(share) {
            diags.push(param_error(
                params,
                "phase_share",
                format!("`{task}`: {share} is not in [0, 1]"),
            ));
        }
    }
    for split in config.splits.iter().flatten() {
        if !SPLITS.contains(&split.as_str()) {
            diags.push(
                param_error(params, "splits", format!("unknown split `{split}`"))
                    .suggest(split, SPLITS.iter().copied()),
            );
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Built::new(
        &config.clone(),
        Runtime::Record(Arc::new(Qa { config })),
    ))
}

struct Qa {
    config: QaConfig,
}

impl RecordOperator for Qa {
    fn run(
        &self,
        clip: &Clip,
        inputs: &[&Value],
        _ctx: &mut RecordContext<'_>,
    ) -> Result<Output, String> {
        let facts = ClipFacts::from_record(FACTS.read(inputs))?;
        let thresholds = &facts.thresholds;
        if let Some(splits) = &self.config.splits
            && !clip.split.as_ref().is_some_and(|s| splits.contains(s))
        {
            let split = clip.split.as_deref().unwrap_or("none");
            return Ok(Output::record(
                json!({"items": [], "shortfall": {}, "rejected": 0, "unstated": 0, "thresholds": thresholds, "not_evaluated": format!("split `{split}`")}),
            ));
        }
        let m = ClipMotion::from_record(DESCRIPTOR.read(inputs))?;
        let description = DESCRIPTION.read(inputs)["description"]
            .as_str()
            .ok_or("the `description` input is not a description record")?;
        let made = make_items(clip, &m, &facts, description, &self.config.recipe())?;
        Ok(Output::record(
            json!({"items": made.items, "shortfall": made.shortfall, "rejected": made.rejected, "unstated": made.unstated, "thresholds": thresholds}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::motion_summary::{SummaryParams, summarise};
    use crate::language::agreement::Reading;
    use crate::language::describe::describe_rules;
    use crate::language::facts::{Thresholds, facts};
    use claims::Claim;

    /// 3 s at 30 fps: the head nods through the first two thirds, the right
    /// hand rises toward the head in the middle third, the rest is still.
    fn clip_motion() -> ClipMotion {
        let n = 90;
        let mut vectors = vec![vec![[0.0f32, 0.0]; n]; PART_COUNT];
        let mut coords = vec![vec![[0.5f32, 0.5]; n]; PART_COUNT];
        for (t, v) in vectors[0].iter_mut().enumerate().take(60).skip(5) {
            *v = [0.0, if (t - 5) / 6 % 2 == 0 { 1.5 } else { -1.5 }];
        }
        coords[0] = vec![[0.5, 0.2]; n];
        let mut hand = [0.7f32, 0.8];
        for t in 0..n {
            if (32..56).contains(&t) {
                vectors[7][t] = [-1.0, 2.0];
                hand = [hand[0] - 1.0 / 1080.0, hand[1] - 2.0 / 1296.0];
            }
            coords[7][t] = hand;
        }
        let p = SummaryParams {
            noise_floor: 0.3,
            relative_threshold: 0.3,
            merge_gap: 0.2,
            min_period: 0.1,
        };
        let summary = summarise(&vectors, &coords, 1080, 1296, 30.0, &p);
        ClipMotion {
            fps: 30.0,
            num_frames: n,
            width: 1080,
            height: 1296,
            vectors,
            coords,
            summary,
        }
    }

    fn described(m: &ClipMotion) -> (ClipFacts, String) {
        let f = facts(m, &Thresholds::default());
        let text = describe_rules(&f);
        (f, text)
    }

    #[test]
    fn twelve_items_balanced_checked_labelled_and_stated_by_the_description() {
        let clip = Clip {
            id: "0001_01_0001".into(),
            path: "x.mp4".into(),
            label: Some(9),
            label_name: None,
            participant: None,
            split: None,
            given: None,
        };
        let config: QaConfig = serde_json::from_value(json!({})).unwrap();
        let m = clip_motion();
        let (f, description) = described(&m);
        let made = make_items(&clip, &m, &f, &description, &config.recipe()).unwrap();
        let items = &made.items;
        assert!(made.shortfall.is_empty(), "{:?}", made.shortfall);
        // The reference states the salient facts in MA-Bench's register, not every true claim: the rest are never asked "yes".
        assert!(
            crate::language::describe::register_problems(&description).is_empty(),
            "{description}"
        );
        assert!(made.unstated > 0, "{description}");
        assert_eq!(items.len(), 12);
        let cmar = items.iter().find(|i| i.task == "CMAR").unwrap();
        assert_eq!(
            cmar.options[recognition::LETTERS
                .iter()
                .position(|l| *l == cmar.answer)
                .unwrap()],
            "Head"
        );
        let fmar = items.iter().find(|i| i.task == "FMAR").unwrap();
        assert_eq!(fmar.options.len(), 5);
        assert_eq!(
            fmar.options[recognition::LETTERS
                .iter()
                .position(|l| *l == fmar.answer)
                .unwrap()],
            "nodding"
        );
        for task in ["SAD", "MAD", "MAS", "PPR"] {
            let answers: Vec<&str> = items
                .iter()
                .filter(|i| i.task == task)
                .map(|i| i.answer.as_str())
                .collect();
            let mut sorted = answers.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, ["no", "yes"], "{task}: one yes and one no per clip");
        }
        let reading = Reading::of(&description);
        for item in items
            .iter()
            .filter(|i| ["SAD", "MAD", "MAS", "PPR"].contains(&i.task.as_str()))
        {
            let claim: Claim = serde_json::from_value(item.provenance["claim"].clone()).unwrap();
            assert_eq!(
                check::check(&m, &claim, &f.thresholds),
                Some(item.answer == "yes"),
                "{}",
                item.question
            );
            assert!(
                reading.contradicts(&claim, item.answer == "yes").is_none(),
                "{}",
                item.question
            );
            assert!(
                item.answer == "no" || reading.states(&claim),
                "{} is not in: {description}",
                item.question
            );
        }
        let ppr_yes = items
            .iter()
            .find(|i| i.task == "PPR" && i.answer == "yes")
            .unwrap();
        assert!(
            ppr_yes.question.contains("right hand") && ppr_yes.question.contains("middle"),
            "{}",
            ppr_yes.question
        );
        // The same clip and seed give the same items.
        assert_eq!(
            &make_items(&clip, &m, &f, &description, &config.recipe())
                .unwrap()
                .items,
            items
        );
    }

    #[test]
    fn a_description_that_contradicts_an_item_is_an_error_naming_it() {
        let clip = Clip {
            id: "0001_01_0001".into(),
            path: "x.mp4".into(),
            label: Some(9),
            label_name: None,
            participant: None,
            split: None,
            given: None,
        };
        let config: QaConfig = serde_json::from_value(json!({})).unwrap();
        let m = clip_motion();
        let (f, description) = described(&m);
        // Hand-edited: the initial phase, where the head nods, now says nothing moves.
        let start = description.find("In the initial phase").unwrap();
        let end = start + description[start..].find(". In the middle").unwrap();
        let planted = format!(
            "{}In the initial phase (0.0–1.0 s), no part moves noticeably{}",
            &description[..start],
            &description[end..]
        );
        let err = make_items(&clip, &m, &f, &planted, &config.recipe()).unwrap_err();
        assert!(err.contains("the description contradicts"), "{err}");
        assert!(
            err.contains("\"no part moves noticeably\" says otherwise, but the head moves"),
            "{err}"
        );
        assert!(
            err.contains("the head move upward") && err.contains("\" is yes"),
            "the fact is named: {err}"
        );
    }

    #[test]
    fn shares_out_of_range_or_for_other_tasks_are_refused_before_anything_runs() {
        let node = maflow_engine::spec::tree::parse(
            "phase_share: {SADD: 0.3, MAS: 1.5}\nfmar_same_level: 2",
            0,
            0,
        )
        .unwrap();
        let errors = format!("{:?}", build(&node).err().expect("refused"));
        assert!(
            errors.contains("`SADD` is not a yes/no task") && errors.contains("SAD"),
            "{errors}"
        );
        assert!(errors.contains("`MAS`: 1.5 is not in [0, 1]"), "{errors}");
        assert!(errors.contains("fmar_same_level"), "{errors}");
        // A task left out keeps its default share.
        let node = maflow_engine::spec::tree::parse("phase_share: {SAD: 1.0}", 0, 0).unwrap();
        assert!(build(&node).is_ok());
    }

    #[test]
    fn clips_outside_the_evaluated_splits_get_no_items() {
        let config: QaConfig = serde_json::from_value(json!({"splits": ["test"]})).unwrap();
        let qa = Qa { config };
        let mut clip = Clip {
            id: "0001_01_0001".into(),
            path: "x.mp4".into(),
            label: Some(9),
            label_name: None,
            participant: None,
            split: Some("train".into()),
            given: None,
        };
        let m = clip_motion();
        let (f, text) = described(&m);
        let descriptor = json!({"descriptor": {}, "meta": {"fps": 30.0}, "summary": {}});
        let description = json!({"description": text});
        let facts_record = serde_json::to_value(&f).unwrap();
        let dir = std::env::temp_dir();
        let mut ctx = RecordContext {
            cache_dir: &dir,
            calls: Default::default(),
        };
        let out = qa
            .run(&clip, &[&descriptor, &description, &facts_record], &mut ctx)
            .unwrap();
        assert_eq!(out.record["items"], json!([]));
        assert_eq!(out.record["not_evaluated"], "split `train`");
        // A test clip is read and asked (here the descriptor record is not a real one, so it fails on it).
        clip.split = Some("test".into());
        assert!(
            qa.run(&clip, &[&descriptor, &description, &facts_record], &mut ctx)
                .is_err()
        );
        assert_eq!(
            make_items(&clip, &m, &f, &text, &qa.config.recipe())
                .unwrap()
                .items
                .len(),
            12
        );
    }
}
