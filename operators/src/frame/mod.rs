//! Frame-stage operators: what runs per frame inside a clip's fused stage
//! (decode, flow, pose or skeleton files, segment, align, descriptor), and
//! `descriptor-files`, which stands in for that chain with descriptors made
//! elsewhere.

pub mod align;
pub mod decode;
pub mod descriptor;
pub mod descriptor_files;
pub mod flow;
pub mod flow_region;
pub mod pose;
pub mod replay;
pub mod segment;
pub mod skeleton;
