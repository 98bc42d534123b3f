//! DIS's settings and what both backends derive from them alike: the
//! operating points, the Hessian's regularisation, the stripes of patch rows,
//! the pyramid levels and the patch grid. The CPU DIS ([`super::cpu`]) and
//! the CUDA one ([`super::cuda`]) read them here, so the two cannot drift.

/// Settings of the algorithm; [`Preset`] gives the usual operating points.
#[derive(Clone, Debug, PartialEq)]
pub struct DisParams {
    /// Finest pyramid level computed (0 = full resolution); the result is upsampled from it.
    pub finest_scale: usize,
    /// Coarsest level; `None` picks it from the image size and patch size.
    pub coarsest_scale: Option<usize>,
    /// Patch side in pixels.
    pub patch_size: usize,
    /// Distance between neighbouring patches.
    pub patch_stride: usize,
    /// Gauss–Newton iterations per patch (split over the two sweeps).
    pub iterations: usize,
    /// Fixed-point iterations of variational refinement per level (0 = off).
    pub refinement_iterations: usize,
    /// Variational refinement weights.
    pub refinement: RefineParams,
    /// Subtract patch means before comparing (robust to brightness change).
    pub mean_normalization: bool,
    /// Try neighbours' displacements before searching.
    pub spatial_propagation: bool,
    /// When a patch's SSD rises during the search, take one more step from
    /// there (the rise overshot the minimum) instead of going back to the best
    /// point seen. Better where the patch flows are the result (`ultrafast`,
    /// without refinement); worse for the sub-pixel motions of rendered
    /// micro-actions, so off in the refined presets.
    pub step_on_rise: bool,
}

/// Operating points with OpenCV's meanings: the `flow` operator's `preset`
/// and `maflow flow --preset` alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Finest scale 2, patch 8, stride 4, 12 iterations, no refinement; steps on when the SSD rises.
    Ultrafast,
    /// Finest scale 2, patch 8, stride 4, 16 iterations, 5 refinement iterations.
    Fast,
    /// Finest scale 1, patch 8, stride 3, 25 iterations, 5 refinement iterations.
    Medium,
}

impl Preset {
    /// Every preset, fastest first.
    pub const ALL: [Self; 3] = [Self::Ultrafast, Self::Fast, Self::Medium];

    /// The name a spec or the command line gives it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ultrafast => "ultrafast",
            Self::Fast => "fast",
            Self::Medium => "medium",
        }
    }
}

impl std::str::FromStr for Preset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown preset `{s}` (ultrafast, fast, medium)"))
    }
}

impl DisParams {
    /// The settings of a preset.
    pub fn preset(preset: Preset) -> Self {
        let (finest_scale, patch_stride, iterations, refinement_iterations) = match preset {
            Preset::Ultrafast => (2, 4, 12, 0),
            Preset::Fast => (2, 4, 16, 5),
            Preset::Medium => (1, 3, 25, 5),
        };
        Self {
            finest_scale,
            coarsest_scale: None,
            patch_size: 8,
            patch_stride,
            iterations,
            refinement_iterations,
            refinement: RefineParams::default(),
            mean_normalization: true,
            spatial_propagation: true,
            step_on_rise: preset == Preset::Ultrafast,
        }
    }
}

/// Weights and solver settings. The defaults (α 15, γ 10, δ 5, 5 SOR sweeps,
/// ω 1.8) were chosen on the Middlebury training pairs Dimetrodon, Grove2 and Urban2.
#[derive(Clone, Debug, PartialEq)]
pub struct RefineParams {
    /// Smoothness weight.
    pub alpha: f32,
    /// Gradient-constancy weight.
    pub gamma: f32,
    /// Brightness-constancy weight.
    pub delta: f32,
    /// SOR sweeps per fixed-point iteration.
    pub sor_iterations: usize,
    /// Over-relaxation factor (1 < ω < 2).
    pub omega: f32,
}

impl Default for RefineParams {
    fn default() -> Self {
        Self {
            alpha: 15.0,
            gamma: 10.0,
            delta: 5.0,
            sor_iterations: 5,
            omega: 1.8,
        }
    }
}

/// Per-pixel floor added to the patch Hessian's diagonal (intensity² per pixel²): it keeps
/// flat patches, such as a plain wall with compression noise, from turning noise into motion.
pub(crate) const HESSIAN_RIDGE: f32 = 4.0;

/// Fraction of the patch Hessian's trace added to its diagonal as well (Levenberg–Marquardt
/// damping, relative to the patch's contrast where the ridge is absolute). Both were chosen
/// on the Middlebury pairs, where the damping lowers the endpoint error most in `ultrafast`,
/// which has no variational refinement to smooth the patch flows, and on rendered
/// micro-actions, where it leaves the error as it was.
pub(crate) const HESSIAN_DAMPING: f32 = 0.5;

/// Patch rows per stripe: the unit of parallel work and of propagation.
pub(crate) const STRIPE_ROWS: usize = 4;

/// The finest and coarsest pyramid levels computed for a `w` × `h` image.
///
/// # Panics
/// When the image is smaller than a patch.
pub(crate) fn level_range(w: usize, h: usize, params: &DisParams) -> (usize, usize) {
    let ps = params.patch_size.max(2);
    assert!(
        w >= ps && h >= ps,
        "image {w}x{h} smaller than a {ps}-pixel patch"
    );
    let auto = ((w.max(h) as f64 / (4.0 * ps as f64)).log2() + 0.5)
        .floor()
        .max(0.0) as usize;
    let fits = |s: usize| (w >> s) >= ps && (h >> s) >= ps;
    // A level must hold a patch: on small images even the finest scale asked for may not.
    let mut finest = params.finest_scale;
    while finest > 0 && !fits(finest) {
        finest -= 1;
    }
    let mut coarsest = params.coarsest_scale.unwrap_or(auto).max(finest);
    while coarsest > finest && !fits(coarsest) {
        coarsest -= 1;
    }
    (finest, coarsest)
}

/// Patch positions along one axis: every `stride`, the last flush with the border.
pub(crate) fn grid(len: usize, ps: usize, stride: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..=len - ps).step_by(stride.max(1)).collect();
    if *v.last().expect("len >= ps") != len - ps {
        v.push(len - ps);
    }
    v
}

/// For each coordinate along an axis, the range of patch indices covering it.
pub(crate) fn covering(len: usize, starts: &[usize], ps: usize) -> Vec<(usize, usize)> {
    (0..len)
        .map(|x| {
            let lo = starts
                .iter()
                .position(|&s| s + ps > x)
                .unwrap_or(starts.len());
            let hi = starts.iter().rposition(|&s| s <= x).map_or(0, |i| i + 1);
            (lo, hi)
        })
        .collect()
}
