//! The maflow engine: specs, graphs, the content-addressed store and execution.
//!
//! A YAML spec ([`spec`]) compiles against an operator table ([`registry`])
//! into a typed graph with fused frame stages ([`graph`]), which runs on
//! timely ([`exec`]) with every output keyed by content ([`keys`], [`store`]).
//! The engine knows no operator by name.
#![forbid(missing_docs)]

pub mod data;
pub mod diagnostic;
pub mod exec;
pub mod graph;
pub mod keys;
pub mod params;
pub mod pool;
pub mod progress;
pub mod registry;
pub mod spec;
pub mod store;
