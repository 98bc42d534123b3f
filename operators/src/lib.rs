//! The operators of maflow, grouped as a spec's sections are ([`sources`],
//! the per-frame stage in [`frame`], [`language`], [`sinks`], and the
//! [`common`] code they share), one file per kind named after it, and the
//! table that registers them.
//!
//! Each file holds a `#[configurable]` `<Name>Config` (serde,
//! `deny_unknown_fields`; its doc comments are the user reference that
//! `maflow ops` prints), its `KIND` row and a runtime implementing one of
//! the engine's operator traits, and knows nothing about timely.
#![forbid(missing_docs)]

use std::sync::OnceLock;

use maflow_engine::registry::Registry;

pub mod common;
pub mod frame;
pub mod language;
pub mod prelude;
pub mod sinks;
pub mod sources;

/// The operator table.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        Registry::new(vec![
            sources::ma52::KIND,
            sources::folder::KIND,
            sources::ma_bench_json::KIND,
            frame::decode::KIND,
            frame::flow::KIND,
            frame::pose::KIND,
            frame::skeleton::KIND,
            frame::segment::KIND,
            frame::align::KIND,
            frame::descriptor::KIND,
            frame::descriptor_files::KIND,
            language::facts::KIND,
            language::caption::KIND,
            language::describe::KIND,
            language::qa::KIND,
            language::given_qa::KIND,
            language::respond::KIND,
            language::judge::KIND,
            sinks::contact_sheet::KIND,
            sinks::show::KIND,
            sinks::jsonl::KIND,
            sinks::json_files::KIND,
            sinks::benchmark_files::KIND,
            sinks::report::KIND,
            sinks::train_export::KIND,
            sinks::harness::KIND,
            sinks::track3_prediction::KIND,
        ])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use maflow_engine::registry::Runtime;
    use maflow_engine::spec::Section;
    use maflow_engine::spec::tree::parse;

    #[test]
    fn every_kind_is_documented_and_its_example_builds_and_covers_every_field() {
        // Examples name paths relative to the repository root, as users run maflow from there.
        std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).unwrap();
        for kind in registry().kinds() {
            assert!(!kind.doc.trim().is_empty(), "{} has no doc", kind.name);
            let example = kind.example();
            let node =
                parse(&example, 0, 0).unwrap_or_else(|e| panic!("{} example: {e:?}", kind.name));
            let built = (kind.build)(&node)
                .unwrap_or_else(|e| panic!("{} example does not build: {e:?}", kind.name));
            let example_keys: Vec<String> = node
                .as_map()
                .unwrap_or_default()
                .iter()
                .map(|(k, _)| k.scalar_text())
                .collect();
            // Fields starting with `_` are derived (e.g. a digest of input files), not params.
            for field in built
                .config
                .as_object()
                .expect("configs are structs")
                .keys()
                .filter(|k| !k.starts_with('_'))
            {
                assert!(
                    example_keys.contains(field),
                    "{}: example lacks field `{field}`",
                    kind.name
                );
            }
            match (&built.runtime, kind.section) {
                (Runtime::Source(_), s) => assert_eq!(s, Section::Sources, "{}", kind.name),
                (Runtime::RecordSink(_), s) => assert_eq!(s, Section::Sinks, "{}", kind.name),
                _ => assert!(!kind.inputs.is_empty(), "{} needs inputs", kind.name),
            }
            assert_eq!(
                kind.output.is_none(),
                kind.section == Section::Sinks,
                "{}",
                kind.name
            );
        }
    }
}
