//! Sinks: what a run writes to its output folder (the spec's `sinks:` list):
//! record files, the benchmark, its exports to the evaluation harnesses,
//! the training export, MA-Bench Track 3 submissions, the report, and
//! pictures to look at.

pub mod benchmark_files;
pub mod contact_sheet;
pub mod harness;
pub mod json_files;
pub mod jsonl;
pub mod report;
pub mod show;
pub mod track3_prediction;
pub mod train_export;
