//! Outputs must not depend on the number of workers or processes.
//!
//! The spec is the descriptor chain without neural models (skeleton files,
//! capsule masks, coarse flow), so three runs stay quick; the demo test
//! checks the whole recipe on 1 and 2 workers and a 2-process cluster.

use crate::support::{Scratch, maflow, read_tree, run_cluster, text};

const NAME: &str = "skeleton-files";

fn demo_args(scratch: &Scratch) -> Vec<String> {
    let mut args: Vec<String> = ["run", "pipelines/descriptors-from-skeleton-files.yaml", "-q"].map(String::from).to_vec();
    args.extend(["--set", "flow.params.preset=fast", "--set", "flow.params.scale=0.25"].map(String::from));
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
    assert!(read_tree(&two.out(NAME)) == reference, "2 workers differ from 1");

    let cluster = Scratch::new();
    let mut args = demo_args(&cluster);
    args.extend(["--workers".into(), "1".into()]);
    run_cluster(&cluster, &args);
    let run = crate::support::run_json(&cluster.out(NAME));
    assert_eq!(run["processes"], 2);
    assert!(read_tree(&cluster.out(NAME)) == reference, "2-process cluster differs from 1 worker");
}
