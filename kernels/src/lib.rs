//! Compute kernels of maflow: pure functions over pixel arrays.
//!
//! Kernels know nothing about the engine or the operators. Each kernel that
//! gets a CUDA version (`kernels/cuda/`, driven by [`gpu`]) keeps its CPU
//! twin here as the reference.
#![forbid(missing_docs)]

pub mod crop;
pub mod draw;
pub mod flow;
pub mod font;
pub mod geometry;
pub mod gpu;
pub mod luma;
pub mod png_io;
pub mod resize;
