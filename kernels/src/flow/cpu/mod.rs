//! Dense Inverse Search (Kroeger et al., ECCV 2016), CPU version.
//!
//! Per pyramid level, coarse to fine: a grid of overlapping patches each
//! finds its displacement by inverse-compositional Gauss–Newton on
//! mean-normalised intensities, starting from the coarser level's flow and
//! from its neighbours' results (spatial propagation in two sweeps); the
//! patch flows are blended into a dense field weighted by photometric
//! residual; an optional variational step refines the dense field.
//!
//! Work is split into fixed stripes of patch rows, propagation stays within
//! a stripe, and every pixel is densified independently, so the result is
//! the same for any number of threads.

use rayon::prelude::*;

pub mod variational;

use super::field::FlowField;
use super::image::{GrayImage, floor, rows_per_task};
use super::params::{
    DisParams, HESSIAN_DAMPING, HESSIAN_RIDGE, STRIPE_ROWS, covering, grid, level_range,
};
use super::planes::PlanePool;
use variational::refine;

/// Lanes of a CUDA warp: patch sums are taken in the kernels' warp order (see [`butterfly`]).
const WARP: usize = 32;

/// Patch sums follow the CUDA kernels' warp reduction (`flow_warp_sum`):
/// lane k mod 32 accumulates its terms in order, then the lanes are added as a
/// butterfly (i + 16, then i + 8, ... i + 1). The same order on the CPU and
/// the GPU makes the two agree bit for bit, and the independent lanes let the
/// compiler vectorise.
#[inline(always)]
fn butterfly(l: [f32; WARP]) -> f32 {
    let a: [f32; 16] = std::array::from_fn(|i| l[i] + l[i + 16]);
    let b: [f32; 8] = std::array::from_fn(|i| a[i] + a[i + 8]);
    let c: [f32; 4] = std::array::from_fn(|i| b[i] + b[i + 4]);
    (c[0] + c[2]) + (c[1] + c[3])
}

/// out[i] = bilinear blend of top[i], top[i + 1], bottom[i], bottom[i + 1] with weights `wt`, minus t[i].
#[inline(always)]
fn bilinear_row_minus(out: &mut [f32], top: &[f32], bottom: &[f32], t: &[f32], wt: [f32; 4]) {
    let n = out.len();
    let (tl, tr, bl, br, t) = (
        &top[..n],
        &top[1..][..n],
        &bottom[..n],
        &bottom[1..][..n],
        &t[..n],
    );
    for i in 0..n {
        out[i] = wt[0] * tl[i] + wt[1] * tr[i] + wt[2] * bl[i] + wt[3] * br[i] - t[i];
    }
}

/// [Σ d, Σ jx·d, Σ jy·d, Σ d²] in warp order, in one pass.
#[inline(always)]
fn warp_sums4(d: &[f32], jx: &[f32], jy: &[f32]) -> [f32; 4] {
    let n = d.len();
    let (jx, jy) = (&jx[..n], &jy[..n]);
    let mut lanes = [[0.0f32; WARP]; 4];
    let full = n - n % WARP;
    for base in (0..full).step_by(WARP) {
        let d: &[f32; WARP] = d[base..base + WARP].try_into().expect("a full chunk");
        let x: &[f32; WARP] = jx[base..base + WARP].try_into().expect("a full chunk");
        let y: &[f32; WARP] = jy[base..base + WARP].try_into().expect("a full chunk");
        for l in 0..WARP {
            lanes[0][l] += d[l];
            lanes[1][l] += x[l] * d[l];
            lanes[2][l] += y[l] * d[l];
            lanes[3][l] += d[l] * d[l];
        }
    }
    for k in full..n {
        let l = k - full;
        lanes[0][l] += d[k];
        lanes[1][l] += jx[k] * d[k];
        lanes[2][l] += jy[k] * d[k];
        lanes[3][l] += d[k] * d[k];
    }
    lanes.map(butterfly)
}

/// Σ term(k) over k < n in warp order (for the templates; the hot loop is [`warp_sums4`]).
#[inline(always)]
fn warp_sum(n: usize, term: impl Fn(usize) -> f32) -> f32 {
    let mut lanes = [0.0f32; WARP];
    for k in 0..n {
        lanes[k % WARP] += term(k);
    }
    butterfly(lanes)
}

/// Computes the flow from `i0` to `i1` (same size), optionally starting from `init`:
/// one call of a fresh [`DisFlow`].
///
/// # Panics
/// When the images differ in size or are smaller than a patch.
pub fn dis_flow(
    i0: &GrayImage,
    i1: &GrayImage,
    params: &DisParams,
    init: Option<&FlowField>,
) -> FlowField {
    DisFlow::new(params.clone()).flow_with(i0, i1, params, init)
}

/// A DIS estimator that keeps its working planes from one call to the next,
/// as the consecutive pairs of a video want: after the first pair it touches
/// no fresh memory but the returned field's. Its settings are fixed at
/// construction (the [`FlowEstimator`](super::FlowEstimator)
/// API, as on a GPU); [`flow_with`](Self::flow_with) takes others per call.
#[derive(Debug)]
pub struct DisFlow {
    params: DisParams,
    planes: PlanePool,
}

impl DisFlow {
    /// An estimator with these settings and no working memory yet.
    pub fn new(params: DisParams) -> Self {
        Self {
            params,
            planes: PlanePool::default(),
        }
    }

    /// Its settings.
    pub fn params(&self) -> &DisParams {
        &self.params
    }

    /// Computes the flow from `i0` to `i1` (same size) with `params`, optionally starting from `init`.
    ///
    /// # Panics
    /// When the images differ in size or are smaller than a patch.
    pub fn flow_with(
        &self,
        i0: &GrayImage,
        i1: &GrayImage,
        params: &DisParams,
        init: Option<&FlowField>,
    ) -> FlowField {
        assert_eq!(
            (i0.width, i0.height),
            (i1.width, i1.height),
            "frames differ in size"
        );
        let pool = &self.planes;
        let (w, h) = (i0.width, i0.height);
        let ps = params.patch_size.max(2);
        let (finest, coarsest) = level_range(w, h, params);

        let (p0, p1) = rayon::join(
            || pyramid(i0, coarsest, pool),
            || pyramid(i1, coarsest, pool),
        );
        let mut flow: Option<FlowField> = None;
        for s in (finest..=coarsest).rev() {
            let (a, b) = (level(i0, &p0, s), level(i1, &p1, s));
            let start = match flow.as_ref().or(init) {
                Some(f) => resize_flow_in(pool, f, a.width, a.height),
                None => FlowField {
                    width: a.width,
                    height: a.height,
                    u: pool.zeros(a.width * a.height),
                    v: pool.zeros(a.width * a.height),
                },
            };
            if let Some(coarser) = flow.take() {
                pool.give([coarser.u, coarser.v]);
            }
            let (gx, gy) = a.gradients_in(pool);
            let patches = search_level(a, b, (&gx, &gy), &start, params, pool);
            pool.give([start.u, start.v]);
            let mut dense = densify(a, b, &patches, ps, pool);
            if params.refinement_iterations > 0 {
                refine(
                    pool,
                    a,
                    b,
                    (&gx, &gy),
                    &mut dense,
                    params.refinement_iterations,
                    &params.refinement,
                );
            }
            pool.give([gx.data, gy.data]);
            flow = Some(dense);
        }
        pool.give(p0.into_iter().chain(p1).map(|l| l.data));
        let flow = flow.expect("at least one level");
        if (flow.width, flow.height) == (w, h) {
            flow
        } else {
            let full = resize_flow_in(pool, &flow, w, h);
            pool.give([flow.u, flow.v]);
            full
        }
    }

    /// Takes back a field this estimator returned once its caller is done
    /// with it, so that the next call writes its result into warm memory.
    pub fn recycle(&self, field: FlowField) {
        self.planes.give([field.u, field.v]);
    }
}

/// Level `s` of a pyramid whose levels above 0 are `above`.
fn level<'a>(img: &'a GrayImage, above: &'a [GrayImage], s: usize) -> &'a GrayImage {
    if s == 0 { img } else { &above[s - 1] }
}

/// Levels 1..=top of an image pyramid (level 0 is the image itself); level s is
/// (w >> s) × (h >> s), each the 2×2 average of the level below (a last odd row
/// or column is dropped).
fn pyramid(img: &GrayImage, top: usize, pool: &PlanePool) -> Vec<GrayImage> {
    let mut levels: Vec<GrayImage> = Vec::with_capacity(top);
    for _ in 0..top {
        let prev = levels.last().unwrap_or(img);
        let (w, h) = ((prev.width / 2).max(1), (prev.height / 2).max(1));
        let mut data = pool.scratch(w * h);
        data.par_chunks_mut(w)
            .enumerate()
            .with_min_len(rows_per_task(w))
            .for_each(|(y, row)| {
                let line =
                    |y: usize| &prev.data[y.min(prev.height - 1) * prev.width..][..prev.width];
                let (r0, r1) = (line(2 * y), line(2 * y + 1));
                // Full 2×2 blocks; only a 1-pixel-wide level below has none (its column is repeated).
                let full = (prev.width / 2).min(w);
                for ((out, a), b) in row[..full]
                    .iter_mut()
                    .zip(r0.chunks_exact(2))
                    .zip(r1.chunks_exact(2))
                {
                    *out = 0.25 * (a[0] + a[1] + b[0] + b[1]);
                }
                for (x, out) in row.iter_mut().enumerate().skip(full) {
                    let (c0, c1) = ((2 * x).min(prev.width - 1), (2 * x + 1).min(prev.width - 1));
                    *out = 0.25 * (r0[c0] + r0[c1] + r1[c0] + r1[c1]);
                }
            });
        levels.push(GrayImage {
            width: w,
            height: h,
            data,
        });
    }
    levels
}

/// Bilinear resize of a flow field, vectors scaled with the size.
pub fn resize_flow(f: &FlowField, width: usize, height: usize) -> FlowField {
    resize_flow_in(&PlanePool::default(), f, width, height)
}

/// [`resize_flow`] into planes from `pool`.
fn resize_flow_in(pool: &PlanePool, f: &FlowField, width: usize, height: usize) -> FlowField {
    if (f.width, f.height) == (width, height) {
        let copy = |plane: &[f32]| {
            let mut out = pool.scratch(plane.len());
            out.copy_from_slice(plane);
            out
        };
        return FlowField {
            width,
            height,
            u: copy(&f.u),
            v: copy(&f.v),
        };
    }
    let (sx, sy) = (
        f.width as f32 / width as f32,
        f.height as f32 / height as f32,
    );
    let (sw, sh) = (f.width, f.height);
    // Bilinear sampling as GrayImage::sample does it (horizontal, then vertical),
    // separated: each source row is interpolated horizontally once.
    let columns: Vec<(usize, usize, f32)> = (0..width)
        .map(|x| {
            let fx = ((x as f32 + 0.5) * sx - 0.5).clamp(0.0, (sw - 1) as f32);
            let x0 = fx as usize;
            (x0, (x0 + 1).min(sw - 1), fx - x0 as f32)
        })
        .collect();
    let horizontal = |plane: &[f32]| -> Vec<f32> {
        let mut out = pool.scratch(sh * width);
        out.par_chunks_mut(width)
            .enumerate()
            .with_min_len(rows_per_task(width))
            .for_each(|(y, row)| {
                let src = &plane[y * sw..][..sw];
                for (o, &(x0, x1, fx)) in row.iter_mut().zip(&columns) {
                    *o = src[x0] + fx * (src[x1] - src[x0]);
                }
            });
        out
    };
    let (hu, hv) = rayon::join(|| horizontal(&f.u), || horizontal(&f.v));
    let mut out = FlowField {
        width,
        height,
        u: pool.scratch(width * height),
        v: pool.scratch(width * height),
    };
    out.u
        .par_chunks_mut(width)
        .zip(out.v.par_chunks_mut(width))
        .enumerate()
        .with_min_len(rows_per_task(width))
        .for_each(|(y, (ur, vr))| {
            let fy = ((y as f32 + 0.5) * sy - 0.5).clamp(0.0, (sh - 1) as f32);
            let y0 = fy as usize;
            let (y1, fy) = ((y0 + 1).min(sh - 1), fy - y0 as f32);
            for (out, (h, s)) in [(ur, (&hu, sx)), (vr, (&hv, sy))] {
                let (top, bottom) = (&h[y0 * width..][..width], &h[y1 * width..][..width]);
                for x in 0..width {
                    out[x] = (top[x] + fy * (bottom[x] - top[x])) / s;
                }
            }
        });
    pool.give([hu, hv]);
    out
}

/// Patch flows of one level.
struct PatchFlows {
    xs: Vec<usize>,
    ys: Vec<usize>,
    /// Per patch (row-major over ys × xs): (u, v).
    flow: Vec<(f32, f32)>,
}

/// The template side of one patch: I0's intensities, the (mean-normalised)
/// gradients, their sums, and the inverse Hessian.
struct Template<'a> {
    t: &'a [f32],
    jx: &'a [f32],
    jy: &'a [f32],
    /// Σ jx and Σ jy (zero up to rounding when mean-normalised).
    sums: (f32, f32),
    /// Inverse of [[a, b], [b, c]] as (a, b, c).
    hinv: (f32, f32, f32),
}

/// (Σ jx, Σ jy) and the inverse Hessian of a template.
type TemplateScalars = ((f32, f32), (f32, f32, f32));

/// The templates of a stripe's patches in one buffer (t, jx, jy of n values each per patch).
struct Templates {
    n: usize,
    data: Vec<f32>,
    scalars: Vec<TemplateScalars>,
}

impl Templates {
    fn get(&self, k: usize) -> Template<'_> {
        let d = &self.data[3 * self.n * k..][..3 * self.n];
        let (t, rest) = d.split_at(self.n);
        let (jx, jy) = rest.split_at(self.n);
        let (sums, hinv) = self.scalars[k];
        Template {
            t,
            jx,
            jy,
            sums,
            hinv,
        }
    }
}

/// What one evaluation of a displacement gives: the (mean-normalised) SSD
/// and the Gauss–Newton right-hand side Σ J·r.
#[derive(Clone, Copy)]
struct Measure {
    ssd: f32,
    bx: f32,
    by: f32,
}

/// One level's images and gradients; `P` is the patch size when known at compile
/// time (0: `ps` at run time), so the usual sizes get fully unrolled loops.
struct LevelData<'a, const P: usize> {
    i0: &'a GrayImage,
    i1: &'a GrayImage,
    gx: &'a GrayImage,
    gy: &'a GrayImage,
    ps: usize,
    mean_norm: bool,
    step_on_rise: bool,
}

impl<const P: usize> LevelData<'_, P> {
    #[inline(always)]
    fn ps(&self) -> usize {
        if P == 0 { self.ps } else { P }
    }

    /// The template of the patch at (px, py) into `out` (t, jx, jy); returns (Σ jx, Σ jy) and the inverse Hessian.
    fn template(&self, px: usize, py: usize, out: &mut [f32]) -> TemplateScalars {
        let ps = self.ps();
        let n = ps * ps;
        let (t, rest) = out.split_at_mut(n);
        let (jx, jy) = rest.split_at_mut(n);
        for (j, y) in (py..py + ps).enumerate() {
            let row = y * self.i0.width + px;
            t[j * ps..][..ps].copy_from_slice(&self.i0.data[row..][..ps]);
            jx[j * ps..][..ps].copy_from_slice(&self.gx.data[row..][..ps]);
            jy[j * ps..][..ps].copy_from_slice(&self.gy.data[row..][..ps]);
        }
        if self.mean_norm {
            for v in [&mut *jx, &mut *jy] {
                let mean = warp_sum(n, |k| v[k]) / n as f32;
                v.iter_mut().for_each(|x| *x -= mean);
            }
        }
        let (jx, jy) = (&*jx, &*jy);
        let sums = (warp_sum(n, |k| jx[k]), warp_sum(n, |k| jy[k]));
        let (a, b, c) = (
            warp_sum(n, |k| jx[k] * jx[k]),
            warp_sum(n, |k| jx[k] * jy[k]),
            warp_sum(n, |k| jy[k] * jy[k]),
        );
        let damping = HESSIAN_RIDGE * n as f32 + HESSIAN_DAMPING * (a + c);
        let (a, c) = (a + damping, c + damping);
        let det = a * c - b * b;
        (sums, (c / det, -b / det, a / det))
    }

    /// I1 around (px + u, py + v) minus the template's I0, into `diff`.
    fn difference(
        &self,
        tpl: &Template<'_>,
        px: usize,
        py: usize,
        u: f32,
        v: f32,
        diff: &mut [f32],
    ) {
        let ps = self.ps();
        let (x, y) = (px as f32 + u, py as f32 + v);
        let (x0, y0) = (floor(x), floor(y));
        let (fx, fy) = (x - x0, y - y0);
        let (x0, y0) = (x0 as isize, y0 as isize);
        let img = self.i1;
        let (w, h) = (img.width as isize, img.height as isize);
        let inside = x0 >= 0 && y0 >= 0 && x0 + ps as isize + 1 < w && y0 + ps as isize + 1 < h;
        let wt = [
            (1.0 - fx) * (1.0 - fy),
            fx * (1.0 - fy),
            (1.0 - fx) * fy,
            fx * fy,
        ];
        for (j, (out, t)) in diff
            .chunks_exact_mut(ps)
            .zip(tpl.t.chunks_exact(ps))
            .enumerate()
        {
            if inside {
                // Same bilinear weights for every pixel: two source rows of ps + 1 values.
                let base = (y0 as usize + j) * img.width + x0 as usize;
                bilinear_row_minus(out, &img.data[base..], &img.data[base + img.width..], t, wt);
            } else {
                let yj = y0 + j as isize;
                for (i, (o, t)) in out.iter_mut().zip(t).enumerate() {
                    let xi = x0 + i as isize;
                    *o = wt[0] * img.at(xi, yj)
                        + wt[1] * img.at(xi + 1, yj)
                        + wt[2] * img.at(xi, yj + 1)
                        + wt[3] * img.at(xi + 1, yj + 1)
                        - t;
                }
            }
        }
    }

    /// SSD and Σ J·r at (u, v), with r = d − mean(d) for d = I1(x + u) − I0(x)
    /// (or r = d without mean normalisation): Σ r² = Σ d² − (Σ d)² / n and
    /// Σ J·r = Σ J·d − mean(d) · Σ J, one pass over the patch.
    fn measure(
        &self,
        tpl: &Template<'_>,
        px: usize,
        py: usize,
        u: f32,
        v: f32,
        diff: &mut [f32],
    ) -> Measure {
        self.difference(tpl, px, py, u, v, diff);
        let [sd, sx, sy, sdd] = warp_sums4(diff, tpl.jx, tpl.jy);
        if self.mean_norm {
            let m = sd / diff.len() as f32;
            Measure {
                ssd: sdd - sd * m,
                bx: sx - m * tpl.sums.0,
                by: sy - m * tpl.sums.1,
            }
        } else {
            Measure {
                ssd: sdd,
                bx: sx,
                by: sy,
            }
        }
    }

    /// Gauss–Newton from (u, v), whose measure is `at_start`. It stops when the
    /// SSD rises, at the best point seen or, with `step_on_rise`, one step on
    /// from the point where it rose.
    fn search(
        &self,
        tpl: &Template<'_>,
        (px, py): (usize, usize),
        (mut u, mut v): (f32, f32),
        at_start: Measure,
        iters: usize,
        diff: &mut [f32],
    ) -> (f32, f32) {
        let mut best = ((u, v), f32::INFINITY);
        let mut here = at_start;
        for it in 0..iters {
            if it > 0 {
                here = self.measure(tpl, px, py, u, v, diff);
            }
            let improved = here.ssd < best.1;
            if improved {
                best = ((u, v), here.ssd);
            }
            let (a, b, c) = tpl.hinv;
            let (du, dv) = (a * here.bx + b * here.by, b * here.bx + c * here.by);
            u -= du;
            v -= dv;
            if !improved {
                return if self.step_on_rise { (u, v) } else { best.0 };
            }
            if du * du + dv * dv < 1e-4 {
                break;
            }
        }
        // The last step's point has not been measured yet.
        let last = self.measure(tpl, px, py, u, v, diff);
        if last.ssd < best.1 { (u, v) } else { best.0 }
    }
}

/// Patch flows of one level; `grad` are I0's Sobel gradients.
fn search_level(
    i0: &GrayImage,
    i1: &GrayImage,
    grad: (&GrayImage, &GrayImage),
    start: &FlowField,
    params: &DisParams,
    pool: &PlanePool,
) -> PatchFlows {
    match params.patch_size {
        8 => search_level_with::<8>(i0, i1, grad, start, params, pool),
        12 => search_level_with::<12>(i0, i1, grad, start, params, pool),
        16 => search_level_with::<16>(i0, i1, grad, start, params, pool),
        _ => search_level_with::<0>(i0, i1, grad, start, params, pool),
    }
}

fn search_level_with<const P: usize>(
    i0: &GrayImage,
    i1: &GrayImage,
    (gx, gy): (&GrayImage, &GrayImage),
    start: &FlowField,
    params: &DisParams,
    pool: &PlanePool,
) -> PatchFlows {
    let ps = params.patch_size;
    assert!(P == 0 || P == ps, "patch size {ps} dispatched as {P}");
    let data = LevelData::<P> {
        i0,
        i1,
        gx,
        gy,
        ps,
        mean_norm: params.mean_normalization,
        step_on_rise: params.step_on_rise,
    };
    let xs = grid(i0.width, ps, params.patch_stride);
    let ys = grid(i0.height, ps, params.patch_stride);
    let cols = xs.len();
    let init: Vec<(f32, f32)> = ys
        .iter()
        .flat_map(|&py| {
            xs.iter().map(move |&px| {
                let (cx, cy) = (px + ps / 2, py + ps / 2);
                (
                    start.u[cy * start.width + cx],
                    start.v[cy * start.width + cx],
                )
            })
        })
        .collect();
    let mut flow = init.clone();
    let search = StripeSearch {
        data: &data,
        xs: &xs,
        ys: &ys,
        init: &init,
        params,
        pool,
    };
    flow.par_chunks_mut(cols * STRIPE_ROWS)
        .enumerate()
        .for_each(|(stripe, chunk)| search.stripe(stripe * STRIPE_ROWS, chunk));
    PatchFlows { xs, ys, flow }
}

/// The search of one level's stripes of patch rows, each on its own.
struct StripeSearch<'a, const P: usize> {
    data: &'a LevelData<'a, P>,
    xs: &'a [usize],
    ys: &'a [usize],
    /// Each patch's flow from the coarser level.
    init: &'a [(f32, f32)],
    params: &'a DisParams,
    pool: &'a PlanePool,
}

impl<const P: usize> StripeSearch<'_, P> {
    /// The patch flows of the stripe whose first row is `row0`, into `chunk`:
    /// a forward sweep, then a backward one with the rest of the iterations.
    fn stripe(&self, row0: usize, chunk: &mut [(f32, f32)]) {
        let (ps, cols) = (self.data.ps, self.xs.len());
        let rows = chunk.len() / cols;
        let n = ps * ps;
        let mut templates = Templates {
            n,
            data: self.pool.scratch(rows * cols * 3 * n),
            scalars: Vec::with_capacity(rows * cols),
        };
        for (k, out) in templates.data.chunks_exact_mut(3 * n).enumerate() {
            templates.scalars.push(self.data.template(
                self.xs[k % cols],
                self.ys[row0 + k / cols],
                out,
            ));
        }
        let mut diff = vec![0.0f32; n];
        let first_half = self.params.iterations.div_ceil(2);
        let second_half = self.params.iterations - first_half;
        let forward = (0..rows).flat_map(|r| (0..cols).map(move |c| (r, c)));
        let sweep = Sweep {
            templates: &templates,
            row0,
            rows,
        };
        self.sweep(&sweep, forward, 1, first_half, chunk, &mut diff);
        if second_half > 0 {
            let backward = (0..rows)
                .rev()
                .flat_map(|r| (0..cols).rev().map(move |c| (r, c)));
            self.sweep(&sweep, backward, -1, second_half, chunk, &mut diff);
        }
        self.pool.give([templates.data]);
    }

    /// One sweep over the stripe's patches in `order`, each starting from the
    /// best of its own flow and its already swept neighbours' (`step` back
    /// along the row and the column).
    fn sweep(
        &self,
        at: &Sweep<'_>,
        order: impl Iterator<Item = (usize, usize)>,
        step: isize,
        iters: usize,
        chunk: &mut [(f32, f32)],
        diff: &mut [f32],
    ) {
        let (cols, rows, row0) = (self.xs.len(), at.rows, at.row0);
        let limit = self.data.ps as f32;
        for (r, c) in order {
            let k = r * cols + c;
            let (px, py) = (self.xs[c], self.ys[row0 + r]);
            let tpl = &at.templates.get(k);
            let mut cand = chunk[k];
            let mut at_cand = self.data.measure(tpl, px, py, cand.0, cand.1, diff);
            if self.params.spatial_propagation {
                let nc = c as isize - step;
                let nr = r as isize - step;
                let neighbours = [
                    (nc >= 0 && (nc as usize) < cols).then(|| chunk[r * cols + nc as usize]),
                    (nr >= 0 && (nr as usize) < rows).then(|| chunk[nr as usize * cols + c]),
                ];
                for n in neighbours.into_iter().flatten() {
                    let at_n = self.data.measure(tpl, px, py, n.0, n.1, diff);
                    if at_n.ssd < at_cand.ssd {
                        at_cand = at_n;
                        cand = n;
                    }
                }
            }
            let (u, v) = self.data.search(tpl, (px, py), cand, at_cand, iters, diff);
            let origin = self.init[(row0 + r) * cols + c];
            // An update larger than the patch is not trusted (lengths compared squared: no libm call).
            let (du, dv) = (u - origin.0, v - origin.1);
            chunk[k] = if du * du + dv * dv > limit * limit {
                origin
            } else {
                (u, v)
            };
        }
    }
}

/// A stripe being swept: its templates and where it lies.
struct Sweep<'a> {
    templates: &'a Templates,
    row0: usize,
    rows: usize,
}

/// Blends patch flows into a dense field, each weighted by 1 / max(1, |I1(x + u) − I0(x)|).
///
/// Row by row, patch by patch in row-major order, so every pixel sums its
/// covering patches in the same order as a per-pixel loop would.
fn densify(
    i0: &GrayImage,
    i1: &GrayImage,
    patches: &PatchFlows,
    ps: usize,
    pool: &PlanePool,
) -> FlowField {
    let (w, h) = (i0.width, i0.height);
    let cols = patches.xs.len();
    let ycov = covering(h, &patches.ys, ps);
    let mut out = FlowField {
        width: w,
        height: h,
        u: pool.zeros(w * h),
        v: pool.zeros(w * h),
    };
    // Each patch samples I1 at a constant offset: integer part and bilinear weights once per patch.
    let offsets: Vec<(isize, isize, [f32; 4])> = patches
        .flow
        .iter()
        .map(|&(u, v)| {
            let (fu, fv) = (floor(u), floor(v));
            let (ax, ay) = (u - fu, v - fv);
            (
                fu as isize,
                fv as isize,
                [
                    (1.0 - ax) * (1.0 - ay),
                    ax * (1.0 - ay),
                    (1.0 - ax) * ay,
                    ax * ay,
                ],
            )
        })
        .collect();
    let (su, sv) = (&mut out.u, &mut out.v);
    su.par_chunks_mut(w)
        .zip(sv.par_chunks_mut(w))
        .enumerate()
        .with_min_len(rows_per_task(w))
        .for_each(|(y, (ur, vr))| {
            let mut sw = vec![0.0f32; w];
            for r in ycov[y].0..ycov[y].1 {
                for c in 0..cols {
                    let k = r * cols + c;
                    let (x0, y0) = (patches.xs[c], y);
                    let sums = (&mut *ur, &mut *vr, &mut sw[..]);
                    blend_patch_row(i0, i1, (x0, y0), ps, patches.flow[k], offsets[k], sums);
                }
            }
            for ((u, v), s) in ur.iter_mut().zip(vr.iter_mut()).zip(&sw) {
                if *s > 0.0 {
                    *u /= s;
                    *v /= s;
                }
            }
        });
    out
}

/// Adds one patch's weighted flow to the pixels of row `y` it covers, from
/// `x0` on: `(u, v)` is its flow, `(ox, oy, wt)` the integer offset and
/// bilinear weights of its samples in I1, `sums` the row's weighted u, v and
/// weight sums.
#[inline]
fn blend_patch_row(
    i0: &GrayImage,
    i1: &GrayImage,
    (x0, y): (usize, usize),
    ps: usize,
    (u, v): (f32, f32),
    (ox, oy, wt): (isize, isize, [f32; 4]),
    (ur, vr, sw): (&mut [f32], &mut [f32], &mut [f32]),
) {
    let (w, h) = (i0.width, i0.height);
    let i0_row = &i0.data[y * w..][..w];
    let (sx, sy) = (x0 as isize + ox, y as isize + oy);
    let span = x0..x0 + ps;
    if sx >= 0 && sy >= 0 && sx + (ps as isize) < w as isize && sy + 1 < h as isize {
        // The whole span samples inside: one set of weights over two source rows.
        let b = sy as usize * w + sx as usize;
        let (top, bottom) = (&i1.data[b..][..ps + 1], &i1.data[b + w..][..ps + 1]);
        let (su, sv, sw, i0s) = (
            &mut ur[span.clone()],
            &mut vr[span.clone()],
            &mut sw[span.clone()],
            &i0_row[span],
        );
        for i in 0..ps {
            let warped =
                wt[0] * top[i] + wt[1] * top[i + 1] + wt[2] * bottom[i] + wt[3] * bottom[i + 1];
            let wgt = 1.0 / (warped - i0s[i]).abs().max(1.0);
            su[i] += wgt * u;
            sv[i] += wgt * v;
            sw[i] += wgt;
        }
    } else {
        for x in span {
            let (sx, sy) = (x as isize + ox, y as isize + oy);
            let warped = if sx >= 0 && sy >= 0 && sx + 1 < w as isize && sy + 1 < h as isize {
                let b = sy as usize * w + sx as usize;
                wt[0] * i1.data[b]
                    + wt[1] * i1.data[b + 1]
                    + wt[2] * i1.data[b + w]
                    + wt[3] * i1.data[b + w + 1]
            } else {
                i1.sample(x as f32 + u, y as f32 + v)
            };
            let wgt = 1.0 / (warped - i0_row[x]).abs().max(1.0);
            ur[x] += wgt * u;
            vr[x] += wgt * v;
            sw[x] += wgt;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_flow_resize_equals_bilinear_sampling() {
        let (w, h) = (13, 9);
        let f = FlowField {
            width: w,
            height: h,
            u: (0..w * h)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.13)
                .collect(),
            v: (0..w * h)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.07)
                .collect(),
        };
        let (u, v) = (
            GrayImage {
                width: w,
                height: h,
                data: f.u.clone(),
            },
            GrayImage {
                width: w,
                height: h,
                data: f.v.clone(),
            },
        );
        for (ow, oh) in [(26, 18), (52, 36), (7, 5), (13, 9)] {
            let r = resize_flow(&f, ow, oh);
            let (sx, sy) = (w as f32 / ow as f32, h as f32 / oh as f32);
            for y in 0..oh {
                for x in 0..ow {
                    let (fx, fy) = ((x as f32 + 0.5) * sx - 0.5, (y as f32 + 0.5) * sy - 0.5);
                    assert_eq!(
                        r.u[y * ow + x],
                        u.sample(fx, fy) / sx,
                        "u at {x},{y} for {ow}x{oh}"
                    );
                    assert_eq!(
                        r.v[y * ow + x],
                        v.sample(fx, fy) / sy,
                        "v at {x},{y} for {ow}x{oh}"
                    );
                }
            }
        }
    }

    #[test]
    fn grid_covers_the_image_with_the_last_patch_flush() {
        assert_eq!(grid(20, 8, 4), vec![0, 4, 8, 12]);
        assert_eq!(grid(21, 8, 4), vec![0, 4, 8, 12, 13]);
        let cov = covering(21, &grid(21, 8, 4), 8);
        assert!(cov.iter().all(|(lo, hi)| hi > lo));
    }
}
