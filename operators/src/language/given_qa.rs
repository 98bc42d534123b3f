//! `given-qa`: the items a source gives with its clips (a published
//! benchmark's questions, such as `ma-bench-json`'s), as a `qa` record, so
//! that `respond`, `judge` and the sinks treat them as maflow's own.
//!
//! Record: `{"items": [...], "given": true}`; items without an answer (a
//! split published without its key) are asked and not scored. A clip whose
//! video is missing fails here, naming its items: nothing is asked of a
//! video nobody can see, baselines included, so every row of the scores
//! covers the same items.

use serde_json::{Value, json};

use super::qa::item::Item;
use crate::common::record_types::{self as records, record};
use crate::prelude::*;

/// The items a source gives with each clip (`ma-bench-json`: the authors' questions), as a `qa` record.
/// Items without an answer are asked and left unscored.
#[configurable]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenQaConfig {}

/// The registry row.
pub const KIND: OperatorKind = OperatorKind {
    name: "given-qa",
    section: Section::Operators,
    version: 1,
    doc: GivenQaConfig::DOC,
    inputs: &[Port::new("clips", PortType::Clips)
        .hint("connect it to a source that gives questions, such as `ma-bench-json`")],
    output: Some(record(records::QA)),
    params: GivenQaConfig::params,
    build,
};

fn build(params: &Node) -> Result<Built, Vec<Diagnostic>> {
    let config: GivenQaConfig = parse_params(params)?;
    Ok(Built::new(&config, Runtime::Record(Arc::new(GivenQa))))
}

struct GivenQa;

impl RecordOperator for GivenQa {
    fn run(
        &self,
        clip: &Clip,
        _inputs: &[&Value],
        _ctx: &mut RecordContext<'_>,
    ) -> Result<Output, String> {
        let given = clip.given.as_ref().ok_or(
            "its source gives no questions: `given-qa` reads a source such as `ma-bench-json`",
        )?;
        let items: Vec<Item> = serde_json::from_value(given["items"].clone())
            .map_err(|e| format!("the source's items are not items: {e}"))?;
        if !clip.path.is_file() {
            let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
            return Err(format!(
                "video not found at {}: its {} items ({}) are not asked",
                clip.path.display(),
                ids.len(),
                ids.join(", ")
            ));
        }
        Ok(Output::record(json!({"items": items, "given": true})))
    }
}
