//! MA-Bench's published sample through `pipelines/ma-bench-official.yaml`:
//! every qid answered once in a Track 3 prediction per model, the final
//! score, and a missing video making the prediction incomplete until a
//! rerun with the video back completes it from the store.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::support::{Scratch, maflow, run_json, text};

const SAMPLE: &str = "../shared/data/ma-bench/starter-kit/mabench_data_sample_100.json";

/// Links each video the sample names to one of the real MA-52 test clips.
fn link_videos(dir: &Path) -> Vec<String> {
    let rows: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(SAMPLE).unwrap()).unwrap();
    let names: BTreeSet<String> = rows
        .iter()
        .map(|r| {
            r["video"]
                .as_str()
                .unwrap()
                .trim_end_matches(".mp4")
                .to_string()
        })
        .collect();
    let clips: Vec<_> = std::fs::read_dir("tests/data/ma52/videos")
        .unwrap()
        .map(|e| std::fs::canonicalize(e.unwrap().path()).unwrap())
        .collect();
    std::fs::create_dir_all(dir).unwrap();
    for (k, name) in names.iter().enumerate() {
        std::os::unix::fs::symlink(&clips[k % clips.len()], dir.join(format!("{name}.mp4")))
            .unwrap();
    }
    names.into_iter().collect()
}

fn prediction(dir: &Path, file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
}

#[test]
fn the_published_sample_gives_complete_predictions_and_the_final_score() {
    let s = Scratch::new();
    let videos = s.path("videos");
    let names = link_videos(&videos);
    let mut args: Vec<String> = vec![
        "run".into(),
        "pipelines/ma-bench-official.yaml".into(),
        "-q".into(),
        "--set".into(),
        format!("sources.bench.params.questions={SAMPLE}"),
        "--set".into(),
        format!("sources.bench.params.videos={}", videos.display()),
    ];
    args.extend(s.redirect());
    // The plan says what the questions file holds, per task and with answers, before anything runs.
    let mut plan_args = vec!["plan".to_string()];
    plan_args.extend(args.iter().skip(1).filter(|a| *a != "-q").cloned());
    let plan = maflow(&plan_args);
    let shown = text(&plan.stdout);
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    assert!(
        shown.contains("source `bench`: 1200 questions on 100 videos")
            && shown.contains("1200 with answers; 0 malformed rows, 0 videos missing")
            && shown.contains("per task: CMAR 100 · FMAR 100 · SAD 200 · MAD 200 · MAS 200 · PPR 200 · MADU 100 · MARE 100"),
        "{shown}"
    );
    let out = maflow(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = s.out("ma-bench-official");
    let rows: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(SAMPLE).unwrap()).unwrap();
    let qids: BTreeSet<&str> = rows.iter().map(|r| r["qid"].as_str().unwrap()).collect();
    assert_eq!(qids.len(), 1200);
    for model in ["random", "majority"] {
        let p = prediction(&dir.join("submission"), &format!("prediction-{model}.json"));
        let answers = p["answers"].as_array().unwrap();
        let got: BTreeSet<&str> = answers.iter().map(|a| a["qid"].as_str().unwrap()).collect();
        assert_eq!(
            (answers.len(), &got),
            (1200, &qids),
            "{model}: every qid once"
        );
        assert!(
            answers
                .iter()
                .all(|a| !a["pred_answer"].as_str().unwrap().is_empty())
        );
        let tasks: Vec<&str> = p["prompts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["task"].as_str().unwrap())
            .collect();
        assert_eq!(
            tasks,
            ["CMAR", "FMAR", "SAD", "MAD", "MAS", "PPR", "MADU", "MARE"]
        );
        assert!(
            !dir.join(format!("submission/prediction-{model}.incomplete.json"))
                .exists()
        );
    }
    let scores = std::fs::read_to_string(dir.join("scores.csv")).unwrap();
    let value = |model: &str, metric: &str| -> f64 {
        let line = scores
            .lines()
            .find(|l| l.starts_with(&format!("{model},")) && l.split(',').nth(2) == Some(metric))
            .unwrap_or_else(|| panic!("no {model} {metric} in\n{scores}"));
        line.split(',').nth(3).unwrap().parse().unwrap()
    };
    // The random baseline sits near chance on the yes/no tasks (50 %), over 800 items.
    let yes_no = ["SAD", "MAD", "MAS", "PPR"]
        .map(|t| value("random", t))
        .iter()
        .sum::<f64>()
        / 4.0;
    assert!(
        (40.0..60.0).contains(&yes_no),
        "random yes/no accuracy {yes_no}"
    );
    let final_score = value("random", "FINAL");
    assert!((0.0..100.0).contains(&final_score), "{final_score}");
    assert!(
        std::fs::read_to_string(dir.join("report.md"))
            .unwrap()
            .contains("Final score")
    );

    // One video gone: its 12 items have no answer of this run, so the predictions are incomplete.
    let gone = videos.join(format!("{}.mp4", names[0]));
    let target = std::fs::read_link(&gone).unwrap();
    std::fs::remove_file(&gone).unwrap();
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let sub = dir.join("submission");
    assert!(sub.join("prediction-random.incomplete.json").exists());
    assert!(
        !sub.join("prediction-random.json").exists(),
        "no file is presented as complete"
    );
    let errors: Vec<Value> = crate::support::jsonl(&sub.join("errors.jsonl"));
    let of_random: Vec<&Value> = errors.iter().filter(|e| e["model"] == "random").collect();
    assert_eq!(of_random.len(), 12, "{errors:?}");
    assert!(
        of_random
            .iter()
            .all(|e| e["video"] == names[0].as_str() && !e["cause"].as_str().unwrap().is_empty())
    );
    let sinks = &run_json(&dir)["sinks"];
    assert!(
        sinks.to_string().contains("incomplete"),
        "run.json says so: {sinks}"
    );
    assert!(
        std::fs::read_to_string(dir.join("report.md"))
            .unwrap()
            .contains("prediction-random.incomplete.json")
    );

    // The video back: the rerun completes the predictions, answering nothing again but its clip.
    std::os::unix::fs::symlink(&target, &gone).unwrap();
    let out = maflow(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(sub.join("prediction-random.json").exists());
    assert!(!sub.join("prediction-random.incomplete.json").exists());
    assert_eq!(
        std::fs::read_to_string(sub.join("errors.jsonl")).unwrap(),
        ""
    );
    let p = prediction(&sub, "prediction-random.json");
    assert_eq!(p["answers"].as_array().unwrap().len(), 1200);
}
