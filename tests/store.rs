//! The content-addressed store against a simple model, and under SIGKILL.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use maflow_engine::data::{Blob, Output};
use maflow_engine::store::{Key, Store};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Put(Vec<(u8, u32, bool)>),
    Get(u8),
    Reopen,
}

fn key(n: u8) -> Key {
    *blake3::hash(&[n]).as_bytes()
}

fn output(value: u32, with_blob: bool) -> Output {
    Output {
        record: serde_json::json!({ "v": value }),
        blobs: if with_blob {
            vec![Blob {
                ext: "bin".into(),
                bytes: value.to_le_bytes().repeat(3),
            }]
        } else {
            vec![]
        },
        pictures: None,
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop::collection::vec((0u8..12, any::<u32>(), any::<bool>()), 1..4).prop_map(Op::Put),
        4 => (0u8..12).prop_map(Op::Get),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn store_behaves_like_a_map(ops in prop::collection::vec(op(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut model: HashMap<u8, (u32, bool)> = HashMap::new();
        for op in ops {
            match op {
                Op::Put(items) => {
                    let outs: Vec<(Key, Output)> = items.iter().map(|&(k, v, b)| (key(k), output(v, b))).collect();
                    let refs: Vec<_> = outs.iter().map(|(k, o)| (*k, "test@1".to_string(), o)).collect();
                    store.put_many(&refs).unwrap();
                    for (k, v, b) in items {
                        model.insert(k, (v, b));
                    }
                }
                Op::Get(k) => {
                    let got = store.get(&key(k)).unwrap();
                    match model.get(&k) {
                        None => prop_assert!(got.is_none()),
                        Some(&(v, b)) => {
                            let got = got.expect("stored entry present");
                            prop_assert_eq!(&got.record, &output(v, b).record);
                            prop_assert_eq!(got.blobs.len(), usize::from(b));
                            if b {
                                prop_assert_eq!(store.read_blob(&got.blobs[0]).unwrap(), v.to_le_bytes().repeat(3));
                            }
                        }
                    }
                }
                Op::Reopen => {
                    drop(store);
                    store = Store::open(dir.path()).unwrap();
                }
            }
        }
        prop_assert_eq!(store.len().unwrap(), model.len() as u64);
    }
}

const CHILD_ENV: &str = "MAFLOW_STORE_WRITER_CHILD";

fn child_value(i: u64) -> Output {
    let pad = "x".repeat((i % 97) as usize * 50);
    Output {
        record: serde_json::json!({ "i": i, "pad": pad }),
        blobs: vec![Blob {
            ext: "bin".into(),
            bytes: blake3::hash(&i.to_le_bytes())
                .as_bytes()
                .repeat(1 + (i % 64) as usize),
        }],
        pictures: None,
    }
}

fn child_key(i: u64) -> Key {
    *blake3::hash(format!("entry-{i}").as_bytes()).as_bytes()
}

/// In the child role (env set) writes entries forever; as the test, kills such a writer
/// with SIGKILL at several points and checks the store it leaves.
#[test]
fn a_writer_killed_mid_run_leaves_every_committed_entry_and_no_partial_one() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        let store = Store::open(std::path::Path::new(&path)).unwrap();
        for i in 0.. {
            // Batches of three, as the coordinator commits a stage's outputs together.
            let outs: Vec<(Key, Output)> = (0..3)
                .map(|j| (child_key(i * 3 + j), child_value(i * 3 + j)))
                .collect();
            let refs: Vec<_> = outs
                .iter()
                .map(|(k, o)| (*k, "test@1".to_string(), o))
                .collect();
            store.put_many(&refs).unwrap();
            println!("committed {}", i * 3 + 2);
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut committed = 0u64;
    for kill_after in [5u64, 40, 17] {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "store::a_writer_killed_mid_run_leaves_every_committed_entry_and_no_partial_one",
                "--exact",
                "--nocapture",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        for line in lines {
            if let Some(n) = line.unwrap().strip_prefix("committed ") {
                committed = committed.max(n.parse().unwrap());
                seen += 1;
                if seen == kill_after {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL on unix
        child.wait().unwrap();

        let store = Store::open(dir.path()).expect("the store reopens after SIGKILL");
        for i in 0..=committed + 30 {
            match store.get(&child_key(i)).unwrap() {
                Some(stored) => {
                    let expected = child_value(i);
                    assert_eq!(stored.record, expected.record, "entry {i} differs");
                    assert_eq!(
                        store.read_blob(&stored.blobs[0]).unwrap(),
                        expected.blobs[0].bytes,
                        "blob {i}"
                    );
                }
                None => assert!(
                    i > committed,
                    "committed entry {i} lost (committed up to {committed})"
                ),
            }
        }
    }
    assert!(
        committed + 1 >= 40 * 3,
        "the writer made too little progress to test anything: {committed}"
    );
}
