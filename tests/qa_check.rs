//! The benchmark's own check on rendered clips (`maflow synth`, truth
//! descriptors, no video) through `pipelines/qa-check.yaml`: the random
//! baseline lands at the chance rates, the descriptor oracle answers the
//! yes/no tasks and recognises CMAR and FMAR above chance, yes/no answers
//! are balanced per task, and no reference goes against its clip's items.
//!
//! The suite runs it on 144 clips (16 per action). `scripts/qa-check.sh`
//! runs the same assertions on 3,024 clips (336 per action, the scale the
//! README quotes), where the chance rates are pinned to within 2 points.

use std::collections::BTreeMap;

use crate::support::{Scratch, assert_references_agree, maflow, text};

/// Clips per synthetic action (9 actions) in the suite; `MAFLOW_QA_CHECK_PER_ACTION` overrides it.
const PER_ACTION: usize = 16;

/// How far from chance a seeded random model may land, in standard errors of its accuracy over `n` items.
const CHANCE_SIGMAS: f64 = 3.0;

/// Clips per action of the full-scale check, where random must also land within 2 points of chance.
const FULL_SCALE_PER_ACTION: usize = 336;

#[test]
fn rendered_benchmark_is_balanced_answerable_and_random_is_at_chance() {
    let per_action = std::env::var("MAFLOW_QA_CHECK_PER_ACTION")
        .ok()
        .map_or(PER_ACTION, |v| v.parse().expect("a clip count"));
    let clip_count = per_action * 9;
    let scratch = Scratch::new();
    let clips = scratch.path("clips");
    let out = maflow(&[
        "synth",
        "--out",
        clips.to_str().unwrap(),
        "--per-action",
        &per_action.to_string(),
        "--scale",
        "0.5",
        "--no-video",
    ]);
    assert!(out.status.success(), "synth: {}", text(&out.stderr));
    let mut args: Vec<String> = vec!["run".into(), "pipelines/qa-check.yaml".into(), "-q".into()];
    args.extend(scratch.redirect());
    args.extend([
        "--set".into(),
        format!("sources.clips.path={}", clips.display()),
    ]);
    args.extend([
        "--set".into(),
        format!("descriptors.path={}", clips.join("descriptors").display()),
    ]);
    let run = maflow(&args);
    assert!(
        run.status.success(),
        "run: {}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    let dir = scratch.out("qa-check");

    // Accuracy per (model, task), with the number of items.
    let mut scores: BTreeMap<(String, String), (f64, usize)> = BTreeMap::new();
    for line in std::fs::read_to_string(dir.join("scores.csv"))
        .unwrap()
        .lines()
        .skip(1)
    {
        let f: Vec<&str> = line.split(',').collect();
        scores.insert(
            (f[0].into(), f[2].into()),
            (f[3].parse().unwrap(), f[6].parse().unwrap_or(0)),
        );
    }
    let chance = [
        ("CMAR", 100.0 / 7.0),
        ("FMAR", 20.0),
        ("SAD", 50.0),
        ("MAD", 50.0),
        ("MAS", 50.0),
        ("PPR", 50.0),
    ];
    for (task, rate) in chance {
        let (acc, n) = scores[&("random".to_string(), task.to_string())];
        // PPR asks only about parts the actions relate (a hand and what it reaches, the legs and
        // feet), and a clip needs a clear approach for its yes/no pair: about one pair in two clips.
        let need = if task == "PPR" {
            clip_count * 9 / 10
        } else {
            clip_count
        };
        assert!(n >= need, "{task}: only {n} items over {clip_count} clips");
        // The standard error of an accuracy over n items at the chance rate, in points.
        let sigma = 100.0 * (rate / 100.0 * (1.0 - rate / 100.0) / n as f64).sqrt();
        let mut tolerance = CHANCE_SIGMAS * sigma;
        if per_action >= FULL_SCALE_PER_ACTION {
            tolerance = tolerance.min(2.0);
        }
        assert!(
            (acc - rate).abs() <= tolerance,
            "random on {task}: {acc:.1}% over {n} items, chance is {rate:.1}% ± {tolerance:.1}"
        );
    }
    for task in ["SAD", "MAD", "MAS", "PPR"] {
        let (acc, _) = scores[&("descriptor-oracle".to_string(), task.to_string())];
        assert!(acc >= 95.0, "descriptor-oracle on {task}: {acc:.1}%");
    }
    // Recognition from the facts and the action definitions: well above chance on both.
    for (task, rate) in [("CMAR", 100.0 / 7.0), ("FMAR", 20.0)] {
        let (acc, _) = scores[&("descriptor-oracle".to_string(), task.to_string())];
        assert!(
            acc >= 2.0 * rate,
            "descriptor-oracle on {task}: {acc:.1}%, chance {rate:.1}%"
        );
    }
    // One truth: no clip failed for a reference that contradicts its facts, and the references
    // state every yes item (read here on the text alone).
    assert_eq!(
        std::fs::read_to_string(dir.join("errors.jsonl")).unwrap_or_default(),
        "",
        "items or references in error"
    );
    assert!(assert_references_agree(&dir.join("bench.jsonl")) >= clip_count);

    // Yes/no balance per task over the whole benchmark: items come in yes/no pairs per clip.
    let mut answers: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let bench = std::fs::read_to_string(dir.join("bench.jsonl")).unwrap();
    for line in bench.lines() {
        let item: serde_json::Value = serde_json::from_str(line).unwrap();
        let entry = answers
            .entry(item["task"].as_str().unwrap().to_string())
            .or_default();
        match item["answer"].as_str().unwrap() {
            "yes" => entry.0 += 1,
            "no" => entry.1 += 1,
            _ => {}
        }
    }
    for task in ["SAD", "MAD", "MAS", "PPR"] {
        let (yes, no) = answers[task];
        let share = 100.0 * yes as f64 / (yes + no) as f64;
        assert!(
            (share - 50.0).abs() <= 2.0,
            "{task}: {yes} yes, {no} no ({share:.1}% yes)"
        );
    }
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    if let Some(at) = report.find("## Recognition per action") {
        eprintln!("{}", &report[at..]);
    }
    eprintln!("qa check over {clip_count} clips:");
    for ((model, task), (acc, n)) in &scores {
        eprintln!("  {model:>18} {task:<5} {acc:6.1}% over {n} items");
    }
}
