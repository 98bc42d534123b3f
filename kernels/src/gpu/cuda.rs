//! The flow kernels on an NVIDIA GPU through cudarc: the driver is loaded at
//! run time (a machine without one gets an error, never a panic), the
//! sources are compiled by NVRTC for the device's architecture, and the PTX
//! is cached on disk.
#![allow(unsafe_code)] // kernel launches are unsafe in cudarc; argument kinds are checked against the sources.

use std::collections::HashMap;
use std::sync::Arc;

use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::Ptx;

use super::{Arg, Device, Element, GpuError, Launch, SOURCES, kernel_names, nvrtc};

/// One GPU, one stream, the flow kernels loaded.
pub struct CudaDevice {
    stream: Arc<CudaStream>,
    functions: HashMap<String, CudaFunction>,
    name: String,
}

/// Whether the CUDA driver library can be loaded (says nothing about devices).
pub fn driver_present() -> bool {
    // SAFETY: only tries to open the library.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

fn driver_error(what: &str) -> impl Fn(cudarc::driver::DriverError) -> GpuError + '_ {
    move |e| GpuError::Device(format!("{what}: {e:?}"))
}

impl CudaDevice {
    /// Opens GPU `ordinal` and compiles (or loads from the cache) the kernels for it.
    pub fn open(ordinal: usize) -> Result<Self, GpuError> {
        if !driver_present() {
            return Err(GpuError::Unavailable(
                "the NVIDIA driver library (libcuda.so) is not installed on this machine".into(),
            ));
        }
        let count = CudaContext::device_count().map_err(|e| {
            GpuError::Unavailable(format!("the CUDA driver found no usable device ({e:?})"))
        })?;
        if ordinal as i32 >= count {
            return Err(GpuError::Unavailable(format!(
                "device {ordinal} asked for, {count} present"
            )));
        }
        let ctx = CudaContext::new(ordinal)
            .map_err(|e| GpuError::Unavailable(format!("device {ordinal} did not open ({e:?})")))?;
        let (major, minor) = ctx
            .compute_capability()
            .map_err(driver_error("compute capability"))?;
        let arch = format!("compute_{major}{minor}");
        let name = format!(
            "{} ({arch})",
            ctx.name()
                .unwrap_or_else(|_| format!("CUDA device {ordinal}"))
        );
        let mut functions = HashMap::new();
        for (file, source) in SOURCES {
            let ptx = nvrtc::compile_cached(file, source, &arch)?;
            let module = ctx
                .load_module(Ptx::from_src(ptx))
                .map_err(driver_error(file))?;
            for kernel in kernel_names(source) {
                functions.insert(
                    kernel.to_string(),
                    module.load_function(kernel).map_err(driver_error(kernel))?,
                );
            }
        }
        Ok(Self {
            stream: ctx.default_stream(),
            functions,
            name,
        })
    }
}

impl Device for CudaDevice {
    type Buffer<T: Element> = CudaSlice<T>;

    fn upload<T: Element>(&self, data: &[T]) -> Result<CudaSlice<T>, GpuError> {
        self.stream.clone_htod(data).map_err(driver_error("upload"))
    }

    fn zeros<T: Element>(&self, len: usize) -> Result<CudaSlice<T>, GpuError> {
        self.stream
            .alloc_zeros(len.max(1))
            .map_err(driver_error("alloc"))
    }

    fn download<T: Element>(&self, buf: &CudaSlice<T>) -> Result<Vec<T>, GpuError> {
        self.stream
            .clone_dtoh(buf)
            .map_err(driver_error("download"))
    }

    fn launch(&self, kernel: &str, launch: Launch, args: &[Arg<'_, Self>]) -> Result<(), GpuError> {
        let f = self
            .functions
            .get(kernel)
            .ok_or_else(|| GpuError::Device(format!("no kernel {kernel}")))?;
        let mut builder = self.stream.launch_builder(f);
        for arg in args {
            match arg {
                Arg::Floats(b) => builder.arg(*b),
                Arg::Ints(b) => builder.arg(*b),
                Arg::Float(v) => builder.arg(v),
                Arg::Int(v) => builder.arg(v),
            };
        }
        let [gx, gy, gz] = launch.grid;
        let [bx, by, bz] = launch.block;
        let cfg = LaunchConfig {
            grid_dim: (gx, gy, gz),
            block_dim: (bx, by, bz),
            shared_mem_bytes: 0,
        };
        // SAFETY: the host program passes each kernel the arguments of its signature
        // (checked by the emulator in tests) and buffers sized for the launch.
        unsafe { builder.launch(cfg) }
            .map(|_| ())
            .map_err(driver_error(kernel))
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}
