//! Resume after `kill -9`: a run killed at several points and then run again
//! to the end leaves outputs byte-identical to an uninterrupted run's, and
//! the final run reuses what the killed ones finished.
//!
//! The spec is the benchmark check on rendered clips (truth descriptors
//! through every language stage to the report), so the kills land among
//! record jobs, store commits and sink writes.

use std::time::Instant;

use crate::support::{
    Scratch, maflow, maflow_command, qa_check_args as args, read_tree, run_json, text,
};

#[test]
fn a_run_killed_at_several_points_resumes_to_the_same_bytes() {
    let data = Scratch::new();
    let clips = data.path("clips");
    let out = maflow(&[
        "synth",
        "--out",
        clips.to_str().unwrap(),
        "--per-action",
        "40",
        "--scale",
        "0.5",
        "--no-video",
    ]);
    assert!(out.status.success(), "synth: {}", text(&out.stderr));

    let reference = Scratch::new();
    let started = Instant::now();
    let run = maflow(&args(&reference, &clips));
    let full = started.elapsed();
    assert!(run.status.success(), "{}", text(&run.stderr));
    let expected = read_tree(&reference.out("qa-check"));
    assert!(expected.len() >= 10, "{:?}", expected.keys());

    // Each run is killed after 5–30 % of the uninterrupted run's duration
    // (seeded, so a failure replays), so together they stop short of the end.
    let resumed = Scratch::new();
    let mut state = 0x5EED_u64;
    let mut fraction = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        0.05 + 0.25 * ((state >> 33) as f64 / (1u64 << 31) as f64)
    };
    let mut interrupted = 0;
    for _ in 0..3 {
        let delay = full.mul_f64(fraction());
        let mut child = maflow_command()
            .args(args(&resumed, &clips))
            .spawn()
            .expect("run starts");
        std::thread::sleep(delay);
        interrupted += usize::from(child.try_wait().unwrap().is_none());
        // SIGKILL on Unix: no handler runs, nothing is flushed.
        let _ = child.kill();
        child.wait().unwrap();
    }
    assert!(
        interrupted >= 2,
        "only {interrupted} of 3 kills caught a run still going (the uninterrupted one took {full:?})"
    );
    let finish = maflow(&args(&resumed, &clips));
    assert!(finish.status.success(), "{}", text(&finish.stderr));
    let got = read_tree(&resumed.out("qa-check"));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "stray or missing files after resuming"
    );
    for (path, bytes) in &expected {
        assert!(
            got[path] == *bytes,
            "{} differs after resuming",
            path.display()
        );
    }
    // The killed runs' finished work was kept: the final run computed less than all of it.
    let cache = &run_json(&resumed.out("qa-check"))["cache"];
    assert!(
        cache["hits"].as_u64().unwrap() > 0,
        "nothing was reused: {cache}"
    );
}
