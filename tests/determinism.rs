//! Outputs must not depend on the number of workers or processes.
//!
//! The spec is the descriptor chain without neural models (skeleton files,
//! capsule masks, coarse flow), so three runs stay quick; the demo test
//! checks the whole recipe on 1 and 2 workers and a 2-process cluster.

use crate::support::{Scratch, maflow, read_tree, run_cluster, text};

const NAME: &str = "skeleton-files";

fn demo_args(scratch: &Scratch) -> Vec<String> {
    let mut args: Vec<String> = [
        "run",
        "pipelines/descriptors-from-skeleton-files.yaml",
        "-q",
    ]
    .map(String::from)
    .to_vec();
    args.extend(
        [
            "--set",
            "flow.params.preset=fast",
            "--set",
            "flow.params.scale=0.25",
        ]
        .map(String::from),
    );
    args.extend(scratch.redirect());
    args
}

#[test]
fn one_worker_two_workers_and_a_two_process_cluster_give_identical_outputs() {
    let one = Scratch::new();
    let mut args = demo_args(&one);
    args.extend(["--workers".into(), "1".into()]);
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let reference = read_tree(&one.out(NAME));
    assert!(reference.len() >= 5, "{:?}", reference.keys());

    let two = Scratch::new();
    let mut args = demo_args(&two);
    args.extend(["--workers".into(), "2".into()]);
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        read_tree(&two.out(NAME)) == reference,
        "2 workers differ from 1"
    );

    let cluster = Scratch::new();
    let mut args = demo_args(&cluster);
    args.extend(["--workers".into(), "1".into()]);
    run_cluster(&cluster, &args);
    let run = crate::support::run_json(&cluster.out(NAME));
    assert_eq!(run["processes"], 2);
    assert!(
        read_tree(&cluster.out(NAME)) == reference,
        "2-process cluster differs from 1 worker"
    );
}

/// More clips than one worker keeps in flight (2 jobs an epoch, 4 epochs):
/// the stage feed must not wait on the record input, which stays open until
/// the run ends. A hang here is a failure after 5 minutes, not a stuck CI.
#[test]
fn many_clips_on_one_worker_run_to_the_end() {
    let scratch = Scratch::new();
    let clips = scratch.path("clips");
    let out = maflow(&[
        "synth",
        "--out",
        clips.to_str().unwrap(),
        "--per-action",
        "2",
        "--scale",
        "0.2",
        "--seconds",
        "1",
    ]);
    assert!(out.status.success(), "synth: {}", text(&out.stderr));
    let mut args: Vec<String> = ["run", "pipelines/synth-check.yaml", "-q", "-w", "1"]
        .map(String::from)
        .to_vec();
    args.extend(scratch.redirect());
    args.extend([
        "--set".into(),
        format!("sources.clips.path={}", clips.display()),
    ]);
    args.extend([
        "--set".into(),
        format!("skeleton.path={}", clips.join("skeletons").display()),
    ]);
    let mut child = crate::support::maflow_command()
        .args(&args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("maflow starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("18 clips on one worker did not finish");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(status.success());
    let run = crate::support::run_json(&scratch.out("synth-check"));
    assert_eq!(run["operators"]["descriptors"]["computed"], 18);
}
