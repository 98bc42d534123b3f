//! DIS optical flow on the real Middlebury pairs with ground truth, and on synthetic motion.

use std::path::PathBuf;

use maflow_kernels::flow::cpu::{DisFlow, dis_flow};
use maflow_kernels::flow::field::{FlowField, average_endpoint_error};
use maflow_kernels::flow::image::GrayImage;
use maflow_kernels::flow::params::{DisParams, Preset};
use maflow_kernels::png_io::read_gray_png;
use proptest::prelude::*;

pub fn middlebury(name: &str) -> (GrayImage, GrayImage, FlowField) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/middlebury")
        .join(name);
    let load = |f: &str| {
        let p = read_gray_png(&dir.join(f)).unwrap_or_else(|e| panic!("{e}"));
        GrayImage::from_u8(p.width, p.height, &p.data)
    };
    let truth = FlowField::read_flo(std::fs::File::open(dir.join("flow10.flo")).unwrap()).unwrap();
    (load("frame10.png"), load("frame11.png"), truth)
}

/// OpenCV 5.0's DIS on the same pairs (average endpoint error): our bar.
/// Ultrafast's are as `benches/flow_vs_opencv` measures them.
const OPENCV_EPE: [(Preset, [(&str, f64); 3]); 3] = [
    (
        Preset::Ultrafast,
        [("Dimetrodon", 0.371), ("Grove2", 0.492), ("Urban2", 1.226)],
    ),
    (
        Preset::Fast,
        [("Dimetrodon", 0.30), ("Grove2", 0.40), ("Urban2", 1.00)],
    ),
    (
        Preset::Medium,
        [("Dimetrodon", 0.15), ("Grove2", 0.32), ("Urban2", 0.65)],
    ),
];

#[test]
fn middlebury_endpoint_error_is_at_or_below_opencv_dis() {
    let mut report = Vec::new();
    let mut worse = Vec::new();
    for (preset, pairs) in OPENCV_EPE {
        for (name, opencv) in pairs {
            let (a, b, truth) = middlebury(name);
            let epe =
                average_endpoint_error(&dis_flow(&a, &b, &DisParams::preset(preset), None), &truth);
            report.push(format!("{preset:?} {name}: {epe:.3} (OpenCV {opencv})"));
            if epe > opencv {
                worse.push(report.last().unwrap().clone());
            }
        }
    }
    assert!(
        worse.is_empty(),
        "worse than OpenCV: {worse:?}\nall: {report:#?}"
    );
}

/// A smooth texture with detail at several scales, defined everywhere (for exact sub-pixel shifts).
pub fn texture(x: f32, y: f32) -> f32 {
    128.0
        + 40.0 * (0.21 * x + 0.13 * y).sin()
        + 30.0 * (0.07 * x - 0.19 * y).sin()
        + 20.0 * (0.31 * x + 0.05 * y).cos()
        + 15.0 * (0.43 * x - 0.37 * y).sin()
}

/// Frames where every point moves by (dx, dy) pixels: I1(x + d) = I0(x).
fn translated(w: usize, h: usize, dx: f32, dy: f32) -> (GrayImage, GrayImage) {
    let frame = |ox: f32, oy: f32| GrayImage {
        width: w,
        height: h,
        data: (0..h)
            .flat_map(|y| (0..w).map(move |x| texture(x as f32 - ox, y as f32 - oy)))
            .collect(),
    };
    (frame(0.0, 0.0), frame(dx, dy))
}

/// Mean absolute error of (u, v) against (dx, dy) away from a 16-pixel border.
fn interior_error(flow: &FlowField, dx: f32, dy: f32) -> (f32, f32) {
    let (mut eu, mut ev, mut n) = (0.0, 0.0, 0.0);
    for y in 16..flow.height - 16 {
        for x in 16..flow.width - 16 {
            let i = y * flow.width + x;
            eu += (flow.u[i] - dx).abs();
            ev += (flow.v[i] - dy).abs();
            n += 1.0;
        }
    }
    (eu / n, ev / n)
}

#[test]
fn zero_motion_gives_zero_flow() {
    let (a, _) = translated(96, 80, 0.0, 0.0);
    for preset in [Preset::Ultrafast, Preset::Fast, Preset::Medium] {
        let flow = dis_flow(&a, &a, &DisParams::preset(preset), None);
        let max = flow
            .u
            .iter()
            .chain(&flow.v)
            .fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(max < 1e-4, "{preset:?}: max |flow| {max}");
    }
}

#[test]
fn micro_action_sized_motions_are_recovered_to_a_twentieth_of_a_pixel() {
    for (dx, dy) in [
        (0.1, 0.0),
        (0.0, -0.3),
        (0.5, 0.25),
        (-1.3, 0.8),
        (3.0, -2.0),
    ] {
        let (a, b) = translated(128, 112, dx, dy);
        let flow = dis_flow(&a, &b, &DisParams::preset(Preset::Medium), None);
        let (eu, ev) = interior_error(&flow, dx, dy);
        assert!(
            eu < 0.05 && ev < 0.05,
            "motion ({dx}, {dy}): mean error ({eu:.3}, {ev:.3})"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_translation_up_to_three_pixels_is_recovered(dx in -3.0f32..3.0, dy in -3.0f32..3.0) {
        let (a, b) = translated(112, 96, dx, dy);
        let flow = dis_flow(&a, &b, &DisParams::preset(Preset::Medium), None);
        let (eu, ev) = interior_error(&flow, dx, dy);
        prop_assert!(eu < 0.05 && ev < 0.05, "({dx}, {dy}): ({eu}, {ev})");
    }
}

#[test]
fn results_are_identical_on_one_and_two_threads() {
    let (a, b, _) = middlebury("Grove2");
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| dis_flow(&a, &b, &DisParams::preset(Preset::Medium), None))
    };
    let (one, two) = (run(1), run(2));
    assert!(
        one.u == two.u && one.v == two.v,
        "flow depends on the thread count"
    );
}

#[test]
fn a_reused_estimator_gives_what_a_fresh_one_gives() {
    // Planes come back to the pool holding the last pair's values, and the next
    // pair may have another size: nothing stale may leak into a result.
    let estimator = DisFlow::new(DisParams::preset(Preset::Medium));
    let pairs: Vec<_> = ["Grove2", "Dimetrodon", "Grove2", "Urban2"]
        .iter()
        .map(|n| middlebury(n))
        .collect();
    let mut last: Option<FlowField> = None;
    for (i, (a, b, _)) in pairs.iter().enumerate() {
        let preset = [
            Preset::Medium,
            Preset::Fast,
            Preset::Ultrafast,
            Preset::Medium,
        ][i];
        let params = DisParams::preset(preset);
        // The second Grove2 starts from the first one's flow, as a video's next pair does.
        let init = if i == 2 { last.as_ref() } else { None };
        let fresh = dis_flow(a, b, &params, init);
        let reused = estimator.flow_with(a, b, &params, init);
        assert!(
            fresh.u == reused.u && fresh.v == reused.v,
            "pair {i} ({preset:?}) differs with a reused estimator"
        );
        if let Some(old) = last.replace(reused) {
            estimator.recycle(old);
        }
    }
}
