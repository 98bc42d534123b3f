//! Clips as they cross processes: as JSON text, so that the optional fields a
//! clip leaves out of its JSON survive a non-self-describing wire format.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::data::Clip;

/// `#[serde(with = "clip_wire")]` for a [`Clip`] field of a job.
pub fn serialize<S: Serializer>(clip: &Clip, s: S) -> Result<S::Ok, S::Error> {
    serde_json::to_string(clip)
        .map_err(serde::ser::Error::custom)?
        .serialize(s)
}

/// The inverse of [`serialize`].
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Clip, D::Error> {
    let text = String::deserialize(d)?;
    serde_json::from_str(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Job {
        #[serde(with = "super")]
        clip: Clip,
        after: u64,
    }

    #[test]
    fn a_clip_with_missing_fields_crosses_bincode_whole() {
        let clip = Clip {
            id: "a".into(),
            path: "a.mp4".into(),
            label: None,
            label_name: Some("nod".into()),
            participant: None,
            split: None,
            given: Some(serde_json::json!({"items": [1, 2]})),
        };
        let bytes = bincode::serialize(&Job {
            clip: clip.clone(),
            after: 7,
        })
        .unwrap();
        let back: Job = bincode::deserialize(&bytes).unwrap();
        assert_eq!(back.clip, clip);
        assert_eq!(back.after, 7);
    }
}
