//! Outputs must not depend on the number of workers or processes.
//!
//! The spec is the descriptor chain without neural models (skeleton files,
//! capsule masks, coarse flow), so three runs stay quick; the demo test
//! checks the model-based chain on 1 and 2 workers.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::support::{Scratch, maflow, maflow_command, read_tree, text};

const NAME: &str = "skeleton-files";

fn demo_args(scratch: &Scratch) -> Vec<String> {
    let mut args: Vec<String> = ["run", "pipelines/descriptors-from-skeleton-files.yaml", "-q"].map(String::from).to_vec();
    args.extend(["--set", "flow.params.preset=fast", "--set", "flow.params.scale=0.25"].map(String::from));
    args.extend(scratch.redirect());
    args
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
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
    let hostfile = cluster.path("hosts.txt");
    std::fs::write(&hostfile, format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port())).unwrap();
    let mut children: Vec<_> = (0..2)
        .rev()
        .map(|process| {
            let mut args = demo_args(&cluster);
            args.extend(
                ["--workers", "1", "--processes", "2", "--process", &process.to_string(), "--hostfile"]
                    .map(String::from),
            );
            args.push(hostfile.display().to_string());
            maflow_command()
                .args(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("cluster process starts")
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(240);
    for child in &mut children {
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "cluster process failed: {status}");
                break;
            }
            if Instant::now() > deadline {
                children.iter_mut().for_each(|c| drop(c.kill()));
                panic!("cluster run did not finish in time");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let run = crate::support::run_json(&cluster.out(NAME));
    assert_eq!(run["processes"], 2);
    assert!(read_tree(&cluster.out(NAME)) == reference, "2-process cluster differs from 1 worker");
}
