#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and driver: builds maflow, checks the CUDA
# kernels against the CPU twin on the Middlebury pairs, runs the flow
# pipeline on the sample clips with `backend: cuda`, and prints the GPU
# throughput and latency against their targets. One command proves the GPU
# path: bash scripts/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/cuda-libs.sh

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L; then
    echo "gpu-check: no NVIDIA GPU or driver here (nvidia-smi failed)" >&2
    exit 1
fi

echo "== kernels against the CPU twin (Middlebury, fast and medium)"
MAFLOW_REQUIRE_GPU=1 cargo test --release -p maflow-kernels --test kernels -- --nocapture \
    flow_cuda::gpu_kernels_match_the_cpu_twin_on_middlebury \
    flow_cuda::cuda_kernels_compile_to_ptx_for_sm80_and_sm90_without_warnings

echo "== accuracy with ground truth, on the GPU"
for pair in Dimetrodon Grove2 Urban2; do
    d=../shared/data/middlebury/$pair
    cargo run --release --quiet -- flow "$d/frame10.png" "$d/frame11.png" --preset medium --backend cuda --gt "$d/flow10.flo"
done

echo "== the flow pipeline on the sample clips with backend: cuda"
out=$(mktemp -d)
cargo run --release --quiet -- run pipelines/flow.yaml --set flow.backend=cuda --set defaults.out="$out/out" --set defaults.store="$out/store"
ls "$out/out/flow/flow"

echo "== throughput and latency"
cargo bench -p maflow-kernels --bench flow_gpu
