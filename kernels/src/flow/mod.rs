//! Dense optical flow: DIS on the CPU, the estimator type both the CPU and
//! CUDA sides implement, flow fields, `.flo` files, colour coding.

pub mod color;
pub mod dis;
pub mod estimator;
pub mod field;
pub mod image;
pub mod planes;
pub mod variational;
