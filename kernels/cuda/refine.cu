// Variational refinement (twin of kernels/src/flow/variational.rs): warp,
// per fixed-point iteration the robust smoothness and data weights, then
// red-black SOR on the flow increment (du, dv). A pixel's four neighbours
// have the other colour, so updating one colour in place is exactly the
// sequential sweep.

#define FLOW_EPS2 1e-6f
#define FLOW_ZETA2 0.01f

// I1 warped by the flow, the mean of I0 and the warped image, and whether
// the warp stayed inside the image (pixels that leave it get no data term).
extern "C" __global__ void flow_refine_warp(const float* i0, const float* i1, const float* fu, const float* fv, int w, int h,
                                            float* warped, float* avg, int* valid) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    size_t i = (size_t)blockIdx.z * w * h + y * w + x;
    float sx = (float)x + fu[i], sy = (float)y + fv[i];
    valid[i] = sx >= 0.0f && sy >= 0.0f && sx <= (float)(w - 1) && sy <= (float)(h - 1);
    warped[i] = flow_sample(i1 + (size_t)blockIdx.z * w * h, w, h, sx, sy);
    avg[i] = 0.5f * (i0[i] + warped[i]);
}

// out = a - b over n values.
extern "C" __global__ void flow_difference(const float* a, const float* b, int n, float* out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] - b[i];
}

// flow += increment over n values.
extern "C" __global__ void flow_accumulate(float* flow, const float* increment, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) flow[i] += increment[i];
}

// Robust smoothness weight alpha / (2 sqrt(|grad(flow + d)|^2 + eps^2)) per pixel.
extern "C" __global__ void flow_refine_smoothness(const float* fu, const float* fv, const float* du, const float* dv, int w, int h,
                                                  float alpha, float* smooth) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    size_t p = (size_t)blockIdx.z * w * h;
    int i = y * w + x;
    int xm = x > 0 ? i - 1 : i, xp = x + 1 < w ? i + 1 : i;
    int ym = y > 0 ? i - w : i, yp = y + 1 < h ? i + w : i;
    fu += p; fv += p; du += p; dv += p;
    float ux = 0.5f * (fu[xp] + du[xp] - fu[xm] - du[xm]);
    float uy = 0.5f * (fu[yp] + du[yp] - fu[ym] - du[ym]);
    float vx = 0.5f * (fv[xp] + dv[xp] - fv[xm] - dv[xm]);
    float vy = 0.5f * (fv[yp] + dv[yp] - fv[ym] - dv[ym]);
    smooth[p + i] = alpha / (2.0f * sqrtf(ux * ux + uy * uy + vx * vx + vy * vy + FLOW_EPS2));
}

// Weights of the edges to the right (east) and lower (south) neighbours; zero on the last column and row.
extern "C" __global__ void flow_refine_edges(const float* smooth, int w, int h, float* east, float* south) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    size_t i = (size_t)blockIdx.z * w * h + y * w + x;
    east[i] = x + 1 < w ? 0.5f * (smooth[i] + smooth[i + 1]) : 0.0f;
    south[i] = y + 1 < h ? 0.5f * (smooth[i] + smooth[i + w]) : 0.0f;
}

// The per-pixel linear system of one fixed-point iteration, from the image
// derivatives (of the mean image: ix, iy, ixx, ixy, iyy; differences warped
// minus I0: iz, ixz, iyz). coef receives 5 planes of B pairs each: a12,
// 1 / a11', 1 / a22', cu, cv, with the neighbour terms of the current flow folded in.
extern "C" __global__ void flow_refine_coefficients(const float* ix, const float* iy, const float* ixx, const float* ixy,
                                                    const float* iyy, const float* iz, const float* ixz, const float* iyz,
                                                    const int* valid, const float* fu, const float* fv, const float* du,
                                                    const float* dv, const float* east, const float* south, int w, int h,
                                                    float gamma, float delta, float* coef) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    size_t plane = (size_t)w * h, p = (size_t)blockIdx.z * plane;
    int i = y * w + x;
    float a11 = 0.0f, a12 = 0.0f, a22 = 0.0f, b1 = 0.0f, b2 = 0.0f;
    if (valid[p + i]) {
        size_t j = p + i;
        float gx = ix[j], gy = iy[j];
        float xx = ixx[j], xy = ixy[j], yy = iyy[j];
        float z = iz[j], xz = ixz[j], yz = iyz[j];
        float u = du[j], v = dv[j];
        float bd = delta / (gx * gx + gy * gy + FLOW_ZETA2);
        float rd = z + gx * u + gy * v;
        float wd = bd / (2.0f * sqrtf(bd * rd * rd + FLOW_EPS2));
        float bgx = gamma / (xx * xx + xy * xy + FLOW_ZETA2);
        float bgy = gamma / (xy * xy + yy * yy + FLOW_ZETA2);
        float rgx = xz + xx * u + xy * v;
        float rgy = yz + xy * u + yy * v;
        float psi_g = 1.0f / (2.0f * sqrtf((1.0f / gamma) * (bgx * rgx * rgx + bgy * rgy * rgy) + FLOW_EPS2));
        float wgx = psi_g * bgx, wgy = psi_g * bgy;
        a11 = wd * gx * gx + wgx * xx * xx + wgy * xy * xy;
        a12 = wd * gx * gy + wgx * xx * xy + wgy * xy * yy;
        a22 = wd * gy * gy + wgx * xy * xy + wgy * yy * yy;
        b1 = -(wd * gx * z + wgx * xx * xz + wgy * xy * yz);
        b2 = -(wd * gy * z + wgx * xy * xz + wgy * yy * yz);
    }
    fu += p; fv += p; east += p; south += p;
    float sw = 0.0f, su = 0.0f, sv = 0.0f;
    if (x > 0) { float e = east[i - 1]; sw += e; su += e * (fu[i - 1] - fu[i]); sv += e * (fv[i - 1] - fv[i]); }
    if (x + 1 < w) { float e = east[i]; sw += e; su += e * (fu[i + 1] - fu[i]); sv += e * (fv[i + 1] - fv[i]); }
    if (y > 0) { float e = south[i - w]; sw += e; su += e * (fu[i - w] - fu[i]); sv += e * (fv[i - w] - fv[i]); }
    if (y + 1 < h) { float e = south[i]; sw += e; su += e * (fu[i + w] - fu[i]); sv += e * (fv[i + w] - fv[i]); }
    size_t n = (size_t)gridDim.z * plane;
    coef[p + i] = a12;
    coef[n + p + i] = 1.0f / (a11 + sw);
    coef[2 * n + p + i] = 1.0f / (a22 + sw);
    coef[3 * n + p + i] = b1 + su;
    coef[4 * n + p + i] = b2 + sv;
}

// One colour of a red-black SOR sweep: pixels with (x + y + colour) even.
extern "C" __global__ void flow_refine_sor(const float* coef, const float* east, const float* south, int w, int h, float omega,
                                           int colour, float* du, float* dv) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h || ((x + y + colour) & 1)) return;
    size_t plane = (size_t)w * h, p = (size_t)blockIdx.z * plane, n = (size_t)gridDim.z * plane;
    int i = y * w + x;
    east += p; south += p; du += p; dv += p;
    float wl = 0.0f, ul = 0.0f, vl = 0.0f, wr = 0.0f, ur = 0.0f, vr = 0.0f;
    float wt = 0.0f, ut = 0.0f, vt = 0.0f, wb = 0.0f, ub = 0.0f, vb = 0.0f;
    if (x > 0) { wl = east[i - 1]; ul = du[i - 1]; vl = dv[i - 1]; }
    if (x + 1 < w) { wr = east[i]; ur = du[i + 1]; vr = dv[i + 1]; }
    if (y > 0) { wt = south[i - w]; ut = du[i - w]; vt = dv[i - w]; }
    if (y + 1 < h) { wb = south[i]; ub = du[i + w]; vb = dv[i + w]; }
    float a12 = coef[p + i], inv_u = coef[n + p + i], inv_v = coef[2 * n + p + i], cu = coef[3 * n + p + i], cv = coef[4 * n + p + i];
    float nu = wl * ul + wr * ur + wt * ut + wb * ub;
    float du_new = (cu + nu - a12 * dv[i]) * inv_u;
    du[i] += omega * (du_new - du[i]);
    float nv = wl * vl + wr * vr + wt * vt + wb * vb;
    float dv_new = (cv + nv - a12 * du[i]) * inv_v;
    dv[i] += omega * (dv_new - dv[i]);
}
