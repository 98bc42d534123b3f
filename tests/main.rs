//! Integration tests of maflow, compiled as one binary.

mod bad_inputs;
mod demo;
mod descriptors;
mod determinism;
mod exports;
mod flow_pipeline;
mod fuzz;
mod json_schema;
mod language;
mod language_golden;
mod official;
mod qa_check;
mod report_browser;
mod resume;
mod selection;
mod spec_checks;
mod spec_errors;
mod store;
mod store_upkeep;
mod support;
mod synth;
mod watch;
