//! DIS optical flow on the GPU: latency of one pair and throughput of
//! batches, on real MA-52 frames at 1920×1080 (scaled) and at their own
//! 1080×1296, for each preset, with the targets printed beside the results.
//! On a machine without a usable GPU it says why and exits 0.
//!
//! Run: `cargo bench --bench flow_gpu` (scripts/gpu-check.sh runs it).

mod support;

use std::time::Instant;

use maflow_kernels::flow::cuda::GpuDis;
use maflow_kernels::flow::image::GrayImage;
use maflow_kernels::flow::params::{DisParams, Preset};
use maflow_kernels::gpu::Device;
use maflow_kernels::gpu::cuda::CudaDevice;
use support::ma52_frames;

const TARGET_PAIRS_PER_S: f64 = 5000.0;
const TARGET_LATENCY_MS: f64 = 1.0;
const BATCH: usize = 32;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    println!(
        "targets: medium at 1920x1080 on an H100-class GPU: >= {TARGET_PAIRS_PER_S} pairs/s in batches, <= {TARGET_LATENCY_MS} ms per single pair"
    );
    let device = match CudaDevice::open(0) {
        Ok(d) => d,
        Err(e) => {
            println!("not measured: {e}");
            return;
        }
    };
    println!("device: {}", device.name());
    let inputs = [
        ("1920x1080", ma52_frames(Some((1920, 1080)))),
        ("1080x1296", ma52_frames(None)),
    ];
    let mut gpu = None;
    println!(
        "{:<10} {:<10} {:>14} {:>16} {:>8}",
        "size", "preset", "latency ms", "pairs/s (x32)", "target"
    );
    for (size, (a, b)) in &inputs {
        for preset in [Preset::Ultrafast, Preset::Fast, Preset::Medium] {
            let dis = GpuDis::new(
                gpu.take().unwrap_or_else(|| CudaDevice::open(0).unwrap()),
                DisParams::preset(preset),
            )
            .unwrap();
            for _ in 0..3 {
                dis.flow(a, b, None).unwrap();
            }
            let latency = median(
                (0..21)
                    .map(|_| {
                        let t = Instant::now();
                        dis.flow(a, b, None).unwrap();
                        t.elapsed().as_secs_f64() * 1e3
                    })
                    .collect(),
            );
            let pairs: Vec<(&GrayImage, &GrayImage)> = vec![(a, b); BATCH];
            dis.flow_batch(&pairs, None).unwrap();
            let batch_s = median(
                (0..7)
                    .map(|_| {
                        let t = Instant::now();
                        dis.flow_batch(&pairs, None).unwrap();
                        t.elapsed().as_secs_f64()
                    })
                    .collect(),
            );
            let rate = BATCH as f64 / batch_s;
            let verdict = if preset == Preset::Medium && *size == "1920x1080" {
                if rate >= TARGET_PAIRS_PER_S && latency <= TARGET_LATENCY_MS {
                    "met"
                } else {
                    "MISSED"
                }
            } else {
                ""
            };
            println!(
                "{size:<10} {:<10} {latency:>14.2} {rate:>16.0} {verdict:>8}",
                format!("{preset:?}")
            );
            gpu = Some(dis.into_device());
        }
    }
}
