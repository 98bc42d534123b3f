//! `judge`: scores a model's answers to a clip's items. Closed items are
//! right or wrong against the answer key; MADU and MARE get L1..L3 in 0..5
//! from an LLM with the rubrics of `pipelines/prompts/judge.md` (strict
//! JSON, one corrective retry on a malformed reply), or from the embedded
//! `rules` judge (offline default, labelled as such). An item without an
//! answer (a published split that keeps its answers back) is not scored:
//! `correct` is `null`, and an open one gets no levels.
//!
//! Record: `{"model", "judge", "items": [{"id", "task", "answer", "parsed",
//! "reply", "correct" | "L1", "L2", "L3"}]}`.

mod rules;

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::common::record_types::{self as records, record};
use crate::language::author::{Author, PromptedLlm, WithPrompt, build_llm, refuse_unread};
use crate::language::llm::{CallError, Message, json_object_in};
use crate::language::prompt::Template;
use crate::language::qa::item::Item;
use crate::prelude::*;

/// The built-in rubrics, one section per open task.
pub const DEFAULT_PROMPT: &str = include_str!("../../../../pipelines/prompts/judge.md");
const PLACEHOLDERS: [&str; 3] = ["question", "reference", "answer"];

/// Scores a model's answers: closed items against the key; MADU and MARE with L1..L3 in 0..5 by an
/// LLM with the rubrics (strict JSON, corrective retry) or by the embedded `rules` judge (overlap of
/// parts, directions, order and labels with the reference; the offline default, labelled `rules`).
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeConfig {
    /// `rules` (offline) or `llm`.
    #[serde(default)]
    pub backend: Author,
    /// Rubric file for `llm` (`## MADU` and `## MARE` sections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[example("pipelines/prompts/judge.md")]
    pub prompt: Option<PathBuf>,
    /// The endpoint for `llm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[example(
        r#"{base_url: http://localhost:8000/v1, model: Qwen3-8B, api_key: "${env:LLM_KEY}"}"#
    )]
    #[fields(crate::language::llm::Endpoint)]
    pub llm: Option<crate::language::llm::Endpoint>,
    /// Corrective retries after a reply that is not the asked-for JSON.
    #[default(1)]
    pub format_retries: u32,
}

/// Input: the clip's items.
const QA: RecordIn = RecordIn::new(0, "qa", records::QA);
/// Input: a model's answers to them.
const RESPONSES: RecordIn = RecordIn::new(1, "responses", records::RESPONSES);

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "judge",
    section: Section::Operators,
    version: 1,
    doc: JudgeConfig::DOC,
    inputs: &[QA.port(), RESPONSES.port()],
    output: Some(record(records::JUDGEMENTS)),
    params: JudgeConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: JudgeConfig = parse_params(params)?;
    if config.backend == Author::Rules {
        refuse_unread(
            params,
            "rules",
            &["prompt", "llm", "format_retries"],
            "llm",
            &JudgeConfig::params(),
        )?;
    }
    let llm = build_llm(
        params,
        config.backend,
        config.llm.as_ref(),
        config.prompt.as_ref(),
        DEFAULT_PROMPT,
        &PLACEHOLDERS,
    )?;
    let rubrics = match &llm {
        None => None,
        Some(llm) => {
            let section = |task: &str| {
                let text = llm.template.section(task).ok_or_else(|| {
                    vec![param_error(
                        params,
                        "prompt",
                        "the rubric file needs a `## MADU` and a `## MARE` section",
                    )]
                })?;
                Template::load(None, &text, &PLACEHOLDERS)
                    .map_err(|e| vec![param_error(params, "prompt", e)])
            };
            Some([section("MADU")?, section("MARE")?])
        }
    };
    let keyed = WithPrompt::new(&config, llm.as_ref());
    let label = match &llm {
        Some(l) => format!("llm: {}", l.client.label()),
        None => "rules".to_string(),
    };
    Ok(Built::new(
        &keyed,
        Runtime::Record(Arc::new(Judge {
            llm,
            rubrics,
            label,
            retries: config.format_retries,
        })),
    ))
}

struct Judge {
    llm: Option<PromptedLlm>,
    /// The MADU and MARE sections of the rubric file.
    rubrics: Option<[Template; 2]>,
    label: String,
    retries: u32,
}

impl RecordOperator for Judge {
    fn run(
        &self,
        _clip: &Clip,
        inputs: &[&Value],
        ctx: &mut RecordContext<'_>,
    ) -> Result<Output, String> {
        let items: Vec<Item> = serde_json::from_value(QA.read(inputs)["items"].clone())
            .map_err(|e| format!("the `qa` input is not a qa record: {e}"))?;
        let answers = RESPONSES.read(inputs)["answers"]
            .as_array()
            .ok_or("the `responses` input is not a respond record")?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let answer = answers.iter().find(|a| a["id"] == item.id.as_str());
            let reply = answer.and_then(|a| a["reply"].as_str()).unwrap_or("");
            let parsed = answer.map_or(Value::Null, |a| a["parsed"].clone());
            let mut row = json!({"id": item.id, "task": item.task, "answer": item.answer, "parsed": parsed, "reply": reply});
            match item.task.as_str() {
                // A published split without answers (MA-Bench's full split) is answered, not scored.
                "MADU" | "MARE" if item.reference.as_deref().is_none_or(str::is_empty) => {}
                "MADU" | "MARE" => {
                    let reference = item.reference.as_deref().unwrap_or("");
                    let [l1, l2, l3] = match &self.llm {
                        None if item.task == "MADU" => rules::madu(reference, reply),
                        None => rules::mare(reference, reply),
                        Some(llm) => self
                            .ask(llm, item, reference, reply, ctx)
                            .map_err(|e| format!("judging {}: {e}", item.id))?,
                    };
                    row["L1"] = json!(l1);
                    row["L2"] = json!(l2);
                    row["L3"] = json!(l3);
                }
                _ if item.answer.is_empty() => row["correct"] = Value::Null,
                _ => row["correct"] = json!(parsed.as_str() == Some(item.answer.as_str())),
            }
            out.push(row);
        }
        Ok(Output::record(
            json!({"model": RESPONSES.read(inputs)["model"], "judge": self.label, "items": out}),
        ))
    }

    fn served(&self, cache_dir: &std::path::Path) -> Option<Value> {
        self.llm.as_ref().map(|l| l.client.served(cache_dir))
    }

    fn calls_report(&self, calls: &CallCounts, computed: u64) -> CallsReport {
        crate::language::llm::counters::report(calls, computed)
    }
}

impl Judge {
    fn ask(
        &self,
        llm: &PromptedLlm,
        item: &Item,
        reference: &str,
        reply: &str,
        ctx: &mut RecordContext<'_>,
    ) -> Result<[u8; 3], String> {
        let rubrics = self.rubrics.as_ref().expect("built with the llm backend");
        let rubric = if item.task == "MADU" {
            &rubrics[0]
        } else {
            &rubrics[1]
        };
        let prompt = rubric.render(&[
            ("question", &item.question),
            ("reference", reference),
            ("answer", reply),
        ]);
        let mut messages = vec![Message::text("user", prompt)];
        let mut last = String::new();
        for _ in 0..=self.retries {
            match llm.client.complete(&messages, true, ctx, parse_scores) {
                Ok(scores) => return Ok(scores),
                Err(CallError::Refused { reply, cause }) => {
                    last = cause;
                    // Turns alternate: the bad reply is the assistant's, the correction the user's.
                    messages.push(Message::text("assistant", reply));
                    messages.push(Message::text(
                        "user",
                        "Your reply was not the JSON object asked for. Reply with exactly one JSON object: \
                         {\"L1_score\": n, \"L2_score\": n, \"L3_score\": n, \"reason\": \"...\"}, integers 0 to 5.",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last)
    }
}

/// The three scores of a judge's reply; anything else is an error.
pub fn parse_scores(reply: &str) -> Result<[u8; 3], String> {
    let map = json_object_in(reply).map_err(|e| format!("judge reply: {e}"))?;
    let mut out = [0u8; 3];
    for (k, name) in ["L1_score", "L2_score", "L3_score"].iter().enumerate() {
        let v = map
            .get(*name)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("judge reply: `{name}` missing or not an integer"))?;
        out[k] = u8::try_from(v)
            .ok()
            .filter(|v| *v <= 5)
            .ok_or_else(|| format!("judge reply: `{name}` = {v} is outside 0..5"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default rubric states, for each open task, every level's condition for every score, and the general rules.
    #[test]
    fn the_default_rubric_defines_every_score_of_every_level_and_the_rules() {
        for task in ["MADU", "MARE"] {
            let rubric = Template::load(None, DEFAULT_PROMPT, &PLACEHOLDERS).unwrap();
            let section = rubric
                .section(task)
                .unwrap_or_else(|| panic!("no `## {task}` section"));
            for level in ["L1_score", "L2_score", "L3_score"] {
                let start = section
                    .find(&format!("\n{level},"))
                    .unwrap_or_else(|| panic!("{task}: {level} is not defined"));
                let body = &section[start + 1..];
                let end = body[1..].find("\n\n").map_or(body.len(), |e| e + 1);
                for score in 0..=5 {
                    assert!(
                        body[..end].contains(&format!("\n- {score}: ")),
                        "{task} {level}: no condition for {score}"
                    );
                }
            }
            let rules = &section[section
                .find("Rules for every dimension:")
                .expect("general rules")..];
            for (n, says) in [
                (1, "two texts alone"),
                (2, "contradiction"),
                (3, "finer"),
                (4, "lower one"),
                (5, "integers"),
            ] {
                assert!(
                    rules.contains(&format!("{n}. ")) && rules.contains(says),
                    "{task}: rule {n} ({says}) missing"
                );
            }
        }
    }

    #[test]
    fn scores_are_strict() {
        assert_eq!(
            parse_scores(r#"{"L1_score": 4, "L2_score": 0, "L3_score": 5, "reason": "x"}"#)
                .unwrap(),
            [4, 0, 5]
        );
        assert!(parse_scores(r#"{"L1_score": 6, "L2_score": 0, "L3_score": 5}"#).is_err());
        assert!(
            parse_scores("The answer is good.")
                .unwrap_err()
                .starts_with("judge reply")
        );
        assert!(parse_scores(r#"{"L1_score": 4, "L2_score": 0"#).is_err());
    }
}
