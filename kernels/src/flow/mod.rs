//! Dense optical flow: DIS on the CPU, flow fields, `.flo` files, colour coding.

pub mod color;
pub mod dis;
pub mod field;
pub mod image;
pub mod planes;
pub mod variational;
