//! The language stages: part captions, clip descriptions, benchmark items,
//! answers of models under test and their judgements, and the LLM client and
//! prompt templates they use (the scores are the report's). Each runs
//! offline by default (the `rules` author and the baselines) and switches to
//! an OpenAI-compatible endpoint by YAML alone.

pub mod agreement;
pub mod answers;
pub mod author;
pub mod caption;
pub mod clip_motion;
pub mod describe;
pub mod explain;
pub mod facts;
pub mod given_qa;
pub mod judge;
pub mod llm;
pub mod oracle;
pub mod prompt;
pub mod qa;
pub mod respond;
pub mod rng;
