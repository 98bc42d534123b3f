// Densification (twin of densify in kernels/src/flow/dis.rs): each pixel the
// average of the flows of the patches covering it, weighted by
// 1 / max(1, |I1(x + u) - I0(x)|). xcov and ycov hold, per column and per
// row, the [first, last) range of covering patch indices.

extern "C" __global__ void flow_densify(const float* i0, const float* i1, int w, int h, const float* pu, const float* pv, int cols,
                                        int rows, const int* xcov, const int* ycov, float* out_u, float* out_v) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    size_t plane = (size_t)blockIdx.z * w * h, patches = (size_t)blockIdx.z * rows * cols;
    i0 += plane;
    i1 += plane;
    pu += patches;
    pv += patches;
    float i0v = i0[y * w + x];
    float su = 0.0f, sv = 0.0f, sw = 0.0f;
    for (int r = ycov[2 * y]; r < ycov[2 * y + 1]; r++) {
        for (int c = xcov[2 * x]; c < xcov[2 * x + 1]; c++) {
            int k = r * cols + c;
            float u = pu[k], v = pv[k];
            float fu = floorf(u), fv = floorf(v);
            float ax = u - fu, ay = v - fv;
            int sx = x + (int)fu, sy = y + (int)fv;
            float warped;
            if (sx >= 0 && sy >= 0 && sx + 1 < w && sy + 1 < h) {
                const float* b = i1 + sy * w + sx;
                warped = (1.0f - ax) * (1.0f - ay) * b[0] + ax * (1.0f - ay) * b[1] + (1.0f - ax) * ay * b[w] + ax * ay * b[w + 1];
            } else {
                warped = flow_sample(i1, w, h, (float)x + u, (float)y + v);
            }
            float wgt = 1.0f / fmaxf(fabsf(warped - i0v), 1.0f);
            su += wgt * u;
            sv += wgt * v;
            sw += wgt;
        }
    }
    out_u[plane + y * w + x] = sw > 0.0f ? su / sw : 0.0f;
    out_v[plane + y * w + x] = sw > 0.0f ? sv / sw : 0.0f;
}
