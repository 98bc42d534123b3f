//! The CUDA flow kernels without a GPU: they compile to PTX with NVRTC for
//! the data-centre architectures, and their logic, run by the host emulator
//! through the same host program that drives a GPU, matches the CPU twin on
//! the real Middlebury pairs.

use std::collections::BTreeSet;
use std::path::PathBuf;

use maflow_kernels::flow::cpu::dis_flow;
use maflow_kernels::flow::cuda::GpuDis;
use maflow_kernels::flow::field::{FlowField, average_endpoint_error};
use maflow_kernels::flow::image::GrayImage;
use maflow_kernels::flow::params::{DisParams, Preset};
use maflow_kernels::gpu::emulator::{Emulator, signature};
use maflow_kernels::gpu::{Device, GpuError, SOURCES, cuda, kernel_names, nvrtc};

use crate::flow::{middlebury, texture};

/// Mean and 99th percentile of the endpoint distance between two fields.
fn difference(a: &FlowField, b: &FlowField) -> (f64, f64) {
    let mut d: Vec<f64> =
        a.u.iter()
            .zip(&a.v)
            .zip(b.u.iter().zip(&b.v))
            .map(|((au, av), (bu, bv))| f64::from((au - bu).hypot(av - bv)))
            .collect();
    let mean = d.iter().sum::<f64>() / d.len() as f64;
    d.sort_by(f64::total_cmp);
    (mean, d[d.len() * 99 / 100])
}

/// Runs the kernels on `open()`'s device against the CPU twin on the three
/// Middlebury pairs for `fast` and `medium`. Both sum patches in the same
/// (warp) order and neither fuses multiply-adds, so on the emulator the fields
/// must be identical bit for bit. A GPU's `hypotf` may round differently in the
/// last place, which can tip a discrete choice, so there the fields must agree
/// far below the accuracy that matters: mean 0.002 px, 99 % of pixels within
/// 0.02 px, EPE against ground truth within 0.001 px.
fn kernels_match_the_twin<D: Device>(open: impl Fn() -> D, exact: bool) {
    let mut report = Vec::new();
    let mut failed = false;
    for preset in [Preset::Fast, Preset::Medium] {
        for name in ["Dimetrodon", "Grove2", "Urban2"] {
            let (a, b, truth) = middlebury(name);
            let params = DisParams::preset(preset);
            let cpu = dis_flow(&a, &b, &params, None);
            let gpu = GpuDis::new(open(), params)
                .unwrap()
                .flow(&a, &b, None)
                .unwrap();
            let (mean, p99) = difference(&cpu, &gpu);
            let (ec, eg) = (
                average_endpoint_error(&cpu, &truth),
                average_endpoint_error(&gpu, &truth),
            );
            let differing = cpu
                .u
                .iter()
                .zip(&gpu.u)
                .chain(cpu.v.iter().zip(&gpu.v))
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            failed |= if exact {
                differing > 0
            } else {
                mean > 0.002 || p99 > 0.02 || (ec - eg).abs() > 0.001
            };
            report.push(format!(
                "{preset:?} {name}: {differing} values differ, mean {mean:.5} px, p99 {p99:.4} px, EPE twin {ec:.4} kernels {eg:.4}"
            ));
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(!failed, "kernels and twin disagree:\n{}", report.join("\n"));
}

#[test]
fn emulated_cuda_kernels_equal_the_cpu_twin_on_middlebury() {
    kernels_match_the_twin(|| Emulator, true);
}

/// The same on a real GPU, where there is one; `MAFLOW_REQUIRE_GPU=1`
/// (scripts/gpu-check.sh) makes a missing GPU a failure.
#[test]
fn gpu_kernels_match_the_cpu_twin_on_middlebury() {
    if let Err(e) = cuda::CudaDevice::open(0) {
        assert!(
            std::env::var_os("MAFLOW_REQUIRE_GPU").is_none(),
            "a GPU was required: {e}"
        );
        eprintln!("not checked: {e}");
        return;
    }
    kernels_match_the_twin(|| cuda::CudaDevice::open(0).unwrap(), false);
}

fn shifted(w: usize, h: usize, dx: f32, dy: f32) -> GrayImage {
    GrayImage {
        width: w,
        height: h,
        data: (0..h)
            .flat_map(|y| (0..w).map(move |x| texture(x as f32 - dx, y as f32 - dy)))
            .collect(),
    }
}

/// A batch runs every pair in one launch per step; each result must equal the
/// pair run alone, and an initial field must be used as on the CPU.
#[test]
fn emulated_batches_equal_single_pairs_and_honour_the_initial_field() {
    let (w, h) = (90, 70);
    let f0 = shifted(w, h, 0.0, 0.0);
    let (f1, f2) = (shifted(w, h, 1.3, -0.4), shifted(w, h, -0.7, 2.1));
    let dis = GpuDis::new(Emulator, DisParams::preset(Preset::Medium)).unwrap();
    let batch = dis.flow_batch(&[(&f0, &f1), (&f0, &f2)], None).unwrap();
    assert_eq!(batch[0], dis.flow(&f0, &f1, None).unwrap());
    assert_eq!(batch[1], dis.flow(&f0, &f2, None).unwrap());

    let params = DisParams::preset(Preset::Fast);
    let init = dis_flow(&f0, &f1, &params, None);
    let cpu = dis_flow(&f0, &f2, &params, Some(&init));
    let gpu = GpuDis::new(Emulator, params)
        .unwrap()
        .flow(&f0, &f2, Some(&init))
        .unwrap();
    assert_eq!(
        cpu, gpu,
        "with an initial field the kernels differ from the twin"
    );
}

/// Every `.cu` file is built into the program and the emulator, every kernel
/// the sources define is registered there, and the emulator refuses launches
/// whose arguments do not match the kernel's parameters.
#[test]
fn every_kernel_source_is_embedded_and_emulated() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cuda");
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".cu"))
        .collect();
    let embedded: BTreeSet<String> = SOURCES.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        on_disk, embedded,
        "kernels/cuda/*.cu and gpu::SOURCES differ"
    );
    for (file, source) in SOURCES {
        assert_eq!(std::fs::read_to_string(dir.join(file)).unwrap(), *source);
        let names = kernel_names(source);
        assert!(!names.is_empty(), "{file} defines no kernel");
        for name in names {
            assert!(
                signature(name).is_some(),
                "{file}: kernel {name} is not registered in the emulator"
            );
        }
    }
    assert_eq!(signature("flow_sobel").as_deref(), Some("FiiFF"));
    let dis = GpuDis::new(Emulator, DisParams::preset(Preset::Fast)).unwrap();
    let err = maflow_kernels::gpu::Device::launch(
        dis.device(),
        "flow_sobel",
        maflow_kernels::gpu::Launch {
            grid: [1, 1, 1],
            block: [1, 1, 1],
        },
        &[maflow_kernels::gpu::Arg::Int(3)],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("takes arguments (FiiFF), launched with (i)"),
        "{err}"
    );
}

/// Each kernel file compiles to PTX for sm_80 (A100) and sm_90 (H100) with no
/// error and no warning. Skipped where NVRTC is absent, except in CI, whose
/// setup installs it from PyPI.
#[test]
fn cuda_kernels_compile_to_ptx_for_sm80_and_sm90_without_warnings() {
    if !nvrtc::available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "NVRTC is missing in CI: scripts/setup.sh installs nvidia-cuda-nvrtc-cu12"
        );
        eprintln!("NVRTC not found: PTX compilation not checked here");
        return;
    }
    for arch in ["compute_80", "compute_90"] {
        for (file, source) in SOURCES {
            let ptx = nvrtc::compile(file, source, arch).unwrap_or_else(|e| panic!("{arch}: {e}"));
            assert!(
                ptx.contains(&format!(".target sm_{}", &arch[8..])),
                "{file}: no target line for {arch}"
            );
            for kernel in kernel_names(source) {
                assert!(
                    ptx.contains(&format!(".entry {kernel}(")),
                    "{file}: {kernel} missing from the PTX for {arch}"
                );
            }
        }
    }
    let broken = "extern \"C\" __global__ void k(float* x) { int unused; x[0] = 1.0f; }";
    match nvrtc::compile("broken.cu", broken, "compute_80") {
        Err(GpuError::Compile { file, log }) => {
            assert!(file == "broken.cu" && log.contains("unused"), "{log}")
        }
        other => panic!("a warning must fail the compile, got {other:?}"),
    }
}

/// On a machine without an NVIDIA driver, asking for the GPU is an error that says so.
#[test]
fn opening_a_gpu_without_a_driver_is_a_clear_error() {
    if cuda::driver_present() {
        eprintln!("an NVIDIA driver is installed: nothing to check");
        return;
    }
    match cuda::CudaDevice::open(0) {
        Err(GpuError::Unavailable(why)) => assert!(why.contains("libcuda"), "{why}"),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("opened a GPU without a driver"),
    }
}

/// The emulator is faithful where the kernels depend on it: a barrier orders
/// shared memory, a warp sum exchanges lanes, and a divergent or undeclared
/// barrier is an error rather than a silent pass.
#[test]
fn the_emulator_keeps_barrier_and_shuffle_semantics_and_reports_misuse() {
    use maflow_kernels::gpu::{Arg, Device, Launch};
    let emu = Emulator;
    let one_block = |threads: u32| Launch {
        grid: [1, 1, 1],
        block: [threads, 1, 1],
    };
    let out = emu.zeros::<f32>(256).unwrap();
    emu.launch("emu_block_barrier", one_block(256), &[Arg::Floats(&out)])
        .unwrap();
    let got = emu.download(&out).unwrap();
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, &v)| v == ((i + 1) % 256) as f32),
        "{got:?}"
    );

    let out = emu.zeros::<f32>(32).unwrap();
    emu.launch("emu_warp_sum", one_block(32), &[Arg::Floats(&out)])
        .unwrap();
    assert!(emu.download(&out).unwrap().iter().all(|&v| v == 496.0));

    let err = emu
        .launch("emu_divergent_barrier", one_block(32), &[Arg::Floats(&out)])
        .unwrap_err();
    assert!(err.to_string().contains("diverged"), "{err}");
    let err = emu
        .launch(
            "emu_undeclared_barrier",
            one_block(32),
            &[Arg::Floats(&out)],
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("registered as barrier-free"),
        "{err}"
    );
}

/// Odd and tiny sizes (odd widths split unevenly into red and black, levels
/// shrink to a few pixels): the kernels still equal the CPU version, and the
/// CPU version does not depend on the thread count.
#[test]
fn odd_and_small_sizes_agree_across_devices_and_threads() {
    for (w, h) in [(8, 8), (9, 8), (17, 11), (33, 20), (61, 47), (70, 9)] {
        let (a, b) = (shifted(w, h, 0.0, 0.0), shifted(w, h, 0.6, -0.3));
        for preset in [Preset::Ultrafast, Preset::Fast, Preset::Medium] {
            let params = DisParams::preset(preset);
            let run = |threads: usize| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| dis_flow(&a, &b, &params, None))
            };
            let (one, two) = (run(1), run(2));
            assert_eq!(
                one, two,
                "{w}x{h} {preset:?}: thread count changes the flow"
            );
            let gpu = GpuDis::new(Emulator, params.clone())
                .unwrap()
                .flow(&a, &b, None)
                .unwrap();
            assert_eq!(
                one, gpu,
                "{w}x{h} {preset:?}: kernels differ from the CPU version"
            );
            assert!(
                one.u.iter().chain(&one.v).all(|x| x.is_finite()),
                "{w}x{h} {preset:?}: non-finite flow"
            );
        }
    }
}
