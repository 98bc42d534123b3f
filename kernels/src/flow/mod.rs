//! Dense optical flow: one estimator type with a CPU side and a CUDA side,
//! chosen in one place.
//!
//! [`FlowEstimator`] is what computing the flow of a pair means, whatever
//! runs it: DIS on the CPU ([`cpu`]) or on a device ([`cuda`]: a GPU, or
//! the emulator in tests), both with the settings of [`params`].
//! [`FlowBackend::open`] is the only place that decides where the flow runs
//! ([`Backend`]: `auto`, `cpu` or `cuda`); the `flow` operator and `maflow
//! flow` both go through it, and each clip (or call) takes its own
//! estimator from it with [`FlowBackend::estimator`]. Beside them: flow
//! fields and `.flo` files, grey images, colour coding.

pub mod color;
pub mod cpu;
pub mod cuda;
pub mod field;
pub mod image;
pub mod params;
pub mod planes;

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::gpu::cuda::CudaDevice;
use crate::gpu::{Device, GpuError};
use cpu::DisFlow;
use cuda::GpuDis;
use field::FlowField;
use image::GrayImage;
use params::DisParams;

/// Computes the flow of image pairs with settings fixed at construction.
pub trait FlowEstimator: Send {
    /// The flow from `i0` to `i1` (same size), optionally starting from `init`.
    fn flow(
        &self,
        i0: &GrayImage,
        i1: &GrayImage,
        init: Option<&FlowField>,
    ) -> Result<FlowField, GpuError>;
    /// Takes back a field it returned, once the caller is done with it (a
    /// CPU estimator writes its next result into that memory).
    fn recycle(&self, _field: FlowField) {}
    /// Where it runs, for messages (`CPU`, a GPU's name).
    fn device(&self) -> String;
}

impl FlowEstimator for DisFlow {
    fn flow(
        &self,
        i0: &GrayImage,
        i1: &GrayImage,
        init: Option<&FlowField>,
    ) -> Result<FlowField, GpuError> {
        Ok(self.flow_with(i0, i1, self.params(), init))
    }

    fn recycle(&self, field: FlowField) {
        DisFlow::recycle(self, field);
    }

    fn device(&self) -> String {
        "CPU".into()
    }
}

impl<D: Device + Send> FlowEstimator for GpuDis<D> {
    fn flow(
        &self,
        i0: &GrayImage,
        i1: &GrayImage,
        init: Option<&FlowField>,
    ) -> Result<FlowField, GpuError> {
        GpuDis::flow(self, i0, i1, init)
    }

    fn device(&self) -> String {
        self.device().name()
    }
}

/// One GPU shared by every clip's estimator, used by one caller at a time.
struct SharedGpu(Arc<Mutex<GpuDis<CudaDevice>>>);

impl FlowEstimator for SharedGpu {
    fn flow(
        &self,
        i0: &GrayImage,
        i1: &GrayImage,
        init: Option<&FlowField>,
    ) -> Result<FlowField, GpuError> {
        let gpu = self
            .0
            .lock()
            .map_err(|_| GpuError::Device("a thread using the GPU panicked".into()))?;
        FlowEstimator::flow(&*gpu, i0, i1, init)
    }

    fn device(&self) -> String {
        match self.0.lock() {
            Ok(gpu) => FlowEstimator::device(&*gpu),
            Err(_) => "CUDA device".into(),
        }
    }
}

/// Where to compute the flow: the `flow` operator's `backend` and `maflow
/// flow --backend` alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// CUDA when a GPU is usable, otherwise the CPU (said once in the log).
    #[default]
    Auto,
    /// The CPU implementation.
    Cpu,
    /// The CUDA kernels; an error where they cannot run.
    Cuda,
}

impl Backend {
    /// Every backend, in the order messages list them.
    pub const ALL: [Self; 3] = [Self::Cpu, Self::Cuda, Self::Auto];

    /// The name a spec or the command line gives it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| format!("unknown flow backend `{s}` (cpu, cuda, auto)"))
    }
}

/// Where a run's flow is computed, decided once.
#[derive(Clone)]
pub struct FlowBackend {
    params: DisParams,
    gpu: Option<Arc<Mutex<GpuDis<CudaDevice>>>>,
    fallback: Option<String>,
}

impl FlowBackend {
    /// Opens `backend` for `params`: `cuda` fails where no GPU can run the
    /// kernels (say why, plainly); `auto` falls back to the CPU and keeps the
    /// reason ([`fallback`](Self::fallback)).
    pub fn open(backend: Backend, params: DisParams) -> Result<Self, GpuError> {
        let gpu = match backend {
            Backend::Cpu => {
                return Ok(Self {
                    params,
                    gpu: None,
                    fallback: None,
                });
            }
            Backend::Cuda | Backend::Auto => {
                CudaDevice::open(0).and_then(|device| GpuDis::new(device, params.clone()))
            }
        };
        match (gpu, backend) {
            (Ok(gpu), _) => Ok(Self {
                params,
                gpu: Some(Arc::new(Mutex::new(gpu))),
                fallback: None,
            }),
            (Err(why), Backend::Auto) => Ok(Self {
                params,
                gpu: None,
                fallback: Some(why.to_string()),
            }),
            (Err(why), _) => Err(why),
        }
    }

    /// An estimator for one clip or call: fresh CPU working memory, or a handle on the shared GPU.
    pub fn estimator(&self) -> Box<dyn FlowEstimator> {
        match &self.gpu {
            Some(gpu) => Box::new(SharedGpu(gpu.clone())),
            None => Box::new(DisFlow::new(self.params.clone())),
        }
    }

    /// Where the flow runs, for messages (`CPU`, the GPU's name).
    pub fn device(&self) -> String {
        match &self.gpu {
            Some(gpu) => SharedGpu(gpu.clone()).device(),
            None => "CPU".into(),
        }
    }

    /// Whether the flow runs on a GPU.
    pub fn is_gpu(&self) -> bool {
        self.gpu.is_some()
    }

    /// Why `auto` runs on the CPU, when it does.
    pub fn fallback(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// The settings.
    pub fn params(&self) -> &DisParams {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::cpu::dis_flow;
    use crate::flow::params::Preset;

    fn ramp(w: usize, h: usize, shift: f32) -> GrayImage {
        let data: Vec<f32> = (0..w * h)
            .map(|i| {
                ((i % w) as f32 + shift).sin() * 60.0 + ((i / w) as f32 * 0.3).cos() * 40.0 + 128.0
            })
            .collect();
        GrayImage {
            width: w,
            height: h,
            data,
        }
    }

    #[test]
    fn a_backend_reads_back_its_own_name_and_refuses_others() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>(), Ok(b));
        }
        assert!(
            "gpu"
                .parse::<Backend>()
                .unwrap_err()
                .contains("cpu, cuda, auto")
        );
    }

    #[test]
    fn the_cpu_backend_computes_what_dis_flow_computes() {
        let params = DisParams::preset(Preset::Fast);
        let backend = FlowBackend::open(Backend::Cpu, params.clone()).unwrap();
        assert!(!backend.is_gpu() && backend.fallback().is_none());
        let (a, b) = (ramp(64, 48, 0.0), ramp(64, 48, 0.7));
        let estimator = backend.estimator();
        let ours = estimator.flow(&a, &b, None).unwrap();
        let reference = dis_flow(&a, &b, &params, None);
        assert_eq!(
            (ours.u.as_slice(), ours.v.as_slice()),
            (reference.u.as_slice(), reference.v.as_slice())
        );
        assert_eq!(estimator.device(), "CPU");
    }

    #[test]
    fn auto_without_a_gpu_says_why_it_runs_on_the_cpu_and_cuda_is_a_clear_error() {
        if crate::gpu::cuda::CudaDevice::open(0).is_ok() {
            return; // a GPU is here: `auto` uses it, and `cuda` works
        }
        let params = DisParams::preset(Preset::Ultrafast);
        let auto = FlowBackend::open(Backend::Auto, params.clone()).unwrap();
        assert!(!auto.is_gpu());
        assert!(!auto.fallback().unwrap_or_default().is_empty());
        let err = FlowBackend::open(Backend::Cuda, params)
            .err()
            .expect("no GPU here");
        assert!(matches!(err, GpuError::Unavailable(_)), "{err:?}");
    }
}
