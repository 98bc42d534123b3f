//! One flow estimator type with a CPU side and a CUDA side, chosen in one place.
//!
//! [`FlowEstimator`] is what computing the flow of a pair means, whatever
//! runs it: [`DisFlow`] on the CPU, [`GpuDis`] on a device (CUDA, or the
//! emulator in tests). [`FlowBackend::open`] is the only place that decides
//! where the flow runs (`auto`, `cpu` or `cuda`); the `flow` operator and
//! `maflow flow` both go through it, and each clip (or call) takes its own
//! estimator from it with [`FlowBackend::estimator`].

use std::sync::{Arc, Mutex};

use super::dis::{DisFlow, DisParams};
use super::field::FlowField;
use super::image::GrayImage;
use crate::gpu::cuda::CudaDevice;
use crate::gpu::dis::GpuDis;
use crate::gpu::{Device, GpuError};

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

/// Where to compute the flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// CUDA when a GPU is usable, otherwise the CPU.
    #[default]
    Auto,
    /// The CPU implementation.
    Cpu,
    /// The CUDA kernels; an error where they cannot run.
    Cuda,
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
    use crate::flow::dis::{Preset, dis_flow};

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
