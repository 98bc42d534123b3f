// Host definitions of the CUDA built-ins the flow kernels use, so that the
// kernel sources compile with a C++ compiler and run on the CPU under the
// emulator's scheduler (emulator.cpp). Only what the kernels use is here;
// a kernel that needs more fails to compile in the emulator, never silently.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

#define __global__
#define __device__
#define __restrict__
// One block runs at a time on an OS thread, so per-thread storage is per-block storage.
#define __shared__ static thread_local

struct uint3 {
    unsigned x, y, z;
};
using dim3 = uint3;

extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;

// Barriers: suspend the calling thread until its block (or warp) arrives.
void __syncthreads();
void __syncwarp();
// The value of `v` in lane (this lane ^ lane_mask) of the warp; all 32 lanes take part.
float __shfl_xor_sync(unsigned mask, float v, int lane_mask);

using std::max;
using std::min;

inline float __int_as_float(int bits) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}
