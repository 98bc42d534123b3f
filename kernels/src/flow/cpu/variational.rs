//! Variational refinement of a dense flow field.
//!
//! Minimises, around the current flow, δ·Ψ(brightness constancy) +
//! γ·Ψ(gradient constancy) + α·Ψ(|∇u|² + |∇v|²) with Ψ(s²) = √(s² + ε²);
//! data terms are normalised by the local gradient energy so the weights do
//! not depend on image contrast. Each fixed-point iteration freezes the
//! robust weights and runs red-black SOR sweeps on the flow increment.
//!
//! For speed the SOR works on a checkerboard-split layout: the red and the
//! black pixels of each row are stored apart, so a colour's update of a row
//! reads the other colour's contiguous arrays and writes its own, in loops
//! the compiler vectorises, and on large levels the sweeps run as a
//! wavefront over the rows.
//! The weights are computed row-parallel. The arithmetic is exactly that of
//! the sequential sweep (and of `kernels/cuda/refine.cu`).

use rayon::prelude::*;

use crate::flow::field::FlowField;
use crate::flow::image::{GrayImage, rows_per_task};
use crate::flow::params::RefineParams;
use crate::flow::planes::PlanePool;

const EPS2: f32 = 1e-6;
const ZETA2: f32 = 0.01;

/// Per-pixel image terms, fixed during the refinement of a level. Where the
/// warp leaves the image all of them are zero, which zeroes the data term.
struct DataTerms {
    /// Gradient of the mean image.
    gx: Vec<f32>,
    gy: Vec<f32>,
    /// Its second derivatives.
    xx: Vec<f32>,
    xy: Vec<f32>,
    yy: Vec<f32>,
    /// Warped I1 minus I0, and the same for the gradients.
    iz: Vec<f32>,
    ixz: Vec<f32>,
    iyz: Vec<f32>,
}

impl DataTerms {
    fn new(
        pool: &PlanePool,
        i0: &GrayImage,
        i1: &GrayImage,
        (i0x, i0y): (&GrayImage, &GrayImage),
        flow: &FlowField,
    ) -> Self {
        let (w, h) = (i0.width, i0.height);
        let n = w * h;
        // Warp I1 by the current flow; pixels that leave the image get no data term.
        let mut warped = pool.scratch(n);
        let outside: Vec<usize> = warped
            .par_chunks_mut(w)
            .enumerate()
            .with_min_len(rows_per_task(w))
            .flat_map_iter(|(y, wr)| {
                let mut outside = Vec::new();
                for (x, out) in wr.iter_mut().enumerate() {
                    let i = y * w + x;
                    let (sx, sy) = (x as f32 + flow.u[i], y as f32 + flow.v[i]);
                    if !(sx >= 0.0 && sy >= 0.0 && sx <= (w - 1) as f32 && sy <= (h - 1) as f32) {
                        outside.push(i);
                    }
                    *out = i1.sample(sx, sy);
                }
                outside
            })
            .collect();
        let warped = GrayImage {
            width: w,
            height: h,
            data: warped,
        };
        let mut avg = pool.scratch(n);
        avg.iter_mut()
            .zip(i0.data.iter().zip(&warped.data))
            .for_each(|(m, (a, b))| *m = 0.5 * (a + b));
        let avg = GrayImage {
            width: w,
            height: h,
            data: avg,
        };
        let (gx, gy) = avg.gradients_in(pool);
        let (xx, xy) = gx.gradients_in(pool);
        let (yx, yy) = gy.gradients_in(pool);
        let (iwx, iwy) = warped.gradients_in(pool);
        let minus = |a: &[f32], b: &[f32]| -> Vec<f32> {
            let mut out = pool.scratch(n);
            out.iter_mut()
                .zip(a.iter().zip(b))
                .for_each(|(d, (a, b))| *d = a - b);
            out
        };
        let mut d = Self {
            iz: minus(&warped.data, &i0.data),
            ixz: minus(&iwx.data, &i0x.data),
            iyz: minus(&iwy.data, &i0y.data),
            gx: gx.data,
            gy: gy.data,
            xx: xx.data,
            xy: xy.data,
            yy: yy.data,
        };
        pool.give([warped.data, avg.data, yx.data, iwx.data, iwy.data]);
        for plane in [
            &mut d.gx, &mut d.gy, &mut d.xx, &mut d.xy, &mut d.yy, &mut d.iz, &mut d.ixz,
            &mut d.iyz,
        ] {
            outside.iter().for_each(|&i| plane[i] = 0.0);
        }
        d
    }

    fn give_back(self, pool: &PlanePool) {
        pool.give([
            self.gx, self.gy, self.xx, self.xy, self.yy, self.iz, self.ixz, self.iyz,
        ]);
    }
}

/// Slots per row of a split plane: half the row, rounded up, and a padding slot at each end.
fn split_stride(w: usize) -> usize {
    w.div_ceil(2) + 2
}

/// Checkerboard-split planes: pixel (x, y) has colour (x + y) mod 2 and sits
/// in its colour's plane at row y, slot 1 + x / 2. Slot 0 and the slots after
/// a row's last pixel are zero padding, so neighbours are plain offsets.
struct Split {
    stride: usize,
    planes: [Vec<f32>; 2],
}

impl Split {
    fn new(pool: &PlanePool, w: usize, h: usize) -> Self {
        let stride = split_stride(w);
        Self {
            stride,
            planes: [pool.zeros(stride * h), pool.zeros(stride * h)],
        }
    }

    /// Row `y` back into `row`.
    fn gather_row(&self, y: usize, row: &mut [f32]) {
        let s = self.stride;
        let (even, odd) = if y.is_multiple_of(2) { (0, 1) } else { (1, 0) };
        let (e, o) = (
            &self.planes[even][y * s + 1..][..row.len().div_ceil(2)],
            &self.planes[odd][y * s + 1..][..row.len() / 2],
        );
        let mut pairs = row.chunks_exact_mut(2);
        for (pair, (e, o)) in (&mut pairs).zip(e.iter().zip(o)) {
            pair[0] = *e;
            pair[1] = *o;
        }
        if let [last] = pairs.into_remainder() {
            *last = e[e.len() - 1];
        }
    }
}

/// The fields of a pixel's SOR system: neighbour weights (left, right, top,
/// bottom; zero where missing), the coupling a12, the inverse diagonals and the
/// right-hand sides with the neighbours' current flow folded in.
const FIELDS: usize = 9;
const WL: usize = 0;
const WR: usize = 1;
const WT: usize = 2;
const WB: usize = 3;
const A12: usize = 4;
const INV_U: usize = 5;
const INV_V: usize = 6;
const CU: usize = 7;
const CV: usize = 8;

/// Per-pixel SOR systems in split layout, row-major blocks: row y holds, for
/// each field and each colour, `stride` slots (a pixel at slot 1 + x / 2).
struct SorSystem {
    stride: usize,
    data: Vec<f32>,
}

impl SorSystem {
    fn new(pool: &PlanePool, w: usize, h: usize) -> Self {
        let stride = split_stride(w);
        Self {
            stride,
            data: pool.zeros(h * FIELDS * 2 * stride),
        }
    }

    /// `m` slots of a field of colour `c` in row `y`, from slot 1.
    fn part(&self, y: usize, field: usize, c: usize, m: usize) -> &[f32] {
        let s = self.stride;
        &self.data[(y * FIELDS * 2 + field * 2 + c) * s + 1..][..m]
    }
}

/// Refines `flow` (from `i0` to `i1`, same size) in place, with working planes
/// from `pool`; `i0_gradients` are I0's Sobel gradients ([`GrayImage::gradients`]),
/// which the patch search has already.
pub fn refine(
    pool: &PlanePool,
    i0: &GrayImage,
    i1: &GrayImage,
    i0_gradients: (&GrayImage, &GrayImage),
    flow: &mut FlowField,
    iterations: usize,
    p: &RefineParams,
) {
    let (w, h) = (i0.width, i0.height);
    if w < 3 || h < 3 || iterations == 0 {
        return;
    }
    let n = w * h;
    let data = DataTerms::new(pool, i0, i1, i0_gradients, flow);
    let (mut du, mut dv) = (pool.zeros(n), pool.zeros(n));
    let (mut su, mut sv) = (Split::new(pool, w, h), Split::new(pool, w, h));
    let mut smooth = pool.scratch(n);
    let mut sys = SorSystem::new(pool, w, h);
    for _ in 0..iterations {
        smoothness(flow, &du, &dv, p.alpha, &mut smooth);
        coefficients(&data, flow, &du, &dv, &smooth, p, &mut sys);
        sor_sweeps(&sys, &mut su, &mut sv, w, h, p.sor_iterations, p.omega);
        du.par_chunks_mut(w)
            .zip(dv.par_chunks_mut(w))
            .enumerate()
            .with_min_len(rows_per_task(w))
            .for_each(|(y, (ur, vr))| {
                su.gather_row(y, ur);
                sv.gather_row(y, vr);
            });
    }
    flow.u.iter_mut().zip(&du).for_each(|(f, d)| *f += d);
    flow.v.iter_mut().zip(&dv).for_each(|(f, d)| *f += d);
    data.give_back(pool);
    let [su0, su1] = su.planes;
    let [sv0, sv1] = sv.planes;
    pool.give([du, dv, su0, su1, sv0, sv1, smooth, sys.data]);
}

/// Robust smoothness weight α / (2 √(|∇(flow + d)|² + ε²)) per pixel (central differences, borders clamped).
fn smoothness(flow: &FlowField, du: &[f32], dv: &[f32], alpha: f32, out: &mut [f32]) {
    let (w, h) = (flow.width, flow.height);
    out.par_chunks_mut(w)
        .enumerate()
        .with_min_len(rows_per_task(w))
        .for_each(|(y, row)| {
            let (ym, yp) = (y.saturating_sub(1), (y + 1).min(h - 1));
            let (fu, fv, du_, dv_) = (
                part(&flow.u, y * w, w),
                part(&flow.v, y * w, w),
                part(du, y * w, w),
                part(dv, y * w, w),
            );
            let (fum, fvm, dum, dvm) = (
                part(&flow.u, ym * w, w),
                part(&flow.v, ym * w, w),
                part(du, ym * w, w),
                part(dv, ym * w, w),
            );
            let (fup, fvp, dup, dvp) = (
                part(&flow.u, yp * w, w),
                part(&flow.v, yp * w, w),
                part(du, yp * w, w),
                part(dv, yp * w, w),
            );
            let at = |x: usize, xm: usize, xp: usize| {
                let ux = 0.5 * (fu[xp] + du_[xp] - fu[xm] - du_[xm]);
                let uy = 0.5 * (fup[x] + dup[x] - fum[x] - dum[x]);
                let vx = 0.5 * (fv[xp] + dv_[xp] - fv[xm] - dv_[xm]);
                let vy = 0.5 * (fvp[x] + dvp[x] - fvm[x] - dvm[x]);
                alpha / (2.0 * (ux * ux + uy * uy + vx * vx + vy * vy + EPS2).sqrt())
            };
            row[0] = at(0, 0, 1);
            row[w - 1] = at(w - 1, w - 2, w - 1);
            // Interior: the same expression on shifted slices, which the compiler vectorises.
            let n = w - 2;
            let (fu_p, du_p, fu_m, du_m) = (&fu[2..][..n], &du_[2..][..n], &fu[..n], &du_[..n]);
            let (fv_p, dv_p, fv_m, dv_m) = (&fv[2..][..n], &dv_[2..][..n], &fv[..n], &dv_[..n]);
            let (fup, dup, fum, dum) = (
                &fup[1..][..n],
                &dup[1..][..n],
                &fum[1..][..n],
                &dum[1..][..n],
            );
            let (fvp, dvp, fvm, dvm) = (
                &fvp[1..][..n],
                &dvp[1..][..n],
                &fvm[1..][..n],
                &dvm[1..][..n],
            );
            let out = &mut row[1..][..n];
            for k in 0..n {
                let ux = 0.5 * (fu_p[k] + du_p[k] - fu_m[k] - du_m[k]);
                let uy = 0.5 * (fup[k] + dup[k] - fum[k] - dum[k]);
                let vx = 0.5 * (fv_p[k] + dv_p[k] - fv_m[k] - dv_m[k]);
                let vy = 0.5 * (fvp[k] + dvp[k] - fvm[k] - dvm[k]);
                out[k] = alpha / (2.0 * (ux * ux + uy * uy + vx * vx + vy * vy + EPS2).sqrt());
            }
        });
}

/// The SOR system of every pixel, written in split layout.
fn coefficients(
    d: &DataTerms,
    flow: &FlowField,
    du: &[f32],
    dv: &[f32],
    smooth: &[f32],
    p: &RefineParams,
    sys: &mut SorSystem,
) {
    let w = flow.width;
    let s = sys.stride;
    // Per thread, one row of each field; the left weight of x = 0 and the right
    // weight of x = w − 1 are never written and stay zero.
    sys.data
        .par_chunks_mut(FIELDS * 2 * s)
        .enumerate()
        .with_min_len(rows_per_task(w))
        .for_each_init(
            || vec![0.0f32; FIELDS * w],
            |fields, (y, block)| {
                let mut row = Row::of(fields, w);
                row.weights(smooth, y, flow.height);
                row.data_terms(d, (du, dv), p, y * w);
                row.neighbour_terms(flow, y);
                scatter(fields, block, y, w, s);
            },
        );
}

/// One row of each field of the SOR system (see [`FIELDS`]), being written.
struct Row<'a> {
    wl: &'a mut [f32],
    wr: &'a mut [f32],
    wt: &'a mut [f32],
    wb: &'a mut [f32],
    a12: &'a mut [f32],
    iu: &'a mut [f32],
    iv: &'a mut [f32],
    cu: &'a mut [f32],
    cv: &'a mut [f32],
}

impl<'a> Row<'a> {
    /// The fields of one row of `w` pixels, in the order of [`FIELDS`].
    fn of(fields: &'a mut [f32], w: usize) -> Self {
        let (wl, rest) = fields.split_at_mut(w);
        let (wr, rest) = rest.split_at_mut(w);
        let (wt, rest) = rest.split_at_mut(w);
        let (wb, rest) = rest.split_at_mut(w);
        let (a12, rest) = rest.split_at_mut(w);
        let (iu, rest) = rest.split_at_mut(w);
        let (iv, rest) = rest.split_at_mut(w);
        let (cu, cv) = rest.split_at_mut(w);
        Self {
            wl,
            wr,
            wt,
            wb,
            a12,
            iu,
            iv,
            cu,
            cv,
        }
    }

    /// The neighbour weights of row `y` of `h`: the mean smoothness of the two
    /// pixels, zero toward a missing row.
    #[inline]
    fn weights(&mut self, smooth: &[f32], y: usize, h: usize) {
        let w = self.wl.len();
        let sm = part(smooth, y * w, w);
        // Neighbour rows; a missing one is replaced by this row with zero weight.
        let (yt, yb) = (
            if y > 0 { y - 1 } else { y },
            if y + 1 < h { y + 1 } else { y },
        );
        let (kt, kb) = (
            if y > 0 { 1.0 } else { 0.0 },
            if y + 1 < h { 1.0 } else { 0.0 },
        );
        let (sm_t, sm_b) = (part(smooth, yt * w, w), part(smooth, yb * w, w));
        for x in 0..w {
            self.wt[x] = kt * (0.5 * (sm_t[x] + sm[x]));
            self.wb[x] = kb * (0.5 * (sm[x] + sm_b[x]));
        }
        for x in 1..w {
            self.wl[x] = 0.5 * (sm[x - 1] + sm[x]);
            self.wr[x - 1] = 0.5 * (sm[x - 1] + sm[x]);
        }
    }

    /// The data term's coupling, inverse diagonals and right-hand sides of the
    /// row that starts at pixel `o`, around the current increment.
    #[inline]
    fn data_terms(
        &mut self,
        d: &DataTerms,
        (du, dv): (&[f32], &[f32]),
        p: &RefineParams,
        o: usize,
    ) {
        let w = self.wl.len();
        let inv_gamma = p.gamma.recip();
        let (gx, gy, xx, xy, yy) = (
            part(&d.gx, o, w),
            part(&d.gy, o, w),
            part(&d.xx, o, w),
            part(&d.xy, o, w),
            part(&d.yy, o, w),
        );
        let (iz, ixz, iyz) = (part(&d.iz, o, w), part(&d.ixz, o, w), part(&d.iyz, o, w));
        let (u, v) = (part(du, o, w), part(dv, o, w));
        for x in 0..w {
            let (gx, gy, xx, xy, yy) = (gx[x], gy[x], xx[x], xy[x], yy[x]);
            let (iz, ixz, iyz, u, v) = (iz[x], ixz[x], iyz[x], u[x], v[x]);
            // Normalisations δ / (|∇I|² + ζ²), γ / (|∇Iₓ|² + ζ²) and γ / (|∇I_y|² + ζ²).
            let bd = p.delta / (gx * gx + gy * gy + ZETA2);
            let bgx = p.gamma / (xx * xx + xy * xy + ZETA2);
            let bgy = p.gamma / (xy * xy + yy * yy + ZETA2);
            let rd = iz + gx * u + gy * v;
            let wd = bd / (2.0 * (bd * rd * rd + EPS2).sqrt());
            let rgx = ixz + xx * u + xy * v;
            let rgy = iyz + xy * u + yy * v;
            let psi_g =
                1.0 / (2.0 * ((inv_gamma * (bgx * rgx * rgx + bgy * rgy * rgy)) + EPS2).sqrt());
            let (wgx, wgy) = (psi_g * bgx, psi_g * bgy);
            // Where the warp left the image every term is zero, and so is the data term.
            let a11 = wd * gx * gx + wgx * xx * xx + wgy * xy * xy;
            let a22 = wd * gy * gy + wgx * xy * xy + wgy * yy * yy;
            self.a12[x] = wd * gx * gy + wgx * xx * xy + wgy * xy * yy;
            let b1 = -(wd * gx * iz + wgx * xx * ixz + wgy * xy * iyz);
            let b2 = -(wd * gy * iz + wgx * xy * ixz + wgy * yy * iyz);
            let sw = self.wl[x] + self.wr[x] + self.wt[x] + self.wb[x];
            self.iu[x] = 1.0 / (a11 + sw);
            self.iv[x] = 1.0 / (a22 + sw);
            self.cu[x] = b1;
            self.cv[x] = b2;
        }
    }

    /// Adds the neighbour terms of the current flow to the right-hand sides of
    /// row `y`: Σ weight · (neighbour − self), in the order left, right, top,
    /// bottom. At the ends of the row the missing neighbour is the pixel
    /// itself, with zero weight.
    #[inline]
    fn neighbour_terms(&mut self, flow: &FlowField, y: usize) {
        let (w, h) = (flow.width, flow.height);
        let o = y * w;
        let (yt, yb) = (
            if y > 0 { y - 1 } else { y },
            if y + 1 < h { y + 1 } else { y },
        );
        let (fu, fv) = (part(&flow.u, o, w), part(&flow.v, o, w));
        let (fu_t, fu_b, fv_t, fv_b) = (
            part(&flow.u, yt * w, w),
            part(&flow.u, yb * w, w),
            part(&flow.v, yt * w, w),
            part(&flow.v, yb * w, w),
        );
        let (wl_row, wr_row, wt_row, wb_row) = (&*self.wl, &*self.wr, &*self.wt, &*self.wb);
        let term = |x: usize, l: usize, r: usize| {
            let su = wl_row[x] * (fu[l] - fu[x])
                + wr_row[x] * (fu[r] - fu[x])
                + wt_row[x] * (fu_t[x] - fu[x])
                + wb_row[x] * (fu_b[x] - fu[x]);
            let sv = wl_row[x] * (fv[l] - fv[x])
                + wr_row[x] * (fv[r] - fv[x])
                + wt_row[x] * (fv_t[x] - fv[x])
                + wb_row[x] * (fv_b[x] - fv[x]);
            (su, sv)
        };
        let (first, last) = (
            term(0, 0, 1.min(w - 1)),
            term(w - 1, w.saturating_sub(2), w - 1),
        );
        if w > 2 {
            // Interior on shifted slices, which the compiler vectorises.
            let m = w - 2;
            let (ful, fuc, fur, fvl, fvc, fvr) = (
                &fu[..m],
                &fu[1..][..m],
                &fu[2..][..m],
                &fv[..m],
                &fv[1..][..m],
                &fv[2..][..m],
            );
            let (fut, fub, fvt, fvb) = (
                &fu_t[1..][..m],
                &fu_b[1..][..m],
                &fv_t[1..][..m],
                &fv_b[1..][..m],
            );
            let (wl, wr, wt, wb) = (
                &wl_row[1..][..m],
                &wr_row[1..][..m],
                &wt_row[1..][..m],
                &wb_row[1..][..m],
            );
            let (cu, cv) = (&mut self.cu[1..][..m], &mut self.cv[1..][..m]);
            for k in 0..m {
                cu[k] += wl[k] * (ful[k] - fuc[k])
                    + wr[k] * (fur[k] - fuc[k])
                    + wt[k] * (fut[k] - fuc[k])
                    + wb[k] * (fub[k] - fuc[k]);
                cv[k] += wl[k] * (fvl[k] - fvc[k])
                    + wr[k] * (fvr[k] - fvc[k])
                    + wt[k] * (fvt[k] - fvc[k])
                    + wb[k] * (fvb[k] - fvc[k]);
            }
        }
        self.cu[0] += first.0;
        self.cv[0] += first.1;
        if w > 1 {
            self.cu[w - 1] += last.0;
            self.cv[w - 1] += last.1;
        }
    }
}

/// Writes row `y`'s fields into its block of the split layout: even x to
/// colour y mod 2, odd x to the other, slot 1 + x / 2.
#[inline]
fn scatter(fields: &[f32], block: &mut [f32], y: usize, w: usize, s: usize) {
    let even = y % 2;
    let half = w / 2;
    for (f, values) in fields.chunks_exact(w).enumerate() {
        let (first, second) = block[f * 2 * s..(f + 1) * 2 * s].split_at_mut(s);
        let (e, od) = if even == 0 {
            (first, second)
        } else {
            (second, first)
        };
        let (e, od) = (&mut e[1..][..w.div_ceil(2)], &mut od[1..][..half]);
        for ((e, o), pair) in e.iter_mut().zip(od.iter_mut()).zip(values.chunks_exact(2)) {
            *e = pair[0];
            *o = pair[1];
        }
        if w % 2 == 1 {
            e[half] = values[w - 1];
        }
    }
}

/// `m` values of `a` from `start`.
fn part(a: &[f32], start: usize, m: usize) -> &[f32] {
    &a[start..][..m]
}

/// Row `y` of one colour of a red-black sweep: pixels with (x + y) mod 2 = `c`,
/// in `own` (that colour's row y), reading the other colour's planes.
#[allow(clippy::too_many_arguments)]
fn sor_row(
    sys: &SorSystem,
    (own_u, own_v): (&mut [f32], &mut [f32]),
    (other_u, other_v): (&[f32], &[f32]),
    w: usize,
    h: usize,
    y: usize,
    c: usize,
    omega: f32,
) {
    let s = sys.stride;
    // This colour's pixels in row y: x = 2k + p for k < m, in slots 1 + k.
    let p = (y + c) % 2;
    let m = (w - p).div_ceil(2);
    let f = |field| sys.part(y, field, c, m);
    let (wl, wr, wt, wb, a12, inv_u, inv_v, cu, cv) = (
        f(WL),
        f(WR),
        f(WT),
        f(WB),
        f(A12),
        f(INV_U),
        f(INV_V),
        f(CU),
        f(CV),
    );
    // Left and right neighbours are the other colour's slots p + k and p + k + 1
    // (padding, with zero weight, where missing); up and down are slot 1 + k of
    // the rows above and below (any row where missing: the weight is zero).
    let (above, below) = (y.saturating_sub(1) * s + 1, (y + 1).min(h - 1) * s + 1);
    let (ul, ur, ut, ub) = (
        part(other_u, y * s + p, m),
        part(other_u, y * s + p + 1, m),
        part(other_u, above, m),
        part(other_u, below, m),
    );
    let (vl, vr, vt, vb) = (
        part(other_v, y * s + p, m),
        part(other_v, y * s + p + 1, m),
        part(other_v, above, m),
        part(other_v, below, m),
    );
    let (du, dv) = (&mut own_u[1..][..m], &mut own_v[1..][..m]);
    for k in 0..m {
        let nu = wl[k] * ul[k] + wr[k] * ur[k] + wt[k] * ut[k] + wb[k] * ub[k];
        let du_new = (cu[k] + nu - a12[k] * dv[k]) * inv_u[k];
        du[k] += omega * (du_new - du[k]);
        let nv = wl[k] * vl[k] + wr[k] * vr[k] + wt[k] * vt[k] + wb[k] * vb[k];
        let dv_new = (cv[k] + nv - a12[k] * du[k]) * inv_v[k];
        dv[k] += omega * (dv_new - dv[k]);
    }
}

/// Pixels below which the SOR state of a level stays in cache, so that
/// running each pass over all rows on several threads pays (measured on 2 cores:
/// faster at 320×240, slower than the wavefront at 540×648).
const PARALLEL_SOR_PIXELS: usize = 150_000;

/// `sweeps` red-black SOR sweeps. Each colour's update of a row reads only the
/// other colour, so every order that runs pass j on row y after pass j − 1 on
/// rows y − 1..=y + 1 gives the sequential result. Small levels on several
/// threads run each pass over all rows in parallel; otherwise the passes run
/// as a single-threaded wavefront (pass j on row t − j), which keeps the rows
/// in cache: large levels are bound by memory traffic.
fn sor_sweeps(
    sys: &SorSystem,
    su: &mut Split,
    sv: &mut Split,
    w: usize,
    h: usize,
    sweeps: usize,
    omega: f32,
) {
    let s = su.stride;
    let passes = 2 * sweeps;
    if rayon::current_num_threads() > 1 && w * h < PARALLEL_SOR_PIXELS {
        for pass in 0..passes {
            let c = pass % 2;
            let [u0, u1] = &mut su.planes;
            let [v0, v1] = &mut sv.planes;
            let (own_u, other_u, own_v, other_v) = if c == 0 {
                (u0, &*u1, v0, &*v1)
            } else {
                (u1, &*u0, v1, &*v0)
            };
            own_u
                .par_chunks_mut(s)
                .zip(own_v.par_chunks_mut(s))
                .enumerate()
                .with_min_len(rows_per_task(w))
                .for_each(|(y, (ur, vr))| {
                    sor_row(sys, (ur, vr), (other_u, other_v), w, h, y, c, omega);
                });
        }
        return;
    }
    for t in 0..h + passes - 1 {
        for pass in 0..passes {
            let Some(y) = t.checked_sub(pass).filter(|&y| y < h) else {
                continue;
            };
            let c = pass % 2;
            let [u0, u1] = &mut su.planes;
            let [v0, v1] = &mut sv.planes;
            let (own_u, other_u, own_v, other_v) = if c == 0 {
                (u0, &*u1, v0, &*v1)
            } else {
                (u1, &*u0, v1, &*v0)
            };
            let row = y * s..(y + 1) * s;
            sor_row(
                sys,
                (&mut own_u[row.clone()], &mut own_v[row]),
                (other_u, other_v),
                w,
                h,
                y,
                c,
                omega,
            );
        }
    }
}
