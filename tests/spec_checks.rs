//! What `validate` calls ok runs: record inputs are typed, the README's own
//! spec snippets validate, and an unset secret is refused before anything runs.

use std::path::Path;

use crate::support::{Scratch, maflow, text};

/// The demo spec with `old` replaced by `new` once, written under `dir`.
fn demo_with(dir: &Path, old: &str, new: &str) -> std::path::PathBuf {
    let demo = std::fs::read_to_string("pipelines/demo.yaml").unwrap();
    assert_eq!(
        demo.matches(old).count(),
        1,
        "`{old}` is not once in demo.yaml"
    );
    let path = dir.join("variant.yaml");
    std::fs::write(&path, demo.replacen(old, new, 1)).unwrap();
    path
}

#[test]
fn record_inputs_in_the_wrong_order_are_refused_with_their_position_and_the_right_order() {
    let dir = tempfile::tempdir().unwrap();
    for (old, new, expected, fix) in [
        (
            "kind: caption\n    inputs: [descriptors, facts]",
            "kind: caption\n    inputs: [facts, descriptors]",
            "`caption` takes (descriptor, facts) in that order",
            "write `inputs: [descriptors, facts]`",
        ),
        (
            "id: random\n    kind: respond\n    inputs: [qa, descriptors, facts]",
            "id: random\n    kind: respond\n    inputs: [descriptors, qa, facts]",
            "`respond` takes (qa, descriptor, facts) in that order",
            "write `inputs: [qa, descriptors, facts]`",
        ),
        (
            "inputs: [qa, random]",
            "inputs: [qa, descriptions]",
            "input `responses` of `judged-random` expects a model's replies to a clip's items, but `descriptions` (describe) produces a clip's description",
            "connect it to a `respond` node",
        ),
    ] {
        let spec = demo_with(dir.path(), old, new);
        let variant = std::fs::read_to_string(&spec).unwrap();
        let at = variant.find(new).unwrap() + new.find("inputs:").unwrap();
        let line = variant[..at].matches('\n').count() + 1;
        let out = maflow(&["validate".as_ref(), spec.as_os_str()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{new}: {err}");
        assert!(
            err.contains(&format!("variant.yaml:{line}:")),
            "{new}: no position on line {line}:\n{err}"
        );
        assert!(err.contains(expected) && err.contains(fix), "{new}:\n{err}");
    }
}

/// The README's YAML blocks: a whole spec validates as it is; a list of nodes
/// validates pasted into the demo in place of the nodes with the same ids.
#[test]
fn every_yaml_block_in_the_readme_validates() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let demo = std::fs::read_to_string("pipelines/demo.yaml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let blocks: Vec<&str> = readme
        .split("```yaml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 2, "the README's YAML blocks were not found");
    for (n, block) in blocks.iter().enumerate() {
        let spec = if block.lines().any(|l| l.starts_with("name:")) {
            block.to_string()
        } else {
            paste_nodes(&demo, block)
        };
        let path = dir.path().join(format!("readme-{n}.yaml"));
        std::fs::write(&path, &spec).unwrap();
        let out = maflow(&["validate".as_ref(), path.as_os_str()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "README block {n}:\n{block}\n{}",
            text(&out.stderr)
        );
    }
}

/// `spec` with each `  - id: X` node of `nodes` in place of its node `X`.
fn paste_nodes(spec: &str, nodes: &str) -> String {
    let mut out = spec.to_string();
    for node in nodes.split("\n  - ").map(|n| n.trim_start_matches("  - ")) {
        let id = node
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("id: "))
            .expect("a README node starts with its id");
        let start = out
            .find(&format!("  - id: {id}\n"))
            .unwrap_or_else(|| panic!("the demo has no node `{id}`"));
        let end = out[start + 4..]
            .find("\n  - ")
            .map_or(out.len(), |e| start + 4 + e + 1);
        out.replace_range(start..end, &format!("  - {}\n", node.trim_end()));
    }
    out
}

#[test]
fn an_unset_secret_is_a_warning_for_validate_and_refused_by_plan_and_run_before_anything_runs() {
    let scratch = Scratch::new();
    let endpoint = r#"captions.params.llm={base_url: "http://127.0.0.1:9/v1", model: m, api_key: "${env:MAFLOW_TEST_NEVER_SET}"}"#;
    let mut args: Vec<String> = [
        "pipelines/demo.yaml",
        "--set",
        "captions.params.backend=llm",
        "--set",
        endpoint,
    ]
    .map(String::from)
    .to_vec();
    args.extend(scratch.redirect());
    let validate = maflow(&[&["validate".to_string()][..], &args].concat());
    let err = text(&validate.stderr);
    assert_eq!(validate.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: captions: environment variable `MAFLOW_TEST_NEVER_SET` is not set"),
        "{err}"
    );
    assert!(err.contains("--> --set:1:"), "{err}");
    for command in ["plan", "run"] {
        let out = maflow(&[&[command.to_string()][..], &args].concat());
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {err}");
        assert!(
            err.contains(
                "error: captions: environment variable `MAFLOW_TEST_NEVER_SET` is not set"
            ),
            "{command}: {err}"
        );
        assert!(
            !scratch.path("out").exists() && !scratch.path("store").exists(),
            "{command} wrote files"
        );
    }
}

#[test]
fn a_param_the_chosen_backend_never_reads_is_refused_where_it_is_written() {
    let out = maflow(&[
        "validate",
        "pipelines/demo.yaml",
        "--set",
        "captions.params.prompt=pipelines/prompts/caption.md",
        "--set",
        "majority.params.seed=3",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for (message, help) in [
        (
            "captions (`caption` params): `prompt` has no effect with `backend: rules`",
            "use `backend: llm`, which reads it",
        ),
        (
            "majority (`respond` params): `seed` has no effect with `backend: majority`",
            "use `backend: random`, which reads it",
        ),
    ] {
        assert!(
            err.contains(message) && err.contains(help),
            "{message}:\n{err}"
        );
    }
    assert!(
        err.contains("--> --set:1:24") && err.contains("--> --set:1:22"),
        "{err}"
    );
}
