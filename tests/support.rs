//! Running the `maflow` binary in a scratch folder and reading its outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch folder with its own output folder and store.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `--set` arguments that send outputs and store into this folder.
    pub fn redirect(&self) -> Vec<String> {
        vec![
            "--set".into(),
            format!("defaults.out={}", self.path("out").display()),
            "--set".into(),
            format!("defaults.store={}", self.path("store").display()),
        ]
    }

    /// The output folder of a spec named `name`.
    pub fn out(&self, name: &str) -> PathBuf {
        self.path("out").join(name)
    }
}

pub fn maflow_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_maflow"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// Runs `maflow` with arguments; returns its output.
pub fn maflow<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    maflow_command().args(args).output().expect("maflow runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file under `dir` (relative path → bytes), except `run.json`, which
/// holds timings; `report.html` without its run details (date and timings).
pub fn read_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("readable output folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.file_name().is_some_and(|n| n != "run.json") {
                let mut bytes = std::fs::read(&path).unwrap();
                if path.file_name().is_some_and(|n| n == "report.html") {
                    bytes = without_run_details(&String::from_utf8(bytes).unwrap()).into_bytes();
                }
                out.insert(path.strip_prefix(root).unwrap().to_path_buf(), bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A report page without its run-details table.
fn without_run_details(html: &str) -> String {
    match html.find("<table class=\"run\">") {
        Some(start) => {
            let end =
                start + html[start..].find("</table>").expect("the table ends") + "</table>".len();
            format!("{}{}", &html[..start], &html[end..])
        }
        None => html.to_string(),
    }
}

/// `maflow run pipelines/qa-check.yaml` on `clips` (made by `maflow synth --no-video`), into `scratch`.
pub fn qa_check_args(scratch: &Scratch, clips: &Path) -> Vec<String> {
    let mut args: Vec<String> = vec!["run".into(), "pipelines/qa-check.yaml".into(), "-q".into()];
    args.extend(scratch.redirect());
    args.extend([
        "--set".into(),
        format!("sources.clips.path={}", clips.display()),
        "--set".into(),
        format!("descriptors.path={}", clips.join("descriptors").display()),
    ]);
    args
}

/// The number right after `before` in `text` (a command's output).
pub fn number_after(text: &str, before: &str) -> u64 {
    let at = text
        .find(before)
        .unwrap_or_else(|| panic!("no `{before}` in {text}"))
        + before.len();
    text[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

pub fn run_json(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("run.json")).expect("run.json written"))
        .expect("run.json is JSON")
}

pub fn jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `maflow` with `args` as a two-process cluster on localhost (hostfile
/// in `scratch`) and waits for both processes to succeed, within 4 minutes.
pub fn run_cluster(scratch: &Scratch, args: &[String]) {
    use std::time::{Duration, Instant};
    let hostfile = scratch.path("hosts.txt");
    std::fs::write(
        &hostfile,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .unwrap();
    let mut children: Vec<_> = (0..2)
        .rev()
        .map(|process| {
            maflow_command()
                .args(args)
                .args([
                    "--processes",
                    "2",
                    "--process",
                    &process.to_string(),
                    "--hostfile",
                ])
                .arg(&hostfile)
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
}

/// Checks, on the text alone, that no clip's reference description (its MADU
/// reference) goes against one of its yes/no items, and that its MARE
/// reference holds it and ends with the clip's labels: a phase with a "yes"
/// item never says "no part moves"; each SAD "yes" names its part and
/// direction in that phase's sentence (or, over the whole clip, in the
/// sentences before the order of motions); each MAS "yes" finds both starts
/// in the order of motions ("First …, then …"), the first one earlier; no
/// reference gives a speed in pixels or a decimal number. Returns the number
/// of yes items checked (every one is).
pub fn assert_references_agree(bench: &Path) -> usize {
    let items = jsonl(bench);
    let mut checked = 0;
    // The directions a clause gives its part, as the references write them ("rises", "moves down and to the left").
    let ways = |text: &str| -> Vec<&'static str> {
        let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).collect();
        let mut out = Vec::new();
        if words
            .iter()
            .any(|w| matches!(*w, "up" | "rises" | "rise" | "upward"))
        {
            out.push("up");
        }
        if words
            .iter()
            .any(|w| matches!(*w, "down" | "drops" | "drop" | "downward"))
        {
            out.push("down");
        }
        for d in ["left", "right"] {
            if text.contains(&format!("to the {d}"))
                || text.contains(&format!(" {d} and"))
                || text.contains(&format!("and {d}"))
            {
                out.push(d);
            }
        }
        out
    };
    let says = |text: &str, direction: &str| direction.split('-').all(|d| ways(text).contains(&d));
    let says_only = |text: &str, direction: &str| {
        let mut want: Vec<&str> = direction.split('-').collect();
        let mut got = ways(text);
        want.sort_unstable();
        got.sort_unstable();
        want == got
    };
    for madu in items.iter().filter(|i| i["task"] == "MADU") {
        let clip = madu["clip"].as_str().unwrap();
        let reference = madu["reference"].as_str().unwrap();
        assert!(
            !reference.contains("px")
                && !reference
                    .chars()
                    .collect::<Vec<_>>()
                    .windows(3)
                    .any(|w| w[0].is_ascii_digit() && w[1] == '.' && w[2].is_ascii_digit()),
            "{clip}: numbers in {reference}"
        );
        if let Some(mare) = items
            .iter()
            .find(|i| i["clip"] == clip && i["task"] == "MARE")
        {
            let text = mare["reference"].as_str().unwrap();
            assert!(
                text.starts_with(reference),
                "{clip}: the MARE reference does not hold the description"
            );
            let line = format!(
                "[Body part (coarse-grained)] {} | [Micro-action (fine-grained)] {}",
                mare["provenance"]["body_level"].as_str().unwrap(),
                mare["provenance"]["action"].as_str().unwrap()
            );
            assert!(
                text.to_lowercase().ends_with(&line.to_lowercase()),
                "{clip}: the MARE reference does not end with {line}"
            );
        }
        let sentences: Vec<&str> = reference.split(". ").collect();
        let phase_sentence = |phase: &str| -> String {
            sentences
                .iter()
                .find(|s| {
                    s.starts_with("In the ")
                        && s.split(" phase")
                            .next()
                            .unwrap()
                            .split(|c: char| !c.is_alphanumeric())
                            .any(|w| w == phase)
                })
                .map(|s| s.to_string())
                .unwrap_or_default()
        };
        // The sentences about the whole clip come before the order of motions and the phases.
        let whole: Vec<&str> = sentences
            .iter()
            .take_while(|s| !s.starts_with("First ") && !s.starts_with("In the "))
            .copied()
            .collect();
        for item in items
            .iter()
            .filter(|i| i["clip"] == clip && i["answer"] == "yes")
        {
            let claim = &item["provenance"]["claim"];
            let spoken = |key: &str| {
                claim[key]
                    .as_str()
                    .unwrap()
                    .replace('_', " ")
                    .to_lowercase()
            };
            match claim["claim"].as_str().unwrap() {
                "before" => {
                    let order = sentences.iter().find(|s| s.starts_with("First ")).unwrap_or_else(|| panic!("{clip}: {} is yes, but the reference has no order of motions: {reference}", item["question"]));
                    let at = |part: String, dir: &str| -> usize {
                        order.split(", then ").position(|c| c.contains(&format!("the {part} ")) && says_only(c.split(&format!("the {part} ")).nth(1).unwrap_or(""), dir))
                            .unwrap_or_else(|| panic!("{clip}: {} is yes, but the order of motions has no {part} {dir}: {order}", item["question"]))
                    };
                    let (a, b) = (
                        at(spoken("a"), claim["dir_a"].as_str().unwrap()),
                        at(spoken("b"), claim["dir_b"].as_str().unwrap()),
                    );
                    assert!(
                        a < b,
                        "{clip}: {} is yes, but the order of motions reads: {order}",
                        item["question"]
                    );
                }
                "main_axis" => {
                    let part = spoken("part");
                    let axis: [&str; 2] = if claim["axis"] == "vertical" {
                        ["up", "down"]
                    } else {
                        ["left", "right"]
                    };
                    let along =
                        |s: &str| !ways(s).is_empty() && ways(s).iter().all(|w| axis.contains(w));
                    assert!(
                        whole
                            .iter()
                            .any(|s| s.contains(&format!("The {part} ")) && along(s)),
                        "{clip}: {} is yes, but the clip's motion reads: {whole:?}",
                        item["question"]
                    );
                }
                _ => {
                    let phase = claim["phase"].as_str().unwrap();
                    if claim["claim"] == "moves" {
                        let part = spoken("part");
                        let direction = claim["direction"].as_str().unwrap();
                        if phase == "whole" {
                            assert!(
                                whole
                                    .iter()
                                    .any(|s| s.contains(&format!("The {part} "))
                                        && says(s, direction)),
                                "{clip}: {} is yes, but the clip's motion reads: {whole:?}",
                                item["question"]
                            );
                        } else {
                            let sentence = phase_sentence(phase);
                            let said = sentence.split("; ").any(|clause| {
                                clause.contains(&format!("the {part}")) && says(clause, direction)
                            });
                            assert!(
                                said,
                                "{clip}: {} is yes, but the {phase} phase reads: {sentence}",
                                item["question"]
                            );
                        }
                    } else if phase != "whole" {
                        let sentence = phase_sentence(phase);
                        assert!(
                            !sentence.is_empty() && !sentence.contains("no part moves"),
                            "{clip}: {} is yes, but the reference says: {sentence}",
                            item["question"]
                        );
                    }
                }
            }
            checked += 1;
        }
    }
    checked
}
