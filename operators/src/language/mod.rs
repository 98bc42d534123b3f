//! The language stages: part captions, clip descriptions, benchmark items,
//! answers of models under test, judgements and scores, and the LLM
//! client and prompt templates they use. Each runs offline by default (`rules` backends and
//! baselines) and switches to an OpenAI-compatible endpoint by YAML alone.

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
