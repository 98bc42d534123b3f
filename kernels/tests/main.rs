//! The kernels' tests, in one binary: DIS on the CPU against the Middlebury
//! ground truth and OpenCV's errors (`flow`), and the CUDA kernels compiled
//! with NVRTC and run on the host by the emulator against the CPU twin
//! (`flow_cuda`).

mod flow;
mod flow_cuda;
