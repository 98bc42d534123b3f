//! Device plumbing: the CUDA sources, the device interface, and the two
//! things that run it.
//!
//! The `.cu` files in `kernels/cuda/` are the only device code. They run on
//! an NVIDIA GPU through [`cuda::CudaDevice`] (NVRTC at run time, driver
//! loaded dynamically), or, for tests on machines without one, compiled for
//! the host and run by the emulator (feature `emulator`). One host program,
//! [`crate::flow::cuda::GpuDis`], drives both through the [`Device`] trait,
//! so what the tests exercise is what the GPU runs.

pub mod cuda;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod nvrtc;

use std::fmt;

/// Header compiled in front of every kernel file.
pub const COMMON_HEADER: &str = include_str!("../../cuda/common.cuh");

/// The kernel files: name and source.
pub const SOURCES: &[(&str, &str)] = &[
    ("densify.cu", include_str!("../../cuda/densify.cu")),
    ("image.cu", include_str!("../../cuda/image.cu")),
    (
        "patch_search.cu",
        include_str!("../../cuda/patch_search.cu"),
    ),
    ("refine.cu", include_str!("../../cuda/refine.cu")),
];

/// Names of the kernels (`extern "C" __global__` functions) a source defines.
pub fn kernel_names(source: &str) -> Vec<&str> {
    const MARK: &str = "extern \"C\" __global__ void ";
    source
        .match_indices(MARK)
        .filter_map(|(at, _)| {
            let rest = &source[at + MARK.len()..];
            rest.find('(').map(|end| rest[..end].trim())
        })
        .collect()
}

/// Why GPU work could not be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuError {
    /// No usable device, driver or compiler on this machine.
    Unavailable(String),
    /// A kernel source did not compile cleanly (errors or warnings), with the compiler's log.
    Compile {
        /// The kernel file.
        file: String,
        /// What the compiler said.
        log: String,
    },
    /// A launch, copy or allocation failed.
    Device(String),
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(why) => write!(f, "no CUDA device: {why}"),
            Self::Compile { file, log } => write!(f, "{file} does not compile cleanly:\n{log}"),
            Self::Device(why) => write!(f, "CUDA error: {why}"),
        }
    }
}

impl std::error::Error for GpuError {}

/// Element types of device buffers.
pub trait Element:
    cudarc::driver::DeviceRepr
    + cudarc::driver::ValidAsZeroBits
    + Copy
    + Default
    + Send
    + Sync
    + 'static
{
}
impl Element for f32 {}
impl Element for i32 {}

/// A kernel argument, in the order of the kernel's parameters.
pub enum Arg<'a, D: Device + ?Sized> {
    /// `float*` or `const float*`.
    Floats(&'a D::Buffer<f32>),
    /// `int*` or `const int*`.
    Ints(&'a D::Buffer<i32>),
    /// `float`.
    Float(f32),
    /// `int`.
    Int(i32),
}

impl<D: Device + ?Sized> Arg<'_, D> {
    /// The argument's code in kernel signatures: F, I, f or i.
    pub fn code(&self) -> char {
        match self {
            Self::Floats(_) => 'F',
            Self::Ints(_) => 'I',
            Self::Float(_) => 'f',
            Self::Int(_) => 'i',
        }
    }
}

/// Launch geometry: blocks in the grid and threads in a block, (x, y, z).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Launch {
    /// Blocks.
    pub grid: [u32; 3],
    /// Threads per block.
    pub block: [u32; 3],
}

/// Something that holds buffers and runs the flow kernels on them, in order.
pub trait Device {
    /// A buffer of `T` in device memory.
    type Buffer<T: Element>;
    /// A device copy of `data`.
    fn upload<T: Element>(&self, data: &[T]) -> Result<Self::Buffer<T>, GpuError>;
    /// A zeroed buffer of `len` elements.
    fn zeros<T: Element>(&self, len: usize) -> Result<Self::Buffer<T>, GpuError>;
    /// A host copy of `buf`, after all work launched before.
    fn download<T: Element>(&self, buf: &Self::Buffer<T>) -> Result<Vec<T>, GpuError>;
    /// Runs `kernel` over `launch` with `args`.
    fn launch(&self, kernel: &str, launch: Launch, args: &[Arg<'_, Self>]) -> Result<(), GpuError>;
    /// A name for messages.
    fn name(&self) -> String;
}
