//! Kernel sources to PTX with NVRTC, strictly (a warning is an error), with
//! the PTX cached on disk per source, architecture and compiler version.
#![allow(unsafe_code)] // NVRTC calls through cudarc's raw bindings, to read the log of a successful compile too.

use std::ffi::CStr;
use std::path::PathBuf;

use cudarc::nvrtc::{result, sys};

use super::{COMMON_HEADER, GpuError};

/// Whether libnvrtc can be loaded on this machine.
pub fn available() -> bool {
    // SAFETY: only tries to open the library.
    unsafe { sys::is_culib_present() }
}

/// NVRTC's version, (major, minor).
pub fn version() -> Result<(i32, i32), GpuError> {
    if !available() {
        return Err(missing());
    }
    let (mut major, mut minor) = (0, 0);
    // SAFETY: the library is present; two out-parameters.
    unsafe { sys::nvrtcVersion(&mut major, &mut minor) }
        .result()
        .map_err(|e| GpuError::Device(format!("nvrtcVersion: {e:?}")))?;
    Ok((major, minor))
}

fn missing() -> GpuError {
    GpuError::Unavailable(
        "NVRTC (libnvrtc.so.12) not found: `pip install nvidia-cuda-nvrtc-cu12` and put its nvidia/cuda_nvrtc/lib on LD_LIBRARY_PATH".into(),
    )
}

/// The options every kernel is compiled with, for a virtual architecture such as `compute_80`.
pub fn options(arch: &str) -> Vec<String> {
    // No contraction into fused multiply-adds: the CPU twin does not fuse either.
    vec![
        format!("--gpu-architecture={arch}"),
        "--fmad=false".into(),
        "--std=c++17".into(),
    ]
}

/// PTX of one kernel file (with the common header in front) for `arch`.
/// Any error or warning fails, with the compiler's log.
pub fn compile(file: &str, source: &str, arch: &str) -> Result<String, GpuError> {
    if !available() {
        return Err(missing());
    }
    let text = format!("{COMMON_HEADER}\n#line 1 \"{file}\"\n{source}");
    let src = std::ffi::CString::new(text).map_err(|_| GpuError::Compile {
        file: file.into(),
        log: "NUL byte in source".into(),
    })?;
    let name = std::ffi::CString::new(file).expect("file names have no NUL");
    let prog = result::create_program(&src, Some(&name))
        .map_err(|e| GpuError::Device(format!("nvrtcCreateProgram: {e:?}")))?;
    let opts = options(arch);
    // SAFETY: `prog` is a live program until destroyed at the end; options are plain strings.
    let compiled = unsafe { result::compile_program(prog, &opts) };
    // SAFETY: as above.
    let log = unsafe { result::get_program_log(prog) }.map(|raw| {
        // SAFETY: NVRTC's log is NUL-terminated.
        unsafe { CStr::from_ptr(raw.as_ptr()) }
            .to_string_lossy()
            .trim()
            .to_string()
    });
    let ptx = compiled.and_then(|()| {
        // SAFETY: the program compiled.
        unsafe { result::get_ptx(prog) }
    });
    // SAFETY: destroyed once, nothing uses it afterwards.
    let _ = unsafe { result::destroy_program(prog) };
    let log = log.unwrap_or_default();
    match ptx {
        Ok(ptx) if log.is_empty() => {
            // SAFETY: PTX text is NUL-terminated.
            Ok(unsafe { CStr::from_ptr(ptx.as_ptr()) }
                .to_string_lossy()
                .into_owned())
        }
        Ok(_) => Err(GpuError::Compile {
            file: file.into(),
            log,
        }),
        Err(e) => Err(GpuError::Compile {
            file: file.into(),
            log: if log.is_empty() {
                format!("{e:?}")
            } else {
                log
            },
        }),
    }
}

/// Where compiled PTX is kept: `$MAFLOW_PTX_CACHE`, else `$XDG_CACHE_HOME/maflow/ptx`, else `~/.cache/maflow/ptx`.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MAFLOW_PTX_CACHE") {
        return Some(dir.into());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("maflow").join("ptx"))
}

/// [`compile`], through the on-disk cache (a cache that cannot be written is skipped).
pub fn compile_cached(file: &str, source: &str, arch: &str) -> Result<String, GpuError> {
    let (major, minor) = version()?;
    let mut key = blake3::Hasher::new();
    for part in [
        COMMON_HEADER,
        source,
        arch,
        &options(arch).join(" "),
        &format!("nvrtc {major}.{minor}"),
    ] {
        key.update(part.as_bytes()).update(&[0]);
    }
    let path = cache_dir().map(|d| {
        d.join(format!(
            "{}-{}.ptx",
            file.trim_end_matches(".cu"),
            &key.finalize().to_hex()[..16]
        ))
    });
    if let Some(ptx) = path.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) {
        return Ok(ptx);
    }
    let ptx = compile(file, source, arch)?;
    if let Some(path) = path {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let stored = path
            .parent()
            .is_some_and(|d| std::fs::create_dir_all(d).is_ok())
            && std::fs::write(&tmp, &ptx).is_ok()
            && std::fs::rename(&tmp, &path).is_ok();
        if !stored {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    Ok(ptx)
}
