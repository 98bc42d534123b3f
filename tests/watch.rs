//! `maflow watch`: editing the caption prompt while it watches recomputes
//! only the captions and what depends on them, and reports per operator the
//! items whose content changed; a spec saved with a mistake is reported and
//! changes nothing; a new node rebuilds the graph and computes only itself.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{Scratch, maflow_command, run_json};

fn spec(url: &str, prompt: &std::path::Path) -> String {
    let repo = env!("CARGO_MANIFEST_DIR");
    format!(
        "name: watched\n\
         sources:\n  - {{id: clips, kind: ma52, params: {{path: {repo}/tests/data/ma52}}}}\n\
         operators:\n\
         \x20 - {{id: descriptors, kind: descriptor-files, inputs: [clips], params: {{path: {repo}/tests/data/descriptors}}}}\n\
         \x20 - {{id: facts, kind: facts, inputs: [descriptors]}}\n\
         \x20 - {{id: captions, kind: caption, inputs: [descriptors, facts], params: {{backend: llm, prompt: {prompt}, llm: {{base_url: \"{url}\", model: m, timeout_s: 1.0, backoff_s: 0.05, max_retries: 5}}}}}}\n\
         \x20 - {{id: descriptions, kind: describe, inputs: [captions, facts]}}\n\
         \x20 - {{id: qa, kind: qa, inputs: [descriptors, descriptions, facts]}}\n\
         \x20 - {{id: random, kind: respond, inputs: [qa, descriptors, facts], params: {{backend: random}}}}\n\
         sinks:\n\
         \x20 - {{id: summaries, kind: jsonl, inputs: [descriptors]}}\n\
         \x20 - {{id: bench, kind: bench, inputs: [qa]}}\n",
        prompt = prompt.display()
    )
}

/// Waits until `path` exists (the first revision has written its outputs).
fn wait_for(path: &std::path::Path, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !path.exists() {
        assert!(child.try_wait().unwrap().is_none(), "watch exited early");
        assert!(Instant::now() < deadline, "no first revision");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_prompt_edit_under_watch_recomputes_only_captions_and_what_follows() {
    let s = Scratch::new();
    let (url, _) = crate::language::serve();
    let prompt = s.path("caption.md");
    std::fs::write(&prompt, "Caption the {{part}} from {{frames}}.\n").unwrap();
    let spec_path = s.path("spec.yaml");
    std::fs::write(&spec_path, spec(&url, &prompt)).unwrap();
    let mut args: Vec<String> = vec![
        "watch".into(),
        spec_path.display().to_string(),
        "--poll".into(),
        "0.1".into(),
        "--revisions".into(),
        "3".into(),
    ];
    args.extend(s.redirect());
    let mut child = maflow_command()
        .args(&args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("watch starts");
    let log = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stderr.take().unwrap();
    let sink = log.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let out = s.out("watched");
    wait_for(&out.join("bench.jsonl"), &mut child);
    let summaries = std::fs::read(out.join("summaries.jsonl")).unwrap();
    let captions_before = std::fs::read(out.join("captions/0019_02_0078.json")).unwrap();

    // A save with a mistake first: reported, nothing reruns.
    std::fs::write(
        &spec_path,
        spec(&url, &prompt).replace("kind: qa", "kind: qaa"),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !log
        .lock()
        .unwrap()
        .contains("waiting for the spec to be fixed")
    {
        assert!(
            Instant::now() < deadline,
            "the mistake was not reported: {}",
            log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(&spec_path, spec(&url, &prompt)).unwrap();
    std::fs::write(&prompt, "Describe the motion of the {{part}}: {{frames}}\n").unwrap();

    // Then a new node: the graph is built again, and only the new node computes.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !log.lock().unwrap().contains("revision 2:") {
        assert!(
            Instant::now() < deadline,
            "no second revision: {}",
            log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let extended = spec(&url, &prompt).replace(
        "sinks:\n",
        "\x20 - {id: majority, kind: respond, inputs: [qa, descriptors, facts], params: {backend: majority}}\nsinks:\n",
    );
    std::fs::write(&spec_path, extended).unwrap();

    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("watch did not make its second revision");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    reader.join().unwrap();
    let stderr = log.lock().unwrap().clone();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("unknown operator kind `qaa`"),
        "the mistake is reported: {stderr}"
    );

    // Revision 2 recomputes the captions and everything after them; the
    // captions' content changed, the rest (rules descriptions read the
    // descriptor) came out the same and is reported as unchanged.
    let second = stderr
        .split("revision 2:")
        .nth(1)
        .unwrap_or_else(|| panic!("{stderr}"));
    let (second, third) = second
        .split_once("revision 3:")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(second.starts_with(" 12 computed"), "{stderr}");
    assert!(
        second.contains("  captions: -3 +3 (3 computed, 0 from the store)"),
        "{stderr}"
    );
    for node in ["descriptions", "qa", "random"] {
        assert!(
            second.contains(&format!("  {node}: -0 +0 (3 computed, 0 from the store)")),
            "{node}: {stderr}"
        );
    }
    for node in ["clips", "descriptors", "summaries"] {
        assert!(
            !second.contains(&format!("  {node}:")),
            "{node} must not change: {stderr}"
        );
    }
    assert!(
        second.contains("watch: the spec's graph changed shape"),
        "{stderr}"
    );
    assert!(third.starts_with(" 3 computed"), "{stderr}");
    assert!(
        third.contains("  majority: -0 +3 (3 computed, 0 from the store)"),
        "{stderr}"
    );
    assert!(
        third.contains("  captions: -0 +3 (0 computed, 3 from the store)"),
        "{stderr}"
    );

    // The record level was computed by the graph; the run that wrote the sinks found it all in the store.
    let run = run_json(&out);
    for node in [
        "clips",
        "descriptors",
        "captions",
        "descriptions",
        "qa",
        "random",
    ] {
        assert_eq!(run["operators"][node]["computed"], 0, "{node}");
        assert_eq!(run["operators"][node]["cached"], 3, "{node}");
    }
    // The files on disk follow: new captions, the untouched sink byte for byte.
    assert_ne!(
        std::fs::read(out.join("captions/0019_02_0078.json")).unwrap(),
        captions_before
    );
    assert!(
        String::from_utf8(std::fs::read(out.join("captions/0019_02_0078.json")).unwrap())
            .unwrap()
            .contains("drifts slightly")
    );
    assert_eq!(
        std::fs::read(out.join("summaries.jsonl")).unwrap(),
        summaries
    );
}
