//! A spec with many different mistakes: all reported with line and column, nothing runs.

use crate::support::{Scratch, maflow, text};

#[test]
fn every_mistake_is_reported_with_its_position_and_nothing_runs() {
    let scratch = Scratch::new();
    let mut args: Vec<String> = vec!["run".into(), "tests/specs/five_mistakes.yaml".into()];
    args.extend(scratch.redirect());
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    for (place, what) in [
        ("five_mistakes.yaml:7:23", "unknown value `vall`"),
        ("five_mistakes.yaml:10:11", "unknown operator kind `decod`"),
        (
            "five_mistakes.yaml:14:14",
            "input `clip` of `frames` doesn't match any node",
        ),
        ("five_mistakes.yaml:17:7", "unknown field `widht`"),
        ("five_mistakes.yaml:21:14", "port type mismatch"),
        ("five_mistakes.yaml:25:9", "cyclic dependency [b -> a -> b]"),
    ] {
        let at = err
            .find(place)
            .unwrap_or_else(|| panic!("no diagnostic at {place}:\n{err}"));
        let before = &err[..at];
        let message_line = before
            .lines()
            .rev()
            .find(|l| l.starts_with("error:"))
            .unwrap();
        assert!(
            message_line.contains(what),
            "at {place} expected `{what}`, got `{message_line}`"
        );
    }
    for hint in [
        "did you mean `val`?",
        "did you mean `decode`?",
        "did you mean `clips`?",
        "did you mean `width`?",
    ] {
        assert!(err.contains(hint), "missing hint {hint}:\n{err}");
    }
    assert!(err.contains("8 errors in spec"), "{err}");
    assert!(
        !scratch.path("out").exists() && !scratch.path("store").exists(),
        "a rejected spec wrote files"
    );
}

#[test]
fn bad_overrides_point_at_the_argument_and_good_specs_validate() {
    let out = maflow(&[
        "validate",
        "pipelines/demo.yaml",
        "--set",
        "decode.params.format=grey",
        "--set",
        "defaults.workers=0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("--> --set:1:22") && err.contains("did you mean `gray`?"),
        "{err}"
    );
    assert!(err.contains("`workers` must be at least 1"), "{err}");
    let out = maflow(&["validate", "pipelines/demo.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn yaml_syntax_errors_and_usage_errors_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("broken.yaml");
    std::fs::write(&spec, "name: x\nsources: [\n  - id: a\n").unwrap();
    let out = maflow(&["validate".as_ref(), spec.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("invalid YAML"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        maflow(&["run", "pipelines/demo.yaml", "--no-such-flag"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn an_alias_bomb_and_paths_out_of_the_output_folder_are_refused_before_anything_runs() {
    let scratch = crate::support::Scratch::new();
    let bomb = maflow(&["validate", "tests/specs/alias_bomb.yaml"]);
    assert_eq!(bomb.status.code(), Some(1));
    let stderr = text(&bomb.stderr);
    assert!(
        stderr.contains("invalid YAML") && stderr.contains("alias_bomb.yaml:"),
        "{stderr}"
    );

    let mut args: Vec<String> = vec!["run".into(), "tests/specs/escape_output.yaml".into()];
    args.extend(scratch.redirect());
    let escape = maflow(&args);
    assert_eq!(escape.status.code(), Some(1));
    let stderr = text(&escape.stderr);
    assert!(
        stderr.contains("escape_output.yaml:3:7") && stderr.contains("must be a plain name"),
        "{stderr}"
    );
    assert!(
        stderr.contains("escape_output.yaml:9:9") && stderr.contains("node id"),
        "{stderr}"
    );
    // Nothing ran, so nothing was written anywhere.
    assert!(!scratch.path("out").exists() && !scratch.path("escape").exists());
}
