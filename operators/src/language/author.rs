//! What every language operator shares: who writes its text (its `backend`
//! param, [`Author`]: `rules` or `llm`), and the building of its client and
//! prompt template with errors on the params.

use std::path::PathBuf;

use maflow_engine::diagnostic::Diagnostic;
use maflow_engine::params::{ParamDoc, param_error};
use maflow_engine::spec::tree::Node;
use serde::{Deserialize, Serialize};

use crate::language::llm::{Client, Endpoint};
use crate::language::prompt::{Template, resolve};

/// Who writes the text (a language operator's `backend` param).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Author {
    /// The embedded deterministic writer (offline).
    #[default]
    Rules,
    /// A model behind an OpenAI-compatible endpoint.
    Llm,
}

/// A ready LLM author: the client and the template.
#[derive(Clone, Debug)]
pub struct PromptedLlm {
    /// The client.
    pub client: Client,
    /// The prompt.
    pub template: Template,
}

/// Refuses each of `unread` that `params` sets to other than its default
/// (`docs` gives the defaults): the chosen backend (`which`, as the spec
/// writes it) never reads it, so it could only mislead a reader and change
/// a cache key while changing no output. `reader` names the backend that
/// reads them. Written with its default (as `maflow ops` prints every
/// param), it changes nothing and passes.
pub fn refuse_unread(
    params: &Node,
    which: &str,
    unread: &[&str],
    reader: &str,
    docs: &[ParamDoc],
) -> Result<(), Vec<Diagnostic>> {
    let default = |name: &str| {
        docs.iter()
            .find(|d| d.name == name)
            .and_then(|d| d.default.clone())
    };
    let found: Vec<Diagnostic> = unread
        .iter()
        .filter(|name| {
            params
                .get(name)
                .is_some_and(|v| Some(v.to_json()) != default(name))
        })
        .map(|name| {
            param_error(
                params,
                name,
                format!("`{name}` has no effect with `backend: {which}`"),
            )
            .with_help(format!(
                "remove it, or use `backend: {reader}`, which reads it"
            ))
        })
        .collect();
    if found.is_empty() { Ok(()) } else { Err(found) }
}

/// Builds the LLM author when `backend` is `llm` (then `llm` is required);
/// `None` for `rules`. Errors point at the param at fault.
pub fn build_llm(
    params: &Node,
    backend: Author,
    llm: Option<&Endpoint>,
    prompt: Option<&PathBuf>,
    default_prompt: &str,
    placeholders: &[&str],
) -> Result<Option<PromptedLlm>, Vec<Diagnostic>> {
    let template = Template::load(
        prompt.map(|p| resolve(p)).as_deref(),
        default_prompt,
        placeholders,
    )
    .map_err(|e| {
        vec![
            param_error(params, "prompt", e)
                .with_help("fix the file or leave `prompt` out for the built-in one"),
        ]
    })?;
    match (backend, llm) {
        (Author::Rules, _) => Ok(None),
        (Author::Llm, None) => Err(vec![
            param_error(params, "backend", "`backend: llm` needs an `llm:` endpoint")
                .with_help("add `llm: {base_url: http://localhost:8000/v1, model: NAME}` or use `backend: rules`"),
        ]),
        (Author::Llm, Some(endpoint)) => {
            let client = Client::new(endpoint.clone()).map_err(|e| vec![param_error(params, "llm", e)])?;
            Ok(Some(PromptedLlm { client, template }))
        }
    }
}

/// A language operator's canonical config: its params plus, with an `llm`
/// backend, the digest of the prompt in use, so editing the prompt file
/// changes its cache key (derived, hence the `_`).
#[derive(Serialize)]
pub struct WithPrompt<'a, C: Serialize> {
    /// The params.
    #[serde(flatten)]
    pub config: &'a C,
    /// The prompt's digest, with an `llm` backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub _prompt: Option<String>,
}

impl<'a, C: Serialize> WithPrompt<'a, C> {
    /// The keyed config of `config` using `llm`.
    pub fn new(config: &'a C, llm: Option<&PromptedLlm>) -> Self {
        Self {
            config,
            _prompt: llm.map(|l| l.template.digest()),
        }
    }
}
