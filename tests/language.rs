//! The language stages against an in-process OpenAI-compatible server that
//! misbehaves on purpose, and the cache behaviour after a prompt edit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::{Scratch, maflow, run_json, text};

/// What the test server answers to one chat request: status, body, extra headers.
type Answer = (u16, String, &'static str);

/// A chat-completions reply with usage as a server reports it (a token per 4 bytes of the request).
fn ok(content: &str, request: &str) -> Answer {
    let json = serde_json::json!({"choices": [{"message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": request.len() / 4, "completion_tokens": 3}});
    (200, json.to_string(), "")
}

/// An OpenAI-compatible server on a free port: `GET /models` lists
/// `test-model`; a chat whose turns do not alternate gets a 400, as strict
/// chat templates give; every other chat request's body goes to `answer`,
/// with the number of chat requests before it. Returns the base URL and
/// that count.
pub fn serve_with(
    answer: impl Fn(usize, &str) -> Answer + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listing =
        r#"{"object":"list","data":[{"id":"test-model","object":"model","created":1700000000}]}"#;
    serve_listing(
        Arc::new(std::sync::Mutex::new(Some(listing.to_string()))),
        answer,
    )
}

/// [`serve_with`], listing `listing` at `GET /models`; while it is `None` the server is down (it closes every connection unanswered).
pub fn serve_listing(
    listing: Arc<std::sync::Mutex<Option<String>>>,
    answer: impl Fn(usize, &str) -> Answer + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (count, answer, listing) = (counter.clone(), answer.clone(), listing.clone());
            std::thread::spawn(move || {
                let Some(models) = listing.lock().unwrap().clone() else {
                    return;
                };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let body = String::from_utf8_lossy(&body).into_owned();
                let (status, reply, extra) =
                    if request_line.starts_with("GET ") && request_line.contains("/models") {
                        (200, models, "")
                    } else if !roles_alternate(&body) {
                        // As the Gemma and Mistral chat templates do under vLLM.
                        (
                            400,
                            "Conversation roles must alternate user/assistant/user/assistant/..."
                                .to_string(),
                            "",
                        )
                    } else {
                        answer(count.fetch_add(1, Ordering::SeqCst), &body)
                    };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            });
        }
    });
    (url, count)
}

/// Whether a chat request's messages alternate user and assistant after an optional system message.
fn roles_alternate(body: &str) -> bool {
    let Ok(request) = serde_json::from_str::<serde_json::Value>(body) else {
        return true;
    };
    let roles: Vec<&str> = request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["role"].as_str())
        .collect();
    let turns = roles.strip_prefix(&["system"]).unwrap_or(&roles);
    turns
        .iter()
        .enumerate()
        .all(|(i, r)| *r == if i % 2 == 0 { "user" } else { "assistant" })
}

/// Serves chat completions: the first four requests fail in four ways (429
/// with Retry-After, 500, a hang past the client's timeout, truncated JSON);
/// the first judge request gets prose instead of JSON; MADU answers get a 400;
/// captions follow the prompt's wording.
pub fn serve() -> (String, Arc<AtomicUsize>) {
    let judged = AtomicUsize::new(0);
    serve_with(move |n, body| match n {
        0 => (429, "slow down".to_string(), "Retry-After: 1\r\n"),
        1 => (500, "boom".to_string(), ""),
        2 => {
            std::thread::sleep(Duration::from_millis(2500));
            ok("late", body)
        }
        3 => (
            200,
            r#"{"choices": [{"message": {"content": "cut"#.to_string(),
            "",
        ),
        _ if body.contains("L1_score") => {
            if judged.fetch_add(1, Ordering::SeqCst) == 0 {
                ok("The answer looks fine to me.", body)
            } else {
                ok(
                    r#"{"L1_score": 3, "L2_score": 2, "L3_score": 4, "reason": "partial"}"#,
                    body,
                )
            }
        }
        // Every MADU question, whichever phrasing the item drew, is refused.
        _ if maflow_operators::language::qa::recognition::MADU_QUESTIONS
            .iter()
            .any(|q| body.contains(&q[..40])) =>
        {
            (400, "unsupported".to_string(), "")
        }
        _ if body.contains("image_url") => ok(
            "yes\n[Body part (coarse-grained)] Head | [Micro-action (fine-grained)] nodding",
            body,
        ),
        // The reply follows the caption prompt, so a prompt edit changes the captions.
        _ if body.contains("Describe the motion") => ok("The part drifts slightly.", body),
        _ => ok("The part moves a little up and then down.", body),
    })
}

/// A spec named `name` whose frame stages make the sample clips' descriptors from their skeleton files, up to its `operators:` list's `descriptors`.
fn frame_stages(name: &str) -> String {
    let repo = env!("CARGO_MANIFEST_DIR");
    format!(
        "name: {name}\n\
         sources:\n  - id: clips\n    kind: ma52\n    params: {{path: {repo}/tests/data/ma52}}\n\
         operators:\n\
         \x20 - {{id: decode, kind: decode, inputs: [clips], params: {{format: gray}}}}\n\
         \x20 - {{id: skeleton, kind: skeleton, inputs: [decode], params: {{path: {repo}/tests/data/skeletons, format: coco}}}}\n\
         \x20 - {{id: segment, kind: segment, inputs: [decode, skeleton], params: {{method: skeleton, viz_frames: 0}}}}\n\
         \x20 - {{id: flow, kind: flow, inputs: [decode], params: {{preset: fast, scale: 0.25}}}}\n\
         \x20 - {{id: align, kind: align, inputs: [flow, skeleton, segment]}}\n\
         \x20 - {{id: descriptors, kind: descriptor, inputs: [align]}}\n"
    )
}

fn spec(url: &str, prompt: &std::path::Path) -> String {
    let llm = format!(
        "{{base_url: \"{url}\", model: test-model, api_key: \"${{env:MAFLOW_TEST_LLM_KEY}}\", timeout_s: 1.0, backoff_s: 0.05, max_retries: 5}}"
    );
    format!(
        "{}\
         \x20 - {{id: facts, kind: facts, inputs: [descriptors]}}\n\
         \x20 - {{id: captions, kind: caption, inputs: [descriptors, facts], params: {{backend: llm, prompt: {prompt}, llm: {llm}}}}}\n\
         \x20 - {{id: descriptions, kind: describe, inputs: [captions, facts]}}\n\
         \x20 - {{id: qa, kind: qa, inputs: [descriptors, descriptions, facts]}}\n\
         \x20 - {{id: model, kind: respond, inputs: [qa, descriptors, facts], params: {{backend: llm, frames: 2, max_pixels: 4096, llm: {llm}}}}}\n\
         \x20 - {{id: random, kind: respond, inputs: [qa, descriptors, facts], params: {{backend: random}}}}\n\
         \x20 - {{id: judged, kind: judge, inputs: [qa, random], params: {{backend: llm, llm: {llm}}}}}\n\
         sinks:\n\
         \x20 - {{id: report, kind: report, inputs: [qa, judged], params: {{resamples: 50}}}}\n",
        frame_stages("language"),
        prompt = prompt.display()
    )
}

#[test]
fn a_misbehaving_endpoint_is_retried_failures_are_items_and_a_prompt_edit_reruns_only_the_language_stages()
 {
    let s = Scratch::new();
    let (url, requests) = serve();
    let prompt = s.path("caption.md");
    std::fs::write(&prompt, "Caption the {{part}} from {{frames}}.\n").unwrap();
    std::fs::write(s.path("spec.yaml"), spec(&url, &prompt)).unwrap();
    let mut args: Vec<String> = vec![
        "run".into(),
        s.path("spec.yaml").display().to_string(),
        "-q".into(),
    ];
    args.extend(s.redirect());
    let secret = "sk-never-written-anywhere";
    let run = |args: &[String]| {
        crate::support::maflow_command()
            .args(args)
            .env("MAFLOW_TEST_LLM_KEY", secret)
            .output()
            .expect("maflow runs")
    };

    let first = run(&args);
    let stderr = text(&first.stderr);
    // MADU answers are refused (400) for every clip: those items are errors, the rest finishes.
    assert_eq!(first.status.code(), Some(2), "{stderr}");
    let out = s.out("language");
    let errors = std::fs::read_to_string(out.join("errors.jsonl")).unwrap();
    assert_eq!(errors.lines().count(), 3, "{errors}");
    assert!(
        errors
            .lines()
            .all(|l| l.contains("\"operator\":\"model\"") && l.contains("HTTP 400")),
        "{errors}"
    );
    let r = run_json(&out);
    let ops = &r["operators"];
    for node in ["captions", "descriptions", "qa", "random", "judged"] {
        assert_eq!(ops[node]["computed"], 3, "{node}: {}", ops[node]);
    }
    let retries: u64 = ["captions", "model", "judged"]
        .iter()
        .map(|n| ops[n]["calls"]["retries"].as_u64().unwrap_or(0))
        .sum();
    assert!(
        retries >= 4,
        "429, 500, timeout and truncated JSON are each retried: {ops}"
    );
    assert!(ops["captions"]["calls"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(
        ops["judged"]["calls"]["sent"].as_u64().unwrap() >= 7,
        "one corrective retry after prose: {}",
        ops["judged"]
    );
    assert!(out.join("report.html").exists() && out.join("scores.csv").exists());
    let captions: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("captions/0019_02_0078.json")).unwrap())
            .unwrap();
    assert_eq!(captions["body_part_motion"].as_object().unwrap().len(), 14);

    // Nothing from a failed or refused call is cached, and the key is written nowhere.
    let mut cached = Vec::new();
    for dir in std::fs::read_dir(s.path("store/requests/llm")).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            cached.push(std::fs::read_to_string(f.unwrap().path()).unwrap());
        }
    }
    assert!(!cached.is_empty());
    assert!(cached.iter().all(|c| !c.contains("looks fine to me")
        && !c.contains("unsupported")
        && !c.contains("\"cut")));
    for (path, bytes) in crate::support::read_tree(&s.path("out"))
        .into_iter()
        .chain(crate::support::read_tree(&s.path("store")))
    {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "key leaked into {}",
            path.display()
        );
    }
    assert!(!stderr.contains(secret));

    // A rerun pays for nothing new except the refused items.
    let before = requests.load(Ordering::SeqCst);
    let second = run(&args);
    assert_eq!(second.status.code(), Some(2));
    let r = run_json(&out);
    assert_eq!(r["operators"]["captions"]["computed"], 0);
    assert_eq!(
        r["operators"]["model"]["calls"]["sent"].as_u64().unwrap(),
        3,
        "only the 3 refused MADU requests go out again: {}",
        r["operators"]["model"]
    );
    assert_eq!(requests.load(Ordering::SeqCst) - before, 3);

    // Editing the caption prompt reruns caption and what depends on it, nothing upstream.
    std::fs::write(&prompt, "Describe the motion of the {{part}}: {{frames}}\n").unwrap();
    let third = run(&args);
    assert_eq!(third.status.code(), Some(2), "{}", text(&third.stderr));
    let ops = run_json(&out)["operators"].clone();
    for node in [
        "decode",
        "skeleton",
        "segment",
        "flow",
        "align",
        "descriptors",
    ] {
        assert_eq!(
            ops[node]["computed"], 0,
            "{node} must not rerun: {}",
            ops[node]
        );
    }
    for node in ["captions", "descriptions", "qa", "random", "judged"] {
        assert_eq!(
            ops[node]["computed"], 3,
            "{node} depends on the captions: {}",
            ops[node]
        );
    }
}

#[test]
fn the_demo_and_reference_specs_are_valid_with_every_language_stage() {
    for spec in [
        "pipelines/demo.yaml",
        "pipelines/ma-bench.yaml",
        "pipelines/ma-bench-equal-levels.yaml",
    ] {
        // `validate` lists the sources as a run would: point them at the sample clips.
        let out = maflow(&[
            "validate",
            spec,
            "--set",
            "sources.clips.path=tests/data/ma52",
        ]);
        assert!(out.status.success(), "{spec}: {}", text(&out.stderr));
    }
}

/// The frame stages of the sample clips, captions by `caption_llm`, and a `responder` judged by the rules, into a report and the bench files.
fn report_spec(caption_llm: &str, responder: &str) -> String {
    format!(
        "{}\
         \x20 - {{id: facts, kind: facts, inputs: [descriptors]}}\n\
         \x20 - {{id: captions, kind: caption, inputs: [descriptors, facts], params: {{backend: llm, llm: {caption_llm}}}}}\n\
         \x20 - {{id: descriptions, kind: describe, inputs: [captions, facts]}}\n\
         \x20 - {{id: qa, kind: qa, inputs: [descriptors, descriptions, facts]}}\n\
         \x20 - {{id: model, kind: respond, inputs: [qa, descriptors, facts], params: {responder}}}\n\
         \x20 - {{id: judged, kind: judge, inputs: [qa, model]}}\n\
         sinks:\n\
         \x20 - {{id: bench, kind: bench, inputs: [qa]}}\n\
         \x20 - {{id: report, kind: report, inputs: [qa, judged], params: {{resamples: 20}}}}\n",
        frame_stages("kept")
    )
}

fn run_spec(s: &Scratch, spec: &str) -> std::process::Output {
    std::fs::write(s.path("spec.yaml"), spec).unwrap();
    let mut args: Vec<String> = vec![
        "run".into(),
        s.path("spec.yaml").display().to_string(),
        "-q".into(),
    ];
    args.extend(s.redirect());
    crate::support::maflow_command()
        .args(&args)
        .output()
        .expect("maflow runs")
}

#[test]
fn a_run_against_a_dead_endpoint_keeps_every_good_clip_and_names_the_failures() {
    let s = Scratch::new();
    let (url, _) = serve_with(|_, body| ok("The part moves a little up and then down.", body));
    let llm = |url: &str| {
        format!(
            "{{base_url: \"{url}\", model: test-model, timeout_s: 2.0, backoff_s: 0.01, max_retries: 1}}"
        )
    };
    let first = run_spec(&s, &report_spec(&llm(&url), "{backend: random}"));
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let out = s.out("kept");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let counts = report
        .lines()
        .find(|l| l.starts_with("3 clips, "))
        .expect("3 clips reported")
        .split('.')
        .next()
        .unwrap()
        .to_string();
    let bench = std::fs::read(out.join("bench.jsonl")).unwrap();

    // The endpoint moves to a port nobody listens on: every caption is new work, and every one fails.
    let dead = format!(
        "http://127.0.0.1:{}/v1",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let second = run_spec(&s, &report_spec(&llm(&dead), "{backend: random}"));
    assert_eq!(second.status.code(), Some(2), "{}", text(&second.stderr));
    let errors = std::fs::read_to_string(out.join("errors.jsonl")).unwrap();
    assert_eq!(errors.lines().count(), 3, "{errors}");
    assert!(
        errors
            .lines()
            .all(|l| l.contains("\"operator\":\"captions\"") && l.contains("connection refused")),
        "{errors}"
    );
    // Nothing is blanked: the aggregates hold the last good run's clips, and the report says why.
    assert_eq!(
        std::fs::read(out.join("bench.jsonl")).unwrap(),
        bench,
        "bench.jsonl keeps the earlier items"
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains(&format!("{counts}. ")),
        "{counts}: {report}"
    );
    assert!(
        report.contains("## Failures (3)")
            && report.contains("connection refused")
            && report.contains("shown from an earlier run"),
        "{report}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("id=\"failures\"") && html.contains("connection refused"));
    let r = run_json(&out);
    assert_eq!(
        r["operators"]["report"]["kept"], 3,
        "{}",
        r["operators"]["report"]
    );
    assert_eq!(r["operators"]["bench"]["kept"], 3);

    // Back on the live endpoint everything is cached again and the failures are gone.
    let third = run_spec(&s, &report_spec(&llm(&url), "{backend: random}"));
    assert_eq!(third.status.code(), Some(0), "{}", text(&third.stderr));
    assert_eq!(run_json(&out)["operators"]["captions"]["computed"], 0);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(!report.contains("Failures"), "{report}");
}

#[test]
fn a_server_that_drops_content_parts_is_caught_and_never_scored() {
    let s = Scratch::new();
    // Like a text-only chat format: a message whose content is a list of parts is dropped, so the model sees 7 tokens.
    let (url, requests) = serve_with(|_, body| {
        let (status, reply, extra) = ok("yes", body);
        if body.contains("\"type\":\"image_url\"") {
            let json = serde_json::json!({"choices": [{"message": {"content": "I see nothing."}}], "usage": {"prompt_tokens": 7, "completion_tokens": 3}});
            return (200, json.to_string(), "");
        }
        (status, reply, extra)
    });
    let llm = format!(
        "{{base_url: \"{url}\", model: test-model, timeout_s: 2.0, backoff_s: 0.01, max_retries: 1}}"
    );
    let responder = format!("{{backend: llm, frames: 2, max_pixels: 4096, llm: {llm}}}");
    let out = run_spec(&s, &report_spec(&llm, &responder));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let dir = s.out("kept");
    let errors = std::fs::read_to_string(dir.join("errors.jsonl")).unwrap();
    let model_errors: Vec<&str> = errors
        .lines()
        .filter(|l| l.contains("\"operator\":\"model\""))
        .collect();
    assert_eq!(model_errors.len(), 3, "{errors}");
    assert!(
        model_errors
            .iter()
            .all(|l| l.contains("ignores image parts") && l.contains("test-model @ 127.0.0.1")),
        "{errors}"
    );
    let r = run_json(&dir);
    assert_eq!(
        r["operators"]["judged"]["computed"], 0,
        "a model that saw nothing is not judged"
    );
    assert_eq!(
        r["operators"]["model"]["calls"]["sent"], 2,
        "one probe (text alone, with an image), then nothing is paid: {}",
        r["operators"]["model"]
    );
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("ignores image parts"), "{report}");
    assert!(
        requests.load(Ordering::SeqCst) >= 42,
        "the captions (14 per clip) were asked"
    );
}

#[test]
fn new_weights_behind_the_same_name_are_asked_again_and_a_cached_rerun_needs_no_server() {
    let s = Scratch::new();
    let listing = |created: u64| {
        Some(format!(
            r#"{{"object":"list","data":[{{"id":"test-model","object":"model","created":{created}}}]}}"#
        ))
    };
    let served = Arc::new(std::sync::Mutex::new(listing(1_700_000_000)));
    let (url, requests) = serve_listing(served.clone(), |_, body| {
        ok("The part moves a little up and then down.", body)
    });
    let llm = format!(
        "{{base_url: \"{url}\", model: test-model, timeout_s: 2.0, backoff_s: 0.01, max_retries: 1}}"
    );
    let spec = report_spec(&llm, "{backend: random}");
    let computed =
        |s: &Scratch| run_json(&s.out("kept"))["operators"]["captions"]["computed"].clone();
    assert_eq!(run_spec(&s, &spec).status.code(), Some(0));
    assert_eq!(computed(&s), 3);
    let asked = requests.load(Ordering::SeqCst);
    // The same name now serves other weights (a later `created`): the captions are asked again.
    *served.lock().unwrap() = listing(1_710_000_000);
    assert_eq!(run_spec(&s, &spec).status.code(), Some(0));
    assert_eq!(computed(&s), 3, "new weights, new captions");
    assert_eq!(
        requests.load(Ordering::SeqCst) - asked,
        42,
        "14 parts of 3 clips asked again"
    );
    // With the server down, what it served last stands in, and everything comes from the store.
    *served.lock().unwrap() = None;
    let out = run_spec(&s, &spec);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(computed(&s), 0);
}

/// The frame stages, rules captions, and descriptions by `describe_llm` (one re-ask), into items.
fn describe_spec(describe_llm: &str) -> String {
    format!(
        "{}\
         \x20 - {{id: facts, kind: facts, inputs: [descriptors]}}\n\
         \x20 - {{id: captions, kind: caption, inputs: [descriptors, facts]}}\n\
         \x20 - {{id: descriptions, kind: describe, inputs: [captions, facts], params: {{backend: llm, retries: 1, llm: {describe_llm}}}}}\n\
         \x20 - {{id: qa, kind: qa, inputs: [descriptors, descriptions, facts]}}\n\
         sinks:\n\
         \x20 - {{id: clip-facts, kind: jsonl, inputs: [facts]}}\n\
         \x20 - {{id: bench, kind: bench, inputs: [qa]}}\n",
        frame_stages("described")
    )
}

#[test]
fn an_llm_description_that_contradicts_the_facts_is_asked_again_then_an_error_never_cached() {
    // Wrong for every clip in which some part moves noticeably.
    // Both in the register asked for (40 to 130 words, no numbers), so only the facts decide.
    const WRONG: &str = "The seated person faces the camera in a plain room, filmed from the front at high resolution during a calm \
        interview. The person sits, and nothing moves in the whole clip. The posture holds from the start of the recording to its \
        close, without any visible change in how the person sits.";
    const FIXED: &str = "Over the clip the person makes a small spontaneous movement while seated facing the camera. The movement is \
        brief and modest in size. This account keeps to the general picture and leaves the finer detail of each body part to the \
        part captions, which give the measured motion of every part in turn.";
    let llm = |url: &str| {
        format!(
            "{{base_url: \"{url}\", model: test-model, timeout_s: 2.0, backoff_s: 0.01, max_retries: 1}}"
        )
    };

    // Corrected when told what is wrong: the re-ask names the contradiction, the second reply stands.
    let s = Scratch::new();
    let (url, requests) = serve_with(|_, body| {
        if body.contains("does not fit") && body.contains("nothing moves in the whole clip") {
            ok(FIXED, body)
        } else {
            ok(WRONG, body)
        }
    });
    let out = run_spec(&s, &describe_spec(&llm(&url)));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = s.out("described");
    let facts = crate::support::jsonl(&dir.join("clip-facts.jsonl"));
    let moving: Vec<&str> = facts
        .iter()
        .filter(|f| {
            f["parts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["moves"] == true)
        })
        .map(|f| f["clip"].as_str().unwrap())
        .collect();
    assert!(moving.len() >= 2, "the sample clips move: {moving:?}");
    assert_eq!(
        requests.load(Ordering::SeqCst),
        3 + moving.len(),
        "each moving clip asked twice, the others once"
    );
    for f in &facts {
        let clip = f["clip"].as_str().unwrap();
        let d: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join(format!("descriptions/{clip}.json"))).unwrap(),
        )
        .unwrap();
        // "Nothing moves" stands only where the facts agree.
        assert_eq!(
            d["description"],
            if moving.contains(&clip) { FIXED } else { WRONG },
            "{clip}"
        );
    }
    // The references state no phase, so no "yes" is asked that they leave out, and nothing contradicts them.
    let bench = crate::support::jsonl(&dir.join("bench.jsonl"));
    assert!(bench.iter().all(|i| i["answer"] != "yes"), "{bench:?}");

    // Never corrected: an error naming the sentence, and nothing cached, so a rerun asks again.
    let s = Scratch::new();
    let (url, requests) = serve_with(|_, body| ok(WRONG, body));
    let out = run_spec(&s, &describe_spec(&llm(&url)));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let errors = std::fs::read_to_string(s.out("described").join("errors.jsonl")).unwrap();
    let described: Vec<&str> = errors
        .lines()
        .filter(|l| l.contains("\"operator\":\"descriptions\""))
        .collect();
    assert_eq!(described.len(), moving.len(), "{errors}");
    assert!(
        described
            .iter()
            .all(|l| l.contains("after 2 tries") && l.contains("nothing moves in the whole clip")),
        "{errors}"
    );
    let asked = requests.load(Ordering::SeqCst);
    assert_eq!(asked, 3 + moving.len());
    let again = run_spec(&s, &describe_spec(&llm(&url)));
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        requests.load(Ordering::SeqCst),
        asked + 2 * moving.len(),
        "a refused description is not cached; an accepted one is"
    );
}

/// A spec named `name`: the frame stages, then the rules texts and the items, up to its `operators:` list's `qa`.
pub fn rules_items(name: &str) -> String {
    format!(
        "{}\
         \x20 - {{id: facts, kind: facts, inputs: [descriptors]}}\n\
         \x20 - {{id: captions, kind: caption, inputs: [descriptors, facts]}}\n\
         \x20 - {{id: descriptions, kind: describe, inputs: [captions, facts]}}\n\
         \x20 - {{id: qa, kind: qa, inputs: [descriptors, descriptions, facts]}}\n",
        frame_stages(name)
    )
}

/// The frame stages, rules texts and items, answered by `responder`, its records in `responses.jsonl`.
fn respond_spec(responder: &str) -> String {
    format!(
        "{}\
         \x20 - {{id: model, kind: respond, inputs: [qa, descriptors, facts], params: {responder}}}\n\
         sinks:\n\
         \x20 - {{id: responses, kind: jsonl, inputs: [model]}}\n",
        rules_items("seen")
    )
}

#[test]
fn the_frames_a_model_sees_are_declared_recorded_and_keyed() {
    let s = Scratch::new();
    // Per answered request: its image parts' (count, JPEG sizes) and whether it held a video part.
    let seen = Arc::new(std::sync::Mutex::new(Vec::<(usize, bool)>::new()));
    let log = seen.clone();
    let (url, _) = serve_with(move |_, body| {
        let request: serde_json::Value = serde_json::from_str(body).unwrap();
        let parts: Vec<&serde_json::Value> = request["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["content"].as_array())
            .flatten()
            .collect();
        let images = parts.iter().filter(|p| p["type"] == "image_url").count();
        let video = parts.iter().any(|p| {
            p["type"] == "video_url"
                && p["video_url"]["url"]
                    .as_str()
                    .unwrap()
                    .starts_with("data:video/mp4;base64,")
        });
        if request["max_tokens"] != 1 {
            log.lock().unwrap().push((images, video));
        }
        ok("yes", body)
    });
    let llm = format!(
        "{{base_url: \"{url}\", model: test-model, timeout_s: 5.0, backoff_s: 0.01, max_retries: 1}}"
    );
    let records = |s: &Scratch| -> Vec<serde_json::Value> {
        std::fs::read_to_string(s.out("seen").join("responses.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };

    // At 3 frames a second, within 12,544 pixels (16 patches of 28²) per frame.
    let out = run_spec(
        &s,
        &respond_spec(&format!(
            "{{backend: llm, fps: 3.0, max_pixels: 12544, multiple: 28, llm: {llm}}}"
        )),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let by_rate = records(&s);
    assert_eq!(by_rate.len(), 3);
    for r in &by_rate {
        let f = &r["frames"];
        let source = &f["source"];
        let (total, fps) = (
            source["frames"].as_u64().unwrap(),
            source["fps"].as_f64().unwrap(),
        );
        let indices: Vec<u64> = f["indices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(f["send"], "images");
        assert_eq!(
            indices.len() as u64,
            ((total as f64 / fps * 3.0).round() as u64).max(1),
            "{f}"
        );
        assert!(
            indices.windows(2).all(|w| w[0] < w[1]) && *indices.last().unwrap() < total,
            "{f}"
        );
        let (w, h) = (f["width"].as_u64().unwrap(), f["height"].as_u64().unwrap());
        assert!(
            w % 28 == 0 && h % 28 == 0 && w * h <= 12544 && w * h >= 12544 / 2,
            "{f}"
        );
    }
    let sent: Vec<(usize, bool)> = std::mem::take(&mut *seen.lock().unwrap());
    let expected: Vec<usize> = by_rate
        .iter()
        .map(|r| r["frames"]["indices"].as_array().unwrap().len())
        .collect();
    assert!(
        sent.iter().all(|(n, v)| expected.contains(n) && !v),
        "each request holds the clip's sampled frames: {sent:?}"
    );
    let items: usize = by_rate
        .iter()
        .map(|r| r["answers"].as_array().unwrap().len())
        .sum();
    assert!(
        items >= 24 && sent.len() == items,
        "one request per item: {} for {items}",
        sent.len()
    );

    // Another budget is another key: the answers are asked again, at the new size.
    let out = run_spec(
        &s,
        &respond_spec(&format!(
            "{{backend: llm, fps: 3.0, max_pixels: 50176, multiple: 28, llm: {llm}}}"
        )),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        run_json(&s.out("seen"))["operators"]["model"]["computed"],
        3
    );
    let larger = records(&s);
    assert!(
        larger
            .iter()
            .zip(&by_rate)
            .all(|(a, b)| a["frames"]["width"].as_u64() > b["frames"]["width"].as_u64())
    );
    assert_eq!(std::mem::take(&mut *seen.lock().unwrap()).len(), items);

    // The clip itself, as one video part.
    let out = run_spec(
        &s,
        &respond_spec(&format!("{{backend: llm, send: video, llm: {llm}}}")),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let video = records(&s);
    assert!(
        video.iter().all(
            |r| r["frames"]["send"] == "video" && r["frames"]["bytes"].as_u64().unwrap() > 1000
        ),
        "{video:?}"
    );
    let sent = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        sent.len() == items && sent.iter().all(|&(n, v)| n == 0 && v),
        "{sent:?}"
    );
}

#[test]
fn a_single_slot_server_gets_fewer_requests_at_once_instead_of_abandoned_ones() {
    // One request at a time, 40 ms each, as a llama.cpp server with one slot: a
    // request abandoned at the client's timeout is computed all the same.
    let slot = Arc::new(std::sync::Mutex::new(()));
    let (url, _) = serve_with(move |_, body| {
        let _busy = slot.lock().unwrap();
        std::thread::sleep(Duration::from_millis(40));
        ok("The part moves a little up and then down.", body)
    });
    // One store: the second run takes the frame stages from it, and asks its captions anew (another `max_tokens`, another key).
    let s = Scratch::new();
    let calls = |adaptive: bool| {
        let llm = format!(
            "{{base_url: \"{url}\", model: test-model, timeout_s: 0.2, backoff_s: 0.02, max_retries: 8, \
             concurrency: 8, endpoint_concurrency: 8, adaptive: {adaptive}, max_tokens: {}}}",
            if adaptive { 100 } else { 101 }
        );
        let spec = format!(
            "{}\
             \x20 - {{id: facts, kind: facts, inputs: [descriptors]}}\n\
             \x20 - {{id: captions, kind: caption, inputs: [descriptors, facts], params: {{backend: llm, llm: {llm}}}}}\n\
             sinks:\n\
             \x20 - {{id: captions-list, kind: jsonl, inputs: [captions]}}\n",
            frame_stages("slots")
        );
        let out = run_spec(&s, &spec);
        let r = run_json(&s.out("slots"));
        (out.status.code(), r["operators"]["captions"].clone())
    };
    let (code, adaptive) = calls(true);
    assert_eq!(code, Some(0), "{adaptive}");
    assert_eq!(adaptive["computed"], 3);
    let (_, fixed) = calls(false);
    let abandoned = |n: &serde_json::Value| n["calls"]["abandoned"].as_u64().unwrap();
    // Measured here: 27 against 102.
    assert!(
        abandoned(&adaptive) * 2 < abandoned(&fixed),
        "adaptive {adaptive}\nfixed {fixed}"
    );
    let c = &adaptive["calls"];
    assert_eq!(c["answered"], 42, "14 parts of 3 clips: {c}");
    assert!(
        c["wait_ms"].as_u64().unwrap() > 0,
        "requests queue in maflow, not on the server: {c}"
    );
    let (per_call, per_clip) = (
        c["prompt_tokens_per_call"].as_u64().unwrap(),
        c["prompt_tokens_per_clip"].as_u64().unwrap(),
    );
    assert!(
        per_call > 0 && per_clip / per_call == 14,
        "a clip's captions are 14 calls: {c}"
    );
}
