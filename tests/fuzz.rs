//! Fuzzing the spec parser and the file readers with proptest: mutated specs
//! and arbitrary bytes must give errors, never panics, hangs or huge
//! allocations. Failures proptest finds are kept in
//! `proptest-regressions/fuzz.txt` and replayed first; the cases found by
//! hand are pinned below.

use maflow_engine::graph::compile;
use maflow_engine::spec;
use maflow_kernels::flow::field::FlowField;
use maflow_operators::frame::skeleton::{SkeletonConfig, SkeletonFormat, read_clip};
use maflow_operators::registry;
use proptest::prelude::*;

const DEMO: &str = include_str!("../pipelines/demo.yaml");
const MA_BENCH: &str = include_str!("../pipelines/ma-bench.yaml");

/// Applies byte edits (replace, insert, delete) at positions chosen by `Index`.
fn mutate(text: &str, edits: &[(prop::sample::Index, u8, u8)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for (at, op, byte) in edits {
        let i = at.index(bytes.len().max(1));
        match op % 3 {
            0 if i < bytes.len() => bytes[i] = *byte,
            1 => bytes.insert(i.min(bytes.len()), *byte),
            _ if i < bytes.len() => {
                bytes.remove(i);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn check_spec(text: &str) {
    if let Ok(spec) = spec::parse("fuzz.yaml", text, &[]) {
        let _ = compile(spec, registry());
    }
}

fn skeleton_config(dir: &std::path::Path, format: SkeletonFormat) -> SkeletonConfig {
    serde_json::from_value(serde_json::json!({"path": dir, "format": format, "layout": "coco17"}))
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        failure_persistence: Some(Box::new(prop::test_runner::FileFailurePersistence::Direct("proptest-regressions/fuzz.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_specs_are_errors_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), prop::sample::select(b"-:[]{}&*!|>'\"#\n \tab0.$".to_vec())), 1..10),
        which in any::<bool>(),
    ) {
        check_spec(&mutate(if which { DEMO } else { MA_BENCH }, &edits));
    }

    #[test]
    fn arbitrary_flo_bytes_are_errors_never_panics(head in prop::collection::vec(any::<u8>(), 0..24), magic in any::<bool>()) {
        let mut bytes = head;
        if magic && bytes.len() >= 4 {
            bytes[..4].copy_from_slice(b"PIEH");
        }
        let _ = FlowField::read_flo(&bytes[..]);
    }

    #[test]
    fn arbitrary_skeleton_files_are_errors_never_panics(text in "[\\[\\]{}:,0-9.\\-\" a-z_\n]{0,200}", format in 0..3u8) {
        let dir = tempfile::tempdir().unwrap();
        let (format, name) = match format {
            0 => (SkeletonFormat::Coco, "c.json"),
            1 => (SkeletonFormat::Csv, "c.csv"),
            _ => (SkeletonFormat::Npy, "c.npy"),
        };
        std::fs::write(dir.path().join(name), &text).unwrap();
        let _ = read_clip(&skeleton_config(dir.path(), format), "c");
    }
}

#[test]
fn a_flo_header_claiming_a_huge_field_is_a_truncation_error_at_once() {
    let mut bytes = b"PIEH".to_vec();
    bytes.extend_from_slice(&32768i32.to_le_bytes());
    bytes.extend_from_slice(&32768i32.to_le_bytes());
    let err = FlowField::read_flo(&bytes[..]).unwrap_err().to_string();
    assert!(err.contains("truncated .flo: 32768x32768"), "{err}");
}

#[test]
fn an_npy_header_claiming_a_huge_array_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000, 17, 3), }";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let padded = format!("{header:<117}\n");
    bytes.extend_from_slice(&(padded.len() as u16).to_le_bytes());
    bytes.extend_from_slice(padded.as_bytes());
    std::fs::write(dir.path().join("c.npy"), &bytes).unwrap();
    let err = read_clip(&skeleton_config(dir.path(), SkeletonFormat::Npy), "c").unwrap_err();
    assert!(
        err.contains("c.npy: truncated data: 0 bytes for 5100000000 values"),
        "{err}"
    );
}
