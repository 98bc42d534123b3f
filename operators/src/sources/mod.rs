//! Sources: where a spec's clips come from (the spec's `sources:` list).

pub mod folder;
pub mod ma52;
