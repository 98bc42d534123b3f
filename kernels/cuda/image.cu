// Image kernels of the flow pyramid: 2x2 downsampling, Sobel gradients and
// bilinear resizing of flow fields (twins of kernels/src/flow/{dis,image}.rs).

// Level s+1 from level s: each pixel the mean of a 2x2 block (odd last row or column dropped).
extern "C" __global__ void flow_pyr_down(const float* src, int sw, int sh, float* dst, int dw, int dh) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= dw || y >= dh) return;
    src += (size_t)blockIdx.z * sw * sh;
    dst += (size_t)blockIdx.z * dw * dh;
    const float* r0 = src + min(2 * y, sh - 1) * sw;
    const float* r1 = src + min(2 * y + 1, sh - 1) * sw;
    int c0 = min(2 * x, sw - 1), c1 = min(2 * x + 1, sw - 1);
    dst[y * dw + x] = 0.25f * (r0[c0] + r0[c1] + r1[c0] + r1[c1]);
}

// Sobel gradients in intensity per pixel (kernel sum 8 divided out), borders replicated.
extern "C" __global__ void flow_sobel(const float* img, int w, int h, float* gx, float* gy) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    size_t plane = (size_t)blockIdx.z * w * h;
    const float* d = img + plane;
    int ym = max(y - 1, 0) * w, yc = y * w, yp = min(y + 1, h - 1) * w;
    int xm = max(x - 1, 0), xp = min(x + 1, w - 1);
    gx[plane + yc + x] = ((d[ym + xp] + 2.0f * d[yc + xp] + d[yp + xp]) - (d[ym + xm] + 2.0f * d[yc + xm] + d[yp + xm])) / 8.0f;
    gy[plane + yc + x] = ((d[yp + xm] + 2.0f * d[yp + x] + d[yp + xp]) - (d[ym + xm] + 2.0f * d[ym + x] + d[ym + xp])) / 8.0f;
}

// Bilinear resize of a flow field, vectors scaled with the size.
extern "C" __global__ void flow_resize_field(const float* su, const float* sv, int sw, int sh, float* du, float* dv, int dw, int dh) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= dw || y >= dh) return;
    size_t sp = (size_t)blockIdx.z * sw * sh, dp = (size_t)blockIdx.z * dw * dh;
    float sx = (float)sw / (float)dw, sy = (float)sh / (float)dh;
    float fx = ((float)x + 0.5f) * sx - 0.5f, fy = ((float)y + 0.5f) * sy - 0.5f;
    du[dp + y * dw + x] = flow_sample(su + sp, sw, sh, fx, fy) / sx;
    dv[dp + y * dw + x] = flow_sample(sv + sp, sw, sh, fx, fy) / sy;
}
