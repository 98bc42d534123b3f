//! The benchmark exported to the evaluation harnesses: every format holds
//! the benchmark's items, and the lmms-eval task's own `utils.py` reads
//! replies exactly as maflow does and scores the gold answers 100 %, and so
//! does the VLMEvalKit dataset class (without VLMEvalKit: its reading and scoring).

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{Scratch, maflow, text};

fn spec() -> String {
    format!(
        "{}\
         sinks:\n\
         \x20 - {{id: bench, kind: bench, inputs: [qa]}}\n\
         \x20 - {{id: harnesses, kind: harness-export, inputs: [qa], params: {{name: mab}}}}\n",
        crate::language::rules_items("exported")
    )
}

/// Replies a model might give to `item`, right and wrong, wrapped as models wrap them.
fn replies(item: &Value) -> Vec<String> {
    let options: Vec<String> = item["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_string())
        .collect();
    let mut out: Vec<String> = [
        "Yes.",
        "**No**, it does not.",
        "no idea",
        "The answer is (B).",
        "A or B",
        "",
        "I cannot tell",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (k, o) in options.iter().enumerate() {
        out.push(format!("It is {}", o.to_uppercase()));
        out.push(format!(
            "Answer: {} {o}",
            ["A", "B", "C", "D", "E", "F", "G"][k]
        ));
    }
    if options.len() > 1 {
        out.push(format!("{} or {}", options[0], options[1]));
    }
    out.push("The head moves.\n[Body part (coarse-grained)] **Head** | [Micro-action (fine-grained)] nodding.".into());
    out.push("[Body part (coarse-grained)] Upper limb | [Micro-action (fine-grained)] \"scratching arms\"\nthen more".into());
    out
}

#[test]
fn every_harness_gets_the_benchmark_and_its_python_reads_replies_as_maflow_does() {
    let s = Scratch::new();
    std::fs::write(s.path("spec.yaml"), spec()).unwrap();
    let mut args = vec![
        "run".to_string(),
        s.path("spec.yaml").display().to_string(),
        "-q".into(),
    ];
    args.extend(s.redirect());
    let out = maflow(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = s.out("exported");
    let bench: Vec<Value> = std::fs::read_to_string(dir.join("bench.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(bench.len() >= 24);
    let exports = dir.join("exports");

    // The datasets folder: the items in order, each with its clip's video.
    let rows: Vec<Value> = std::fs::read_to_string(exports.join("hf-datasets/mab/data/test.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), bench.len());
    for (k, (row, item)) in rows.iter().zip(&bench).enumerate() {
        assert_eq!(row["index"], k);
        for field in ["id", "clip", "task", "question", "options", "answer"] {
            assert_eq!(row[field], item[field], "{field} of {}", item["id"]);
        }
        assert_eq!(
            row["reference"],
            item.get("reference").cloned().unwrap_or(json!(""))
        );
        assert!(
            std::path::Path::new(row["video"].as_str().unwrap()).is_file(),
            "{}",
            row["video"]
        );
    }
    let card = std::fs::read_to_string(exports.join("hf-datasets/mab/README.md")).unwrap();
    assert!(
        card.starts_with("---\n") && card.contains("path: data/test.jsonl"),
        "{card}"
    );

    // VLMEvalKit: the TSV (a row per item, the video by its suffix-free name under `videos/`, no `A`.. columns
    // that would make VLMEvalKit's fallback read it as a text-only quiz), the class and its config entry.
    let vlmevalkit = exports.join("vlmevalkit");
    let tsv = std::fs::read_to_string(vlmevalkit.join("mab.tsv")).unwrap();
    let lines: Vec<Vec<&str>> = tsv.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        lines[0],
        [
            "index",
            "id",
            "video",
            "question",
            "options",
            "answer",
            "category",
            "reference",
            "level",
            "action"
        ]
    );
    assert_eq!(lines.len(), bench.len() + 1);
    assert!(lines.iter().all(|l| l.len() == lines[0].len()));
    for (line, item) in lines[1..].iter().zip(&bench) {
        assert_eq!(line[1], item["id"]);
        assert_eq!(line[2], item["clip"]);
        let options: Value = serde_json::from_str(line[4]).unwrap();
        assert_eq!(options, item["options"]);
        assert_eq!(
            (line[5], line[6]),
            (
                item["answer"].as_str().unwrap(),
                item["task"].as_str().unwrap()
            )
        );
        assert!(
            vlmevalkit
                .join("videos")
                .join(format!("{}.mp4", line[2]))
                .is_file()
        );
    }
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(vlmevalkit.join("mab.config.json")).unwrap())
            .unwrap();
    assert_eq!(
        config["data"]["mab"],
        json!({"class": "MaflowBench", "dataset": "mab", "nframe": 8})
    );
    assert!(
        vlmevalkit.join("maflow_vlmeval.py").is_file() && vlmevalkit.join("prompts.json").is_file()
    );

    // MA-Bench's own rows: the published split's shape, per task `TASK_NNNN`, Yes/No, options as `\nA. ` lines,
    // each video linked under `videos/` by its suffix-free name; read back by the split's own source, they are the items.
    let official = exports.join("ma-bench-json");
    let rows: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(official.join("mab.json")).unwrap()).unwrap();
    assert_eq!(rows.len(), bench.len());
    let mut numbers = std::collections::BTreeMap::<&str, usize>::new();
    for (row, item) in rows.iter().zip(&bench) {
        let task = item["task"].as_str().unwrap();
        let n = numbers.entry(task).or_default();
        *n += 1;
        assert_eq!(row["qid"], format!("{task}_{n:04}"));
        assert_eq!(
            (&row["task"], &row["video"]),
            (&item["task"], &item["clip"])
        );
        let answer = row["answer"].as_str().unwrap();
        match task {
            "CMAR" | "FMAR" => {
                assert_eq!(answer, item["answer"]);
                assert!(
                    row["question"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("\nA. {}", item["options"][0].as_str().unwrap()))
                );
            }
            "MADU" | "MARE" => assert_eq!(answer, item["reference"]),
            _ => assert!(answer == "Yes" || answer == "No", "{answer}"),
        }
        let link = official
            .join("videos")
            .join(format!("{}.mp4", item["clip"].as_str().unwrap()));
        assert!(link.is_file(), "{}", link.display());
    }
    let clips: std::collections::BTreeSet<&str> =
        bench.iter().map(|i| i["clip"].as_str().unwrap()).collect();
    assert_eq!(
        std::fs::read_dir(official.join("videos")).unwrap().count(),
        clips.len()
    );

    // lmms-eval: a task per benchmark task, over its items.
    let lmms = exports.join("lmms-eval/mab");
    let group = std::fs::read_to_string(lmms.join("mab.yaml")).unwrap();
    let tasks: Vec<&str> = bench.iter().map(|i| i["task"].as_str().unwrap()).collect();
    for task in ["CMAR", "FMAR", "SAD", "MADU", "MARE"] {
        assert!(tasks.contains(&task));
        let lower = task.to_lowercase();
        assert!(group.contains(&format!("  - mab_{lower}\n")), "{group}");
        let yaml = std::fs::read_to_string(lmms.join(format!("mab_{lower}.yaml"))).unwrap();
        assert!(
            yaml.contains("process_results: !function utils.process_results")
                && yaml.contains(&format!("data/{task}.jsonl")),
            "{yaml}"
        );
    }

    // Its utils.py parses every reply as maflow does, and scores the gold answers 100 %.
    let mut cases = Vec::new();
    for item in &bench {
        let parsed_item: maflow_operators::language::qa::item::Item =
            serde_json::from_value(item.clone()).unwrap();
        for reply in replies(item) {
            let parsed = maflow_operators::language::respond::parse(&parsed_item, &reply);
            let parsed = match item["task"].as_str().unwrap() {
                "MARE" => parsed
                    .as_object()
                    .map_or(Value::Null, |m| json!([m["level"], m["action"]])),
                _ => parsed,
            };
            cases.push(json!({"doc": item, "reply": reply, "maflow": parsed}));
        }
    }
    std::fs::write(s.path("cases.json"), serde_json::to_string(&cases).unwrap()).unwrap();
    let script = r#"
import csv, importlib.util, json, os, sys
def module(folder, file):
    spec = importlib.util.spec_from_file_location(file[:-3], os.path.join(folder, file))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m
cases = json.load(open(sys.argv[3]))
found = {"cases": len(cases)}
for name, m in (("lmms-eval", module(sys.argv[1], "utils.py")), ("vlmevalkit", module(sys.argv[2], "maflow_vlmeval.py"))):
    differ = []
    for c in cases:
        got = m.parse(c["doc"], c["reply"])
        got = list(got) if isinstance(got, tuple) else got
        if got != c["maflow"]:
            differ.append((c["doc"]["id"], c["reply"], got, c["maflow"]))
    found[name] = {"differ": differ[:5], "n_differ": len(differ)}
lmms = found["lmms-eval"]
utils = module(sys.argv[1], "utils.py")
closed = [c["doc"] for c in cases if c["doc"]["task"] in utils.CLOSED]
lmms["gold"] = sum(utils.process_results(d, [d["answer"]])["accuracy"] for d in closed) / len(closed)
lmms["wrong"] = sum(utils.process_results(d, ["maybe"])["accuracy"] for d in closed)
vlm = module(sys.argv[2], "maflow_vlmeval.py")
rows = list(csv.DictReader(open(os.path.join(sys.argv[2], "mab.tsv"), encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE))
found["vlmevalkit"]["datasets"] = vlm.datasets()
found["vlmevalkit"]["gold"] = vlm.score((r, r["answer"] or r["reference"]) for r in rows)
found["vlmevalkit"]["unreadable"] = vlm.score((r, "I cannot tell.") for r in rows)
found["vlmevalkit"]["prompts"] = sum(r["question"] in vlm.prompt_text(vlm.item(r)) for r in rows) == len(rows)
print(json.dumps(found))
"#;
    let run = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&lmms)
        .arg(&vlmevalkit)
        .arg(s.path("cases.json"))
        .output()
        .expect("python3 runs");
    assert!(run.status.success(), "{}", text(&run.stderr));
    let verdict: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert!(verdict["cases"].as_u64().unwrap() > 250, "{verdict}");
    for harness in ["lmms-eval", "vlmevalkit"] {
        assert_eq!(
            verdict[harness]["n_differ"], 0,
            "{harness} reads replies as maflow does: {verdict}"
        );
    }
    assert_eq!(verdict["lmms-eval"]["gold"], 100.0, "{verdict}");
    assert_eq!(verdict["lmms-eval"]["wrong"], 0.0, "{verdict}");
    let vlm = &verdict["vlmevalkit"];
    assert_eq!(vlm["datasets"], json!(["mab"]));
    assert_eq!(vlm["prompts"], true, "{vlm}");
    let tasks: std::collections::BTreeSet<&str> =
        bench.iter().map(|i| i["task"].as_str().unwrap()).collect();
    for task in &tasks {
        let items = bench.iter().filter(|i| i["task"] == *task).count();
        assert_eq!(vlm["gold"][task]["items"], items, "{task}: {vlm}");
        if maflow_operators::language::qa::item::CLOSED.contains(task) {
            assert_eq!(vlm["gold"][task]["accuracy"], 100.0, "{task}: {vlm}");
            assert_eq!(vlm["unreadable"][task]["accuracy"], 0.0, "{task}: {vlm}");
        } else {
            // Without a judge endpoint the open tasks are counted, not scored, and say who scores them.
            assert!(vlm["gold"][task].get("L1").is_none(), "{task}: {vlm}");
            assert!(
                vlm["gold"][task]["scored_by"]
                    .as_str()
                    .unwrap()
                    .contains("maflow")
            );
        }
    }
    assert_eq!(vlm["gold"]["closed"], 100.0, "{vlm}");
}
