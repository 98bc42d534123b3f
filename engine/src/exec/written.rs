//! What each sink of an output folder was last given: per sink and clip,
//! the keys of the records it wrote (`<out>/.maflow/written.json`).
//!
//! A run whose chain fails for a clip hands its sinks the records this file
//! names instead (still in the store, since the store is content-addressed),
//! so a failure costs the clip's freshness, never the clip: aggregates are
//! never blanked by a run that broke, and the folder's per-clip files and
//! aggregates keep agreeing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::{Key, StoreError, write_atomic};

/// The sinks' records of one run, by sink node id, then clip id: one key per input (`None` where it was missing).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Written {
    format: u32,
    sinks: BTreeMap<String, BTreeMap<String, Vec<Option<String>>>>,
}

const FORMAT: u32 = 1;

/// Where an output folder keeps it.
pub fn path_in(out_dir: &Path) -> PathBuf {
    out_dir.join(".maflow").join("written.json")
}

impl Written {
    /// The folder's file; empty when there is none or it cannot be read (then nothing is kept from earlier runs).
    pub fn load(out_dir: &Path) -> Self {
        let path = path_in(out_dir);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Self::default();
        };
        match serde_json::from_str::<Written>(&text) {
            Ok(w) if w.format == FORMAT => w,
            _ => {
                tracing::warn!(path = %path.display(), "unreadable record of earlier sink writes; nothing is kept from earlier runs");
                Self::default()
            }
        }
    }

    /// The keys `sink` wrote for `clip`, if it wrote the clip with `inputs` inputs.
    pub fn get(&self, sink: &str, clip: &str, inputs: usize) -> Option<Vec<Option<Key>>> {
        let keys = self.sinks.get(sink)?.get(clip)?;
        (keys.len() == inputs).then(|| {
            keys.iter()
                .map(|k| k.as_deref().and_then(parse_key))
                .collect()
        })
    }

    /// Every key any sink was given: what a later run may hand its sinks instead of a failed clip's records.
    pub fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.sinks
            .values()
            .flat_map(|clips| clips.values())
            .flatten()
            .filter_map(|k| k.as_deref().and_then(parse_key))
    }

    /// Notes what `sink` wrote for `clip`.
    pub fn insert(&mut self, sink: &str, clip: &str, keys: &[Option<Key>]) {
        let hex = keys
            .iter()
            .map(|k| k.map(|k| blake3::Hash::from_bytes(k).to_hex().to_string()))
            .collect();
        self.sinks
            .entry(sink.to_string())
            .or_default()
            .insert(clip.to_string(), hex);
    }

    /// Writes it into the folder (atomically).
    pub fn save(&self, out_dir: &Path) -> Result<(), StoreError> {
        let text = serde_json::to_string(&Written {
            format: FORMAT,
            sinks: self.sinks.clone(),
        })
        .expect("serialises");
        write_atomic(&path_in(out_dir), text.as_bytes())
    }
}

fn parse_key(hex: &str) -> Option<Key> {
    blake3::Hash::from_hex(hex).ok().map(|h| *h.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_survive_a_round_trip_and_a_changed_port_count_is_no_match() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Written::default();
        w.insert("report", "c1", &[Some([7; 32]), None]);
        w.save(dir.path()).unwrap();
        let back = Written::load(dir.path());
        assert_eq!(back.get("report", "c1", 2), Some(vec![Some([7; 32]), None]));
        assert_eq!(back.get("report", "c1", 3), None);
        assert_eq!(back.get("report", "c2", 2), None);
        std::fs::write(path_in(dir.path()), "{not json").unwrap();
        assert_eq!(Written::load(dir.path()).get("report", "c1", 2), None);
    }
}
