//! `maflow store gc` killed at any moment: the store opens, a run of the
//! kept spec reproduces its outputs byte for byte and computes nothing, and
//! a run of the spec it did not keep computes exactly what gc removed.
//!
//! Two variants of the benchmark check on rendered clips share one store;
//! gc keeps the first. The second rounds descriptors otherwise, so all it
//! owns (descriptor blobs and every record after them) must go. gc is ended
//! as `kill -9` would end it right after chosen durable steps (one entry per
//! transaction: `MAFLOW_GC_BATCH=1`, `MAFLOW_GC_CRASH_AFTER=N`), among the
//! entry removals and among the blob deletions, then killed for real at a
//! moment of the test's choosing, then run to the end.

use std::time::Duration;

use crate::support::{
    Scratch, maflow, maflow_command, number_after, qa_check_args, read_tree, run_json, text,
};

/// `maflow store <action> <the qa-check spec as `kept` runs it>`.
fn store_args(action: &[&str], kept: &Scratch, clips: &std::path::Path) -> Vec<String> {
    let mut args: Vec<String> = vec!["store".into()];
    args.extend(action.iter().map(|s| s.to_string()));
    // The run's own arguments after `run`, less `-q`: the spec and its overrides.
    args.extend(
        qa_check_args(kept, clips)
            .into_iter()
            .skip(1)
            .filter(|a| a != "-q"),
    );
    args
}

/// Operators and how many outputs each computed.
fn computed(summary: &serde_json::Value) -> Vec<(String, u64)> {
    summary["operators"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(node, stats)| (node.clone(), stats["computed"].as_u64().unwrap_or(0)))
        .collect()
}

#[test]
fn gc_killed_at_any_moment_keeps_the_kept_spec_whole() {
    let data = Scratch::new();
    let clips = data.path("clips");
    let out = maflow(&[
        "synth",
        "--out",
        clips.to_str().unwrap(),
        "--per-action",
        "10",
        "--scale",
        "0.5",
        "--no-video",
    ]);
    assert!(out.status.success(), "synth: {}", text(&out.stderr));

    let kept = Scratch::new();
    let run = maflow(&qa_check_args(&kept, &clips));
    assert!(run.status.success(), "{}", text(&run.stderr));
    let expected = read_tree(&kept.out("qa-check"));
    let variant_args = |scratch: &Scratch| {
        let mut args = qa_check_args(scratch, &clips);
        args.extend([
            "--set".into(),
            format!("defaults.store={}", kept.path("store").display()),
            "--set".into(),
            "descriptors.params.descriptor.vector_decimals=1".into(),
        ]);
        args
    };
    let variant = Scratch::new();
    let run = maflow(&variant_args(&variant));
    assert!(run.status.success(), "{}", text(&run.stderr));
    let variant_computed = computed(&run_json(&variant.out("qa-check")));

    // (entries, blob files, the whole du) as `maflow store du` reports them.
    let du = |when: &str| {
        let out = maflow(&store_args(&["du"], &kept, &clips));
        assert!(out.status.success(), "du {when}: {}", text(&out.stderr));
        let du = text(&out.stdout);
        let at = du.find(" blob files").unwrap();
        let blobs = du[..at].rsplit(' ').next().unwrap().parse::<u64>().unwrap();
        (number_after(&du, ": "), blobs, du)
    };
    let dry = maflow(&store_args(&["gc", "--dry-run"], &kept, &clips));
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let dry = text(&dry.stdout);
    for kind in ["descriptor-files@", "facts@", "qa@", "respond@", "judge@"] {
        assert!(dry.contains(kind), "{kind}: {dry}");
    }
    let removable = number_after(&dry, "would remove ");
    let (entries, blobs_before, first) = du("before gc");
    assert!(removable > 500 && removable < entries, "{dry}\n{first}");

    // Ended right after its 1st durable step, then its 300th, then past its last entry among the blob files.
    let crash = |after: u64| {
        let status = maflow_command()
            .env("MAFLOW_GC_BATCH", "1")
            .env("MAFLOW_GC_CRASH_AFTER", after.to_string())
            .args(store_args(&["gc"], &kept, &clips))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "gc was to end after step {after}");
    };
    crash(1);
    assert_eq!(du("after step 1").0, entries - 1);
    crash(300);
    assert_eq!(du("after step 300").0, entries - 301);
    crash(removable - 301 + 5);
    let (now, blobs_now, among_blobs) = du("among the blob deletions");
    assert_eq!(now, entries - removable, "every entry not reached is gone");
    assert!(blobs_now < blobs_before, "{among_blobs}");
    assert!(
        !among_blobs.contains("(0 referenced by no entry"),
        "the variant's blobs are not all deleted yet: {among_blobs}"
    );

    // A real kill at some moment, then gc to the end.
    let mut child = maflow_command()
        .env("MAFLOW_GC_BATCH", "1")
        .args(store_args(&["gc"], &kept, &clips))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let _ = child.kill();
    child.wait().unwrap();
    let finish = maflow(&store_args(&["gc"], &kept, &clips));
    assert!(finish.status.success(), "{}", text(&finish.stderr));
    let (last, _, end) = du("after gc");
    assert_eq!(last, entries - removable);
    assert!(end.contains("(0 referenced by no entry"), "{end}");

    // The kept spec computes nothing and writes the same bytes; the variant computes exactly what it did at first.
    let rerun = maflow(&qa_check_args(&kept, &clips));
    assert!(rerun.status.success(), "{}", text(&rerun.stderr));
    let summary = run_json(&kept.out("qa-check"));
    assert_eq!(summary["cache"]["misses"], 0, "{:#}", summary["cache"]);
    assert!(
        read_tree(&kept.out("qa-check")) == expected,
        "the kept spec's outputs changed"
    );
    let again = Scratch::new();
    let run = maflow(&variant_args(&again));
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(
        computed(&run_json(&again.out("qa-check"))),
        variant_computed
    );
    assert!(
        read_tree(&again.out("qa-check")) == read_tree(&variant.out("qa-check")),
        "the variant, computed again, differs"
    );
}
