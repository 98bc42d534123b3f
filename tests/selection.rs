//! The benchmark's clips as `pipelines/ma-bench.yaml` declares them, drawn
//! from a copy of MA-52's layout (the real train and val lists, every clip a
//! link to one sample video): MA-Bench's shape, participant-disjoint, the
//! same on a rerun and when unrelated clips are added, and shown by `plan`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::support::{Scratch, maflow, text};

/// MA-Bench's body-level shares, in the taxonomy's order.
const PAPER: [(&str, f64); 7] = [
    ("Body", 0.102),
    ("Head", 0.196),
    ("Upper limb", 0.321),
    ("Lower limb", 0.206),
    ("Body-hand", 0.041),
    ("Head-hand", 0.081),
    ("Leg-hand", 0.053),
];

/// MA-52's layout at `dir`: the real lists and label names, each listed clip a link to a sample video.
fn layout(dir: &Path) {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ma52");
    let sample =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ma52/videos/0030_01_0002.mp4");
    std::fs::create_dir_all(dir.join("videos")).unwrap();
    for list in [
        "train_list_videos.txt",
        "val_list_videos.txt",
        "label_name.txt",
    ] {
        std::fs::copy(real.join(list), dir.join(list)).unwrap();
    }
    for list in ["train_list_videos.txt", "val_list_videos.txt"] {
        for line in std::fs::read_to_string(dir.join(list)).unwrap().lines() {
            let name = line.split_whitespace().next().unwrap();
            std::os::unix::fs::symlink(&sample, dir.join("videos").join(name)).unwrap();
        }
    }
}

/// `pipelines/ma-bench.yaml`'s source, as declared there, listed to `clips-list.jsonl`.
fn spec() -> String {
    let bench = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/ma-bench.yaml"),
    )
    .unwrap();
    let start = bench.find("\nsources:\n").unwrap();
    let end = bench.find("\noperators:\n").unwrap();
    format!(
        "name: drawn\n{}\nsinks:\n  - {{id: clips-list, kind: jsonl, inputs: [clips]}}\n",
        &bench[start..end]
    )
}

/// Clip id → (split, participant) of a run.
fn drawn(s: &Scratch, data: &Path) -> BTreeMap<String, (String, String)> {
    let mut args = vec![
        "run".into(),
        s.path("spec.yaml").display().to_string(),
        "-q".into(),
        "--set".into(),
    ];
    args.push(format!("sources.clips.path={}", data.display()));
    args.extend(s.redirect());
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    std::fs::read_to_string(s.out("drawn").join("clips-list.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["clip"].as_str().unwrap().to_string(),
                (
                    v["split"].as_str().unwrap().to_string(),
                    v["participant"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

#[test]
fn ma_bench_draws_the_papers_shape_participant_disjoint_and_stable() {
    let s = Scratch::new();
    let data = s.path("ma52");
    layout(&data);
    std::fs::write(s.path("spec.yaml"), spec()).unwrap();
    let first = drawn(&s, &data);

    let eval: Vec<&String> = first
        .iter()
        .filter(|(_, (split, _))| split == "eval")
        .map(|(c, _)| c)
        .collect();
    assert_eq!(eval.len(), 1000);
    let people = |split: &str| -> BTreeSet<&String> {
        first
            .values()
            .filter(|(s, _)| s == split)
            .map(|(_, p)| p)
            .collect()
    };
    let (held, trained) = (people("eval"), people("train"));
    assert!(
        held.is_disjoint(&trained),
        "a participant on both sides: {:?}",
        held.intersection(&trained).collect::<Vec<_>>()
    );
    assert!(
        trained.len() >= 160 && first.len() - 1000 > 14_000,
        "{} training participants",
        trained.len()
    );

    // The shares, per level, from run.json's statement of the draw.
    let run: Value =
        serde_json::from_slice(&std::fs::read(s.out("drawn").join("run.json")).unwrap()).unwrap();
    let selection = &run["sources"]["clips"]["selection"];
    for (level, share) in PAPER {
        let got = selection["per_level"][level].as_f64().unwrap();
        assert!(
            (got - 1000.0 * share).abs() <= 1.0,
            "{level}: {got} clips for a share of {share}"
        );
    }
    assert_eq!(selection["short"], serde_json::json!([]));

    // The same draw again, and with unrelated clips added: more clips of
    // training participants, and a participant who ranks outside the held-out ones.
    assert_eq!(drawn(&s, &data), first, "a rerun draws the same");
    let sample = data.join("videos/0003_01_0001.mp4");
    let mut list = std::fs::read_to_string(data.join("train_list_videos.txt")).unwrap();
    let trainee = trained.iter().next().unwrap().to_string();
    for (k, name) in [
        format!("{trainee}_09_0001.mp4"),
        format!("{trainee}_09_0002.mp4"),
        "0999_01_0001.mp4".into(),
        "0999_01_0002.mp4".into(),
    ]
    .iter()
    .enumerate()
    {
        std::fs::copy(&sample, data.join("videos").join(name)).unwrap();
        list.push_str(&format!("{name} {}\n", [9, 23, 2, 40][k]));
    }
    std::fs::write(data.join("train_list_videos.txt"), list).unwrap();
    let grown = drawn(&s, &data);
    let evals = |d: &BTreeMap<String, (String, String)>| -> Vec<String> {
        d.iter()
            .filter(|(_, (s, _))| s == "eval")
            .map(|(c, _)| c.clone())
            .collect()
    };
    assert_eq!(
        evals(&grown),
        evals(&first),
        "the evaluation draw does not move"
    );
    assert_eq!(grown.len(), first.len() + 4, "the new clips train");

    // `plan` shows the draw before anything runs.
    let mut args = vec![
        "plan".into(),
        s.path("spec.yaml").display().to_string(),
        "--set".into(),
    ];
    args.push(format!("sources.clips.path={}", data.display()));
    args.extend(s.redirect());
    let plan = maflow(&args);
    let shown = text(&plan.stdout);
    assert!(
        shown.contains("## Selection") && shown.contains("| Upper limb | 321 | 321 | 32.1% |"),
        "{shown}"
    );
}

/// `plan` with `select` set to `select` on the MA-52 layout: exit code and output.
fn plan_select(s: &Scratch, data: &Path, select: &str) -> (Option<i32>, String) {
    let mut args = vec![
        "plan".to_string(),
        s.path("spec.yaml").display().to_string(),
    ];
    for set in [
        format!("sources.clips.path={}", data.display()),
        format!("sources.clips.params.select={select}"),
    ] {
        args.extend(["--set".to_string(), set]);
    }
    args.extend(s.redirect());
    let out = maflow(&args);
    (out.status.code(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn a_select_names_actions_and_levels_as_people_write_them() {
    let s = Scratch::new();
    let data = s.path("ma52");
    layout(&data);
    std::fs::write(s.path("spec.yaml"), spec()).unwrap();
    // Shares by action name (unquoted and quoted) draw by action.
    let (code, plan) = plan_select(
        &s,
        &data,
        r#"{seed: 0, hold_out: 24, count: 40, shares: {nodding: 1, "shaking head": 1}}"#,
    );
    assert_eq!(code, Some(0), "{plan}");
    for action in ["nodding", "shaking head"] {
        assert!(
            plan.contains(&format!("| {action} | 20 |")),
            "{action}:\n{plan}"
        );
    }
    // Only the head level; participants by number.
    let (code, plan) = plan_select(
        &s,
        &data,
        "{seed: 0, hold_out: [3, 44, 52], count: 30, levels: [Head]}",
    );
    assert_eq!(code, Some(0), "{plan}");
    assert!(
        plan.contains("| Head | 30 |") && !plan.contains("| Upper limb |"),
        "{plan}"
    );
    assert!(plan.contains("3 held-out participants"), "{plan}");
    // Ids as numbers or strings mean the same action.
    let by_id = plan_select(
        &s,
        &data,
        r#"{seed: 0, hold_out: 24, count: 40, shares: {9: 1, "10": 1}}"#,
    );
    assert_eq!(by_id.0, Some(0));
    assert!(
        by_id.1.contains("| nodding | 20 |") && by_id.1.contains("| shaking head | 20 |"),
        "{}",
        by_id.1
    );
    // A wrong name is an error at the name, listing the valid ones.
    let (code, err) = plan_select(
        &s,
        &data,
        "{seed: 0, hold_out: 24, shares: {Head: 1, nodding: 1}, by: level}",
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("`nodding` is an action, but the draw is `by: level`")
            && err.contains("--> --set:1:"),
        "{err}"
    );
    let column = |err: &str| {
        err.lines()
            .find_map(|l| l.trim().strip_prefix("--> --set:1:"))
            .map(String::from)
    };
    let set = "sources.clips.params.select={seed: 0, hold_out: 24, shares: {Head: 1, nodding: 1}, by: level}"
        .to_string();
    assert_eq!(
        column(&err).unwrap().parse::<usize>().unwrap(),
        set.find("nodding").unwrap() + 1,
        "{err}"
    );
    let (code, err) = plan_select(&s, &data, "{seed: 0, hold_out: 24, levels: [Hed]}");
    assert_eq!(code, Some(1));
    assert!(err.contains("`Hed` is not a body level (did you mean `Head`?); the levels are Body, Head, Upper limb"), "{err}");
}
