//! Dense Inverse Search on a [`Device`]: the host side of the CUDA kernels.
//!
//! The same steps as [`crate::flow::cpu::dis_flow`], level by level, with
//! the whole pyramid of every pair kept on the device and a batch of
//! same-sized pairs processed by each launch (the grid's z axis).

use crate::flow::field::FlowField;
use crate::flow::image::GrayImage;
use crate::flow::params::{
    DisParams, HESSIAN_DAMPING, HESSIAN_RIDGE, STRIPE_ROWS, covering, grid, level_range,
};
use crate::gpu::{Arg, Device, GpuError, Launch};

/// Largest patch side the kernels hold in registers (8 pixels per lane).
pub const MAX_PATCH: usize = 16;

/// DIS flow on a device.
pub struct GpuDis<D: Device> {
    device: D,
    params: DisParams,
}

/// A batch of planes of one size.
struct Planes<D: Device> {
    w: usize,
    h: usize,
    data: D::Buffer<f32>,
}

impl<D: Device> GpuDis<D> {
    /// Checks the settings against what the kernels support.
    pub fn new(device: D, params: DisParams) -> Result<Self, GpuError> {
        if params.patch_size > MAX_PATCH || params.patch_size < 2 {
            return Err(GpuError::Unavailable(format!(
                "the CUDA kernels take patches of 2 to {MAX_PATCH} pixels, not {}",
                params.patch_size
            )));
        }
        Ok(Self { device, params })
    }

    /// The device.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The device back, to run other settings on it.
    pub fn into_device(self) -> D {
        self.device
    }

    /// Flow of one pair.
    pub fn flow(
        &self,
        i0: &GrayImage,
        i1: &GrayImage,
        init: Option<&FlowField>,
    ) -> Result<FlowField, GpuError> {
        let inits = init.map(std::slice::from_ref);
        Ok(self.flow_batch(&[(i0, i1)], inits)?.remove(0))
    }

    /// Flows of a batch of pairs of one size, optionally each from an initial field.
    ///
    /// # Panics
    /// When the images differ in size, are smaller than a patch, or `inits` has the wrong length.
    pub fn flow_batch(
        &self,
        pairs: &[(&GrayImage, &GrayImage)],
        inits: Option<&[FlowField]>,
    ) -> Result<Vec<FlowField>, GpuError> {
        let Some(&(first, _)) = pairs.first() else {
            return Ok(Vec::new());
        };
        let (w, h) = (first.width, first.height);
        for (a, b) in pairs {
            assert!(
                (a.width, a.height, b.width, b.height) == (w, h, w, h),
                "all frames of a batch must be {w}x{h}"
            );
        }
        if let Some(inits) = inits {
            assert_eq!(inits.len(), pairs.len(), "one initial field per pair");
        }
        let batch = pairs.len();
        let (finest, coarsest) = level_range(w, h, &self.params);
        let pyr0 = self.pyramid(pairs.iter().map(|p| &p.0.data[..]), w, h, coarsest, batch)?;
        let pyr1 = self.pyramid(pairs.iter().map(|p| &p.1.data[..]), w, h, coarsest, batch)?;
        let mut flow = match inits {
            Some(inits) => Some(self.upload_fields(inits)?),
            None => None,
        };
        for s in (finest..=coarsest).rev() {
            flow = Some(self.level(&pyr0[s], &pyr1[s], flow.take(), batch)?);
        }
        let (u, v) = flow.expect("at least one level");
        let (u, v) = self.resize(u, v, w, h, batch)?;
        self.download_fields(&u, &v, batch)
    }

    /// The image pyramid of a batch, levels 0 to `coarsest`, each half the one before.
    fn pyramid<'a>(
        &self,
        images: impl Iterator<Item = &'a [f32]>,
        w: usize,
        h: usize,
        coarsest: usize,
        batch: usize,
    ) -> Result<Vec<Planes<D>>, GpuError> {
        let mut pyr = vec![Planes {
            w,
            h,
            data: self.device.upload(&stack(images))?,
        }];
        for _ in 0..coarsest {
            let prev = pyr.last().expect("level 0");
            let next = self.planes((prev.w / 2).max(1), (prev.h / 2).max(1), batch)?;
            self.per_pixel(
                "flow_pyr_down",
                &next,
                batch,
                &[
                    Arg::Floats(&prev.data),
                    int(prev.w),
                    int(prev.h),
                    Arg::Floats(&next.data),
                    int(next.w),
                    int(next.h),
                ],
            )?;
            pyr.push(next);
        }
        Ok(pyr)
    }

    /// A batch of initial fields on the device.
    fn upload_fields(&self, inits: &[FlowField]) -> Result<(Planes<D>, Planes<D>), GpuError> {
        let (iw, ih) = (inits[0].width, inits[0].height);
        assert!(
            inits.iter().all(|f| (f.width, f.height) == (iw, ih)),
            "initial fields differ in size"
        );
        let u = Planes {
            w: iw,
            h: ih,
            data: self.device.upload(&stack(inits.iter().map(|f| &f.u[..])))?,
        };
        let v = Planes {
            w: iw,
            h: ih,
            data: self.device.upload(&stack(inits.iter().map(|f| &f.v[..])))?,
        };
        Ok((u, v))
    }

    /// One pyramid level: the patch search from the coarser level's flow (or
    /// zero), densification, and the optional variational refinement.
    fn level(
        &self,
        a: &Planes<D>,
        b: &Planes<D>,
        coarser: Option<(Planes<D>, Planes<D>)>,
        batch: usize,
    ) -> Result<(Planes<D>, Planes<D>), GpuError> {
        let p = &self.params;
        let (lw, lh) = (a.w, a.h);
        let (su, sv) = match coarser {
            Some((u, v)) => self.resize(u, v, lw, lh, batch)?,
            None => (self.planes(lw, lh, batch)?, self.planes(lw, lh, batch)?),
        };
        let (gx, gy) = (self.planes(lw, lh, batch)?, self.planes(lw, lh, batch)?);
        self.sobel(a, &gx, &gy, batch)?;
        let patches = self.patch_search((a, b), (&gx, &gy), (&su, &sv), batch)?;
        let (du, dv) = self.densify(a, b, &patches, batch)?;
        if p.refinement_iterations > 0 && lw >= 3 && lh >= 3 {
            self.refine(a, b, (&gx, &gy), (&du, &dv), batch)?;
        }
        Ok((du, dv))
    }

    /// Each patch's flow on one level, starting from `start`.
    fn patch_search(
        &self,
        (a, b): (&Planes<D>, &Planes<D>),
        (gx, gy): (&Planes<D>, &Planes<D>),
        (su, sv): (&Planes<D>, &Planes<D>),
        batch: usize,
    ) -> Result<PatchFlows<D>, GpuError> {
        let p = &self.params;
        let ps = p.patch_size;
        let (lw, lh) = (a.w, a.h);
        let xs = grid(lw, ps, p.patch_stride);
        let ys = grid(lh, ps, p.patch_stride);
        let (cols, rows) = (xs.len(), ys.len());
        let xs_dev = self.device.upload(&to_i32(xs.iter().copied()))?;
        let ys_dev = self.device.upload(&to_i32(ys.iter().copied()))?;
        let pu = self.device.zeros::<f32>(rows * cols * batch)?;
        let pv = self.device.zeros::<f32>(rows * cols * batch)?;
        let first_half = p.iterations.div_ceil(2);
        let stripes = rows.div_ceil(STRIPE_ROWS);
        self.device.launch(
            "flow_patch_search",
            Launch {
                grid: [stripes as u32, 1, batch as u32],
                block: [32, STRIPE_ROWS as u32, 1],
            },
            &[
                Arg::Floats(&a.data),
                Arg::Floats(&b.data),
                Arg::Floats(&gx.data),
                Arg::Floats(&gy.data),
                int(lw),
                int(lh),
                Arg::Floats(&su.data),
                Arg::Floats(&sv.data),
                Arg::Ints(&xs_dev),
                int(cols),
                Arg::Ints(&ys_dev),
                int(rows),
                Arg::Floats(&pu),
                Arg::Floats(&pv),
                int(ps),
                int(first_half),
                int(p.iterations - first_half),
                int(usize::from(p.mean_normalization)),
                int(usize::from(p.spatial_propagation)),
                int(usize::from(p.step_on_rise)),
                Arg::Float(HESSIAN_RIDGE),
                Arg::Float(HESSIAN_DAMPING),
            ],
        )?;
        Ok(PatchFlows { xs, ys, pu, pv })
    }

    /// The patch flows blended into a dense field on one level.
    fn densify(
        &self,
        a: &Planes<D>,
        b: &Planes<D>,
        patches: &PatchFlows<D>,
        batch: usize,
    ) -> Result<(Planes<D>, Planes<D>), GpuError> {
        let ps = self.params.patch_size;
        let (lw, lh) = (a.w, a.h);
        let flat = |cov: Vec<(usize, usize)>| to_i32(cov.into_iter().flat_map(|(lo, hi)| [lo, hi]));
        let xcov = self.device.upload(&flat(covering(lw, &patches.xs, ps)))?;
        let ycov = self.device.upload(&flat(covering(lh, &patches.ys, ps)))?;
        let (du, dv) = (self.planes(lw, lh, batch)?, self.planes(lw, lh, batch)?);
        self.per_pixel(
            "flow_densify",
            &du,
            batch,
            &[
                Arg::Floats(&a.data),
                Arg::Floats(&b.data),
                int(lw),
                int(lh),
                Arg::Floats(&patches.pu),
                Arg::Floats(&patches.pv),
                int(patches.xs.len()),
                int(patches.ys.len()),
                Arg::Ints(&xcov),
                Arg::Ints(&ycov),
                Arg::Floats(&du.data),
                Arg::Floats(&dv.data),
            ],
        )?;
        Ok((du, dv))
    }

    /// The batch's fields back on the host.
    fn download_fields(
        &self,
        u: &Planes<D>,
        v: &Planes<D>,
        batch: usize,
    ) -> Result<Vec<FlowField>, GpuError> {
        let (w, h) = (u.w, u.h);
        let (hu, hv) = (
            self.device.download(&u.data)?,
            self.device.download(&v.data)?,
        );
        let n = w * h;
        Ok((0..batch)
            .map(|k| FlowField {
                width: w,
                height: h,
                u: hu[k * n..(k + 1) * n].to_vec(),
                v: hv[k * n..(k + 1) * n].to_vec(),
            })
            .collect())
    }
}

/// The image terms of a level's refinement: the mean image's Ix, Iy, Ixx,
/// Ixy, Iyy, then Iz, Ixz, Iyz (warped I1 and its gradients minus I0's), and
/// where the warp stays inside the image.
struct RefineTerms<D: Device> {
    derivatives: [Planes<D>; 8],
    valid: D::Buffer<i32>,
}

/// Working planes of the refinement: the smoothness weights, their east and
/// south edges, and the five SOR coefficients per pixel.
struct RefineWork<D: Device> {
    smooth: Planes<D>,
    east: Planes<D>,
    south: Planes<D>,
    coef: D::Buffer<f32>,
}

/// The patch flows of one level on the device: the patch grid and (u, v) per patch.
struct PatchFlows<D: Device> {
    xs: Vec<usize>,
    ys: Vec<usize>,
    pu: D::Buffer<f32>,
    pv: D::Buffer<f32>,
}

impl<D: Device> GpuDis<D> {
    /// A zeroed batch of `w` × `h` planes.
    fn planes(&self, w: usize, h: usize, batch: usize) -> Result<Planes<D>, GpuError> {
        Ok(Planes {
            w,
            h,
            data: self.device.zeros(w * h * batch)?,
        })
    }

    /// Launches a kernel with one thread per pixel of `out`'s planes.
    fn per_pixel(
        &self,
        kernel: &str,
        out: &Planes<D>,
        batch: usize,
        args: &[Arg<'_, D>],
    ) -> Result<(), GpuError> {
        const TILE: usize = 16;
        let grid = [
            out.w.div_ceil(TILE) as u32,
            out.h.div_ceil(TILE) as u32,
            batch as u32,
        ];
        self.device.launch(
            kernel,
            Launch {
                grid,
                block: [TILE as u32, TILE as u32, 1],
            },
            args,
        )
    }

    /// Launches a kernel with one thread per element of `n`.
    fn per_element(&self, kernel: &str, n: usize, args: &[Arg<'_, D>]) -> Result<(), GpuError> {
        const BLOCK: usize = 256;
        self.device.launch(
            kernel,
            Launch {
                grid: [n.div_ceil(BLOCK) as u32, 1, 1],
                block: [BLOCK as u32, 1, 1],
            },
            args,
        )
    }

    fn sobel(
        &self,
        img: &Planes<D>,
        gx: &Planes<D>,
        gy: &Planes<D>,
        batch: usize,
    ) -> Result<(), GpuError> {
        self.per_pixel(
            "flow_sobel",
            img,
            batch,
            &[
                Arg::Floats(&img.data),
                int(img.w),
                int(img.h),
                Arg::Floats(&gx.data),
                Arg::Floats(&gy.data),
            ],
        )
    }

    /// The field (u, v) at `w` × `h` (bilinear, vectors scaled); unchanged when already that size.
    fn resize(
        &self,
        u: Planes<D>,
        v: Planes<D>,
        w: usize,
        h: usize,
        batch: usize,
    ) -> Result<(Planes<D>, Planes<D>), GpuError> {
        if (u.w, u.h) == (w, h) {
            return Ok((u, v));
        }
        let (nu, nv) = (self.planes(w, h, batch)?, self.planes(w, h, batch)?);
        self.per_pixel(
            "flow_resize_field",
            &nu,
            batch,
            &[
                Arg::Floats(&u.data),
                Arg::Floats(&v.data),
                int(u.w),
                int(u.h),
                Arg::Floats(&nu.data),
                Arg::Floats(&nv.data),
                int(w),
                int(h),
            ],
        )?;
        Ok((nu, nv))
    }

    /// Variational refinement of (fu, fv) in place; `i0_grad` are I0's Sobel gradients.
    fn refine(
        &self,
        i0: &Planes<D>,
        i1: &Planes<D>,
        i0_grad: (&Planes<D>, &Planes<D>),
        (fu, fv): (&Planes<D>, &Planes<D>),
        batch: usize,
    ) -> Result<(), GpuError> {
        let (w, h) = (i0.w, i0.h);
        let n = w * h * batch;
        let terms = self.refine_terms(i0, i1, i0_grad, (fu, fv), batch)?;
        let plane = || self.planes(w, h, batch);
        let increment = (plane()?, plane()?);
        let work = RefineWork {
            smooth: plane()?,
            east: plane()?,
            south: plane()?,
            coef: self.device.zeros::<f32>(5 * n)?,
        };
        for _ in 0..self.params.refinement_iterations {
            self.refine_iteration(
                i0,
                &terms,
                (fu, fv),
                (&increment.0, &increment.1),
                &work,
                batch,
            )?;
        }
        for (f, d) in [(fu, &increment.0), (fv, &increment.1)] {
            self.per_element(
                "flow_accumulate",
                n,
                &[Arg::Floats(&f.data), Arg::Floats(&d.data), int(n)],
            )?;
        }
        Ok(())
    }

    /// The image terms fixed while a level is refined: I1 warped by the flow,
    /// the derivatives of the mean image, and the differences to I0.
    fn refine_terms(
        &self,
        i0: &Planes<D>,
        i1: &Planes<D>,
        i0_grad: (&Planes<D>, &Planes<D>),
        (fu, fv): (&Planes<D>, &Planes<D>),
        batch: usize,
    ) -> Result<RefineTerms<D>, GpuError> {
        let (w, h) = (i0.w, i0.h);
        let n = w * h * batch;
        let plane = || self.planes(w, h, batch);
        let (warped, avg) = (plane()?, plane()?);
        let valid = self.device.zeros::<i32>(n)?;
        self.per_pixel(
            "flow_refine_warp",
            i0,
            batch,
            &[
                Arg::Floats(&i0.data),
                Arg::Floats(&i1.data),
                Arg::Floats(&fu.data),
                Arg::Floats(&fv.data),
                int(w),
                int(h),
                Arg::Floats(&warped.data),
                Arg::Floats(&avg.data),
                Arg::Ints(&valid),
            ],
        )?;
        let (ix, iy, ixx, ixy, iyy, unused) =
            (plane()?, plane()?, plane()?, plane()?, plane()?, plane()?);
        self.sobel(&avg, &ix, &iy, batch)?;
        self.sobel(&ix, &ixx, &ixy, batch)?;
        self.sobel(&iy, &unused, &iyy, batch)?;
        let (iwx, iwy) = (plane()?, plane()?);
        self.sobel(&warped, &iwx, &iwy, batch)?;
        let (iz, ixz, iyz) = (plane()?, plane()?, plane()?);
        for (a, b, out) in [
            (&warped, i0, &iz),
            (&iwx, i0_grad.0, &ixz),
            (&iwy, i0_grad.1, &iyz),
        ] {
            self.per_element(
                "flow_difference",
                n,
                &[
                    Arg::Floats(&a.data),
                    Arg::Floats(&b.data),
                    int(n),
                    Arg::Floats(&out.data),
                ],
            )?;
        }
        Ok(RefineTerms {
            derivatives: [ix, iy, ixx, ixy, iyy, iz, ixz, iyz],
            valid,
        })
    }

    /// One fixed-point iteration: the robust weights frozen, then the SOR
    /// sweeps over the increment (du, dv).
    fn refine_iteration(
        &self,
        i0: &Planes<D>,
        terms: &RefineTerms<D>,
        flow: (&Planes<D>, &Planes<D>),
        (du, dv): (&Planes<D>, &Planes<D>),
        work: &RefineWork<D>,
        batch: usize,
    ) -> Result<(), GpuError> {
        self.refine_system(i0, terms, flow, (du, dv), work, batch)?;
        self.sor_sweeps(i0, (du, dv), work, batch)
    }

    /// The SOR system of every pixel around the current flow and increment:
    /// smoothness weights, their edges, and the five coefficients.
    fn refine_system(
        &self,
        i0: &Planes<D>,
        terms: &RefineTerms<D>,
        (fu, fv): (&Planes<D>, &Planes<D>),
        (du, dv): (&Planes<D>, &Planes<D>),
        work: &RefineWork<D>,
        batch: usize,
    ) -> Result<(), GpuError> {
        let rp = &self.params.refinement;
        let (w, h) = (i0.w, i0.h);
        let RefineWork {
            smooth,
            east,
            south,
            coef,
        } = work;
        let [ix, iy, ixx, ixy, iyy, iz, ixz, iyz] = &terms.derivatives;
        self.per_pixel(
            "flow_refine_smoothness",
            i0,
            batch,
            &[
                Arg::Floats(&fu.data),
                Arg::Floats(&fv.data),
                Arg::Floats(&du.data),
                Arg::Floats(&dv.data),
                int(w),
                int(h),
                Arg::Float(rp.alpha),
                Arg::Floats(&smooth.data),
            ],
        )?;
        self.per_pixel(
            "flow_refine_edges",
            i0,
            batch,
            &[
                Arg::Floats(&smooth.data),
                int(w),
                int(h),
                Arg::Floats(&east.data),
                Arg::Floats(&south.data),
            ],
        )?;
        self.per_pixel(
            "flow_refine_coefficients",
            i0,
            batch,
            &[
                Arg::Floats(&ix.data),
                Arg::Floats(&iy.data),
                Arg::Floats(&ixx.data),
                Arg::Floats(&ixy.data),
                Arg::Floats(&iyy.data),
                Arg::Floats(&iz.data),
                Arg::Floats(&ixz.data),
                Arg::Floats(&iyz.data),
                Arg::Ints(&terms.valid),
                Arg::Floats(&fu.data),
                Arg::Floats(&fv.data),
                Arg::Floats(&du.data),
                Arg::Floats(&dv.data),
                Arg::Floats(&east.data),
                Arg::Floats(&south.data),
                int(w),
                int(h),
                Arg::Float(rp.gamma),
                Arg::Float(rp.delta),
                Arg::Floats(coef),
            ],
        )?;
        Ok(())
    }

    /// Red-black SOR sweeps over the increment (du, dv).
    fn sor_sweeps(
        &self,
        i0: &Planes<D>,
        (du, dv): (&Planes<D>, &Planes<D>),
        work: &RefineWork<D>,
        batch: usize,
    ) -> Result<(), GpuError> {
        let rp = &self.params.refinement;
        let (w, h) = (i0.w, i0.h);
        let RefineWork {
            east, south, coef, ..
        } = work;
        for _ in 0..rp.sor_iterations {
            for colour in 0..2 {
                self.per_pixel(
                    "flow_refine_sor",
                    i0,
                    batch,
                    &[
                        Arg::Floats(coef),
                        Arg::Floats(&east.data),
                        Arg::Floats(&south.data),
                        int(w),
                        int(h),
                        Arg::Float(rp.omega),
                        int(colour),
                        Arg::Floats(&du.data),
                        Arg::Floats(&dv.data),
                    ],
                )?;
            }
        }
        Ok(())
    }
}

fn int<'a, D: Device>(v: usize) -> Arg<'a, D> {
    Arg::Int(i32::try_from(v).expect("sizes fit in i32"))
}

/// Planes one after another.
fn stack<'a>(planes: impl Iterator<Item = &'a [f32]>) -> Vec<f32> {
    planes.flatten().copied().collect()
}

fn to_i32(values: impl Iterator<Item = usize>) -> Vec<i32> {
    values
        .map(|v| i32::try_from(v).expect("sizes fit in i32"))
        .collect()
}
