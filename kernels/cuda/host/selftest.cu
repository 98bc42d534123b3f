// Kernels that check the emulator itself (host only; not part of the flow
// kernels): barriers must order memory, shuffles must exchange lanes, and
// misuse must be reported.

// out[i] = the value thread (i + 1) mod n wrote to shared memory before the barrier.
extern "C" __global__ void emu_block_barrier(float* out) {
    __shared__ float s[256];
    int i = threadIdx.x, n = blockDim.x;
    s[i] = (float)i;
    __syncthreads();
    out[i] = s[(i + 1) % n];
}

// out[lane] = the sum of all lane numbers of the warp (496), through flow_warp_sum.
extern "C" __global__ void emu_warp_sum(float* out) {
    float v[1] = {(float)threadIdx.x};
    flow_warp_sum(v, 1);
    out[threadIdx.x] = v[0];
}

// Half the warp waits at __syncwarp, the other half at __syncthreads: an error.
extern "C" __global__ void emu_divergent_barrier(float* out) {
    if (threadIdx.x < 16) __syncwarp();
    else __syncthreads();
    out[threadIdx.x] = 1.0f;
}

// Registered as barrier-free, yet it waits at a barrier: an error.
extern "C" __global__ void emu_undeclared_barrier(float* out) {
    __syncthreads();
    out[threadIdx.x] = 1.0f;
}
