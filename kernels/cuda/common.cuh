// Device helpers shared by the flow kernels. Every .cu file in this folder is
// compiled with this header in front of it (by NVRTC at run time, and by the
// host emulator in tests), so the files include nothing themselves.
//
// Layout conventions: images and fields are row-major float planes; a batch
// of B pairs is B planes back to back, and blockIdx.z selects the pair.

#define FLOW_WARP 32
// Patches up to 16x16: each lane of a warp holds at most 8 of a patch's pixels.
#define FLOW_MAX_PER_LANE 8
// Patch rows per stripe (one warp per row); equals STRIPE_ROWS in the CPU twin.
#define FLOW_STRIPE_ROWS 4

__device__ inline float flow_clampf(float v, float lo, float hi) { return fminf(fmaxf(v, lo), hi); }

// Value at integer coordinates, clamped to the border.
__device__ inline float flow_at(const float* img, int w, int h, int x, int y) {
    x = min(max(x, 0), w - 1);
    y = min(max(y, 0), h - 1);
    return img[y * w + x];
}

// Bilinear sample with border clamping (GrayImage::sample).
__device__ inline float flow_sample(const float* img, int w, int h, float x, float y) {
    x = flow_clampf(x, 0.0f, (float)(w - 1));
    y = flow_clampf(y, 0.0f, (float)(h - 1));
    int x0 = (int)floorf(x), y0 = (int)floorf(y);
    int x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1);
    float fx = x - (float)x0, fy = y - (float)y0;
    const float* r0 = img + y0 * w;
    const float* r1 = img + y1 * w;
    float top = r0[x0] + fx * (r0[x1] - r0[x0]);
    float bottom = r1[x0] + fx * (r1[x1] - r1[x0]);
    return top + fy * (bottom - top);
}

// Sums each of the first n values over the 32 lanes of a warp, as a
// butterfly: lanes i and i ^ 16 add, then i ^ 8, ... i ^ 1. Additions are
// commutative, so every lane ends with the same bits; the CPU twin sums its
// 32 lane partials in the same tree (butterfly in kernels/src/flow/dis.rs).
__device__ inline void flow_warp_sum(float* v, int n) {
    for (int i = 0; i < n; i++)
        for (int mask = FLOW_WARP / 2; mask > 0; mask /= 2) v[i] += __shfl_xor_sync(0xffffffffu, v[i], mask);
}
