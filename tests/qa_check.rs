//! The benchmark's own check on over 3,000 rendered clips (`maflow synth`,
//! truth descriptors, no video) through `pipelines/qa-check.yaml`: the
//! random baseline lands at the chance rates, the descriptor oracle answers
//! the yes/no tasks, and yes/no answers are balanced per task.

use std::collections::BTreeMap;

use crate::support::{Scratch, maflow, text};

/// Clips per synthetic action (9 actions).
const PER_ACTION: usize = 336;

#[test]
fn rendered_benchmark_is_balanced_answerable_and_random_is_at_chance() {
    let scratch = Scratch::new();
    let clips = scratch.path("clips");
    let out = maflow(&["synth", "--out", clips.to_str().unwrap(), "--per-action", &PER_ACTION.to_string(), "--scale", "0.5", "--no-video"]);
    assert!(out.status.success(), "synth: {}", text(&out.stderr));
    let mut args: Vec<String> = vec!["run".into(), "pipelines/qa-check.yaml".into(), "-q".into()];
    args.extend(scratch.redirect());
    args.extend(["--set".into(), format!("sources.clips.path={}", clips.display())]);
    args.extend(["--set".into(), format!("descriptors.path={}", clips.join("descriptors").display())]);
    let run = maflow(&args);
    assert!(run.status.success(), "run: {}{}", text(&run.stdout), text(&run.stderr));
    let dir = scratch.out("qa-check");

    // Accuracy per (model, task), with the number of items.
    let mut scores: BTreeMap<(String, String), (f64, usize)> = BTreeMap::new();
    for line in std::fs::read_to_string(dir.join("scores.csv")).unwrap().lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        scores.insert((f[0].into(), f[2].into()), (f[3].parse().unwrap(), f[6].parse().unwrap_or(0)));
    }
    let chance = [("CMAR", 100.0 / 7.0), ("FMAR", 20.0), ("SAD", 50.0), ("MAD", 50.0), ("MAS", 50.0), ("PPR", 50.0)];
    for (task, rate) in chance {
        let (acc, n) = scores[&("random".to_string(), task.to_string())];
        assert!(n >= 1000, "{task}: only {n} items");
        assert!((acc - rate).abs() <= 2.0, "random on {task}: {acc:.1}% over {n} items, chance is {rate:.1}%");
    }
    for task in ["SAD", "MAD", "MAS", "PPR"] {
        let (acc, _) = scores[&("descriptor-oracle".to_string(), task.to_string())];
        assert!(acc >= 95.0, "descriptor-oracle on {task}: {acc:.1}%");
    }

    // Yes/no balance per task over the whole benchmark.
    let mut answers: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let bench = std::fs::read_to_string(dir.join("bench.jsonl")).unwrap();
    for line in bench.lines() {
        let item: serde_json::Value = serde_json::from_str(line).unwrap();
        let entry = answers.entry(item["task"].as_str().unwrap().to_string()).or_default();
        match item["answer"].as_str().unwrap() {
            "yes" => entry.0 += 1,
            "no" => entry.1 += 1,
            _ => {}
        }
    }
    for task in ["SAD", "MAD", "MAS", "PPR"] {
        let (yes, no) = answers[task];
        let share = 100.0 * yes as f64 / (yes + no) as f64;
        assert!((share - 50.0).abs() <= 2.0, "{task}: {yes} yes, {no} no ({share:.1}% yes)");
    }
}
