//! Rendered clips with known truth (`maflow synth`) through flow → align →
//! descriptor: vector error against the true motion of each visible part,
//! the dominant part of every action, and identical results on 1 and 2 workers.

use std::path::Path;

use serde_json::Value;

use crate::support::{Scratch, maflow, read_tree, text};

fn read(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run_check(scratch: &Scratch, clips: &Path, workers: &str) {
    let mut args: Vec<String> = vec![
        "run".into(),
        "pipelines/synth-check.yaml".into(),
        "-q".into(),
        "-w".into(),
        workers.into(),
    ];
    args.extend(scratch.redirect());
    args.extend([
        "--set".into(),
        format!("sources.clips.path={}", clips.display()),
    ]);
    args.extend([
        "--set".into(),
        format!("skeleton.params.path={}", clips.join("skeletons").display()),
    ]);
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn rendered_actions_are_measured_within_a_fraction_of_a_pixel() {
    let scratch = Scratch::new();
    let clips = scratch.path("clips");
    let out = maflow(&[
        "synth".to_string(),
        "--out".into(),
        clips.display().to_string(),
        "--scale".into(),
        "0.5".into(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listed = std::fs::read_to_string(clips.join("train_list_videos.txt")).unwrap();
    assert_eq!(listed.lines().count(), 9, "{listed}");

    run_check(&scratch, &clips, "2");
    let descriptors = scratch.out("synth-check").join("descriptors");
    let (mut all, mut moving) = (Vec::new(), Vec::new());
    for line in listed.lines() {
        let id = line.split(".mp4").next().unwrap();
        let truth = read(&clips.join(format!("truth/{id}.json")));
        let ours = read(&descriptors.join(format!("{id}.json")));
        let action = truth["performance"]["action"].as_str().unwrap().to_string();
        let mut clip_moving = Vec::new();
        for (part, track) in truth["parts"].as_object().unwrap() {
            assert_eq!(
                ours[part].as_array().unwrap().len(),
                track.as_array().unwrap().len(),
                "{id} {part}: frames"
            );
            for (t, gt) in track.as_array().unwrap().iter().enumerate().skip(1) {
                let Some(gt) = gt.as_array() else { continue }; // hidden part
                let (gx, gy) = (gt[0].as_f64().unwrap(), gt[1].as_f64().unwrap());
                let v = &ours[part][t]["vector"];
                let error = (v[0].as_f64().unwrap() - gx).hypot(v[1].as_f64().unwrap() - gy);
                all.push(error);
                if gx.hypot(gy) >= 0.1 {
                    clip_moving.push(error);
                }
            }
        }
        // Large, fast forearm swings (touching the neck, crossing arms) are the hardest case.
        let m = median(clip_moving.clone());
        assert!(
            m < 0.6,
            "{action}: median error on moving parts {m:.3} px/frame"
        );
        moving.extend(clip_moving);
        // The part that moves most is found, for every action.
        let summary = read(&descriptors.join(format!("{id}.meta.json")));
        let top = summary["summary"]["by_energy"][0].as_str().unwrap();
        let dominant: Vec<&str> = truth["dominant"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert!(
            dominant.contains(&top),
            "{action}: we find {top}, truth {dominant:?}"
        );
    }
    let (all, moving) = (median(all), median(moving));
    assert!(
        all <= 0.15,
        "median error over visible parts and frames: {all:.3} px/frame"
    );
    assert!(
        moving <= 0.15,
        "median error over moving parts: {moving:.3} px/frame"
    );

    let single = Scratch::new();
    run_check(&single, &clips, "1");
    let (two, one) = (
        read_tree(&descriptors),
        read_tree(&single.out("synth-check").join("descriptors")),
    );
    assert!(two == one, "descriptors differ between 1 and 2 workers");
}
