//! What several operators share: the body model and its 14 parts, the MA-52
//! taxonomy, motion summaries, ONNX Runtime, rounding, pictures and digests.

pub mod base64;
pub mod body;
pub mod folder_digest;
pub mod motion_summary;
pub mod onnx;
pub mod onnx_prune;
pub mod picture_grid;
pub mod record_types;
pub mod rounding;
pub mod taxonomy;
