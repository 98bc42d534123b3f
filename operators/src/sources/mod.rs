//! Sources: where a spec's clips come from (the spec's `sources:` list),
//! and the seeded draw a source can make of them.

pub mod folder;
pub mod ma52;
pub mod ma_bench_json;
pub mod select_names;
pub mod selection;
