//! Content keys of clips and node outputs.
//!
//! A clip's key covers its file contents and its metadata; a node's key for a
//! clip covers the node's fingerprint (kind, version, config) and the keys of
//! its inputs for that clip. Equal keys mean equal outputs.

use crate::data::Clip;
use crate::store::Key;

/// Key of a clip record: file content hash plus every metadata field.
pub fn clip_key(clip: &Clip, content: &[u8; 32]) -> Key {
    let mut h = blake3::Hasher::new();
    h.update(b"maflow.clip.v1\0");
    for field in [
        Some(clip.id.as_str()),
        clip.label.map(|l| l.to_string()).as_deref(),
        clip.label_name.as_deref(),
        clip.participant.as_deref(),
        clip.split.as_deref(),
    ] {
        // Length-prefixed, with a distinct marker for absent fields.
        match field {
            Some(s) => {
                h.update(&(s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
            None => {
                h.update(&u64::MAX.to_le_bytes());
            }
        }
    }
    // Only present where a source states it, so the keys of every other clip stay as they were.
    if let Some(given) = &clip.given {
        let text = serde_json::to_string(given).expect("values serialise");
        h.update(b"given\0");
        h.update(&(text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    h.update(content);
    *h.finalize().as_bytes()
}

/// Key of a node's output for one clip.
pub fn output_key(fingerprint: &[u8; 32], inputs: &[Key]) -> Key {
    let mut h = blake3::Hasher::new();
    h.update(b"maflow.output.v1\0");
    h.update(fingerprint);
    for k in inputs {
        h.update(k);
    }
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(label: Option<u32>) -> Clip {
        Clip {
            id: "a".into(),
            path: "x.mp4".into(),
            label,
            label_name: None,
            participant: None,
            split: None,
            given: None,
        }
    }

    #[test]
    fn keys_depend_on_content_metadata_and_config_but_not_path() {
        let c = [1u8; 32];
        assert_eq!(
            clip_key(&clip(None), &c),
            clip_key(
                &Clip {
                    path: "elsewhere.mp4".into(),
                    ..clip(None)
                },
                &c
            )
        );
        assert_ne!(clip_key(&clip(None), &c), clip_key(&clip(Some(0)), &c));
        assert_ne!(clip_key(&clip(None), &c), clip_key(&clip(None), &[2u8; 32]));
        let k = clip_key(&clip(None), &c);
        assert_ne!(output_key(&[0; 32], &[k]), output_key(&[1; 32], &[k]));
    }
}
