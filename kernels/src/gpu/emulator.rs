//! The CUDA kernels compiled for the host and run on the CPU, block by block
//! (`kernels/cuda/host/emulator.cpp`): the device of the tests on machines
//! without a GPU. Slow, single precision like the GPU, and faithful to
//! `__syncthreads`/`__syncwarp`: a divergent barrier is an error.
#![allow(unsafe_code)] // FFI to the emulator library; every call is checked below.

use std::cell::UnsafeCell;
use std::ffi::{CStr, CString, c_char, c_int, c_void};

use super::{Arg, Device, Element, GpuError, Launch};

unsafe extern "C" {
    fn maflow_emu_signature(name: *const c_char) -> *const c_char;
    fn maflow_emu_launch(
        name: *const c_char,
        grid: *const u32,
        block: *const u32,
        params: *mut *mut c_void,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
}

/// The emulated device.
#[derive(Clone, Copy, Debug, Default)]
pub struct Emulator;

/// Host memory standing in for device memory; kernels write through it while it is shared.
pub struct HostBuffer<T>(UnsafeCell<Box<[T]>>);

impl<T> HostBuffer<T> {
    fn ptr(&self) -> *mut c_void {
        // SAFETY: no reference into the contents is held across this call.
        unsafe { (*self.0.get()).as_mut_ptr().cast() }
    }
}

/// The argument codes of `kernel` (F float pointer, I int pointer, f float, i int), if it exists.
pub fn signature(kernel: &str) -> Option<String> {
    let name = CString::new(kernel).ok()?;
    // SAFETY: `name` is a valid C string; the result is null or a static C string.
    let sig = unsafe { maflow_emu_signature(name.as_ptr()) };
    // SAFETY: checked non-null; static storage.
    (!sig.is_null()).then(|| {
        unsafe { CStr::from_ptr(sig) }
            .to_string_lossy()
            .into_owned()
    })
}

#[repr(C)]
union Slot {
    ptr: *mut c_void,
    int: i32,
    float: f32,
}

impl Device for Emulator {
    type Buffer<T: Element> = HostBuffer<T>;

    fn upload<T: Element>(&self, data: &[T]) -> Result<HostBuffer<T>, GpuError> {
        Ok(HostBuffer(UnsafeCell::new(data.into())))
    }

    fn zeros<T: Element>(&self, len: usize) -> Result<HostBuffer<T>, GpuError> {
        Ok(HostBuffer(UnsafeCell::new(vec![T::default(); len].into())))
    }

    fn download<T: Element>(&self, buf: &HostBuffer<T>) -> Result<Vec<T>, GpuError> {
        // SAFETY: no kernel runs outside `launch`, so nothing writes during the copy.
        Ok(unsafe { (*buf.0.get()).to_vec() })
    }

    fn launch(&self, kernel: &str, launch: Launch, args: &[Arg<'_, Self>]) -> Result<(), GpuError> {
        let expected = signature(kernel)
            .ok_or_else(|| GpuError::Device(format!("the emulator has no kernel {kernel}")))?;
        let given: String = args.iter().map(Arg::code).collect();
        if given != expected {
            return Err(GpuError::Device(format!(
                "{kernel} takes arguments ({expected}), launched with ({given})"
            )));
        }
        let mut slots: Vec<Slot> = args
            .iter()
            .map(|a| match a {
                Arg::Floats(b) => Slot { ptr: b.ptr() },
                Arg::Ints(b) => Slot { ptr: b.ptr() },
                Arg::Float(f) => Slot { float: *f },
                Arg::Int(i) => Slot { int: *i },
            })
            .collect();
        let mut params: Vec<*mut c_void> =
            slots.iter_mut().map(|s| (s as *mut Slot).cast()).collect();
        let name = CString::new(kernel)
            .map_err(|_| GpuError::Device(format!("bad kernel name {kernel:?}")))?;
        let mut err = vec![0 as c_char; 1024];
        // SAFETY: the signature matches the argument kinds, every pointer is a live buffer
        // and every slot outlives the call, which returns once the whole grid has run.
        let rc = unsafe {
            maflow_emu_launch(
                name.as_ptr(),
                launch.grid.as_ptr(),
                launch.block.as_ptr(),
                params.as_mut_ptr(),
                err.as_mut_ptr(),
                err.len(),
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            // SAFETY: the emulator wrote a terminated message into `err`.
            Err(GpuError::Device(
                unsafe { CStr::from_ptr(err.as_ptr()) }
                    .to_string_lossy()
                    .into_owned(),
            ))
        }
    }

    fn name(&self) -> String {
        "CUDA emulator (host)".into()
    }
}
