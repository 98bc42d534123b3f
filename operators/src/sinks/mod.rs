//! Sinks: what a run writes to its output folder (the spec's `sinks:` list):
//! record files, the benchmark, its exports to the evaluation harnesses,
//! the training export, MA-Bench Track 3 submissions, the report, and
//! pictures to look at.

pub mod bench;
pub mod contact_sheet;
pub mod harness;
pub mod json_files;
pub mod jsonl;
pub mod recognition;
pub mod report;
pub mod report_charts;
pub mod report_exports;
pub mod report_html;
pub mod report_selection;
pub mod results_table;
pub mod show;
pub mod track3_prediction;
pub mod train_export;
