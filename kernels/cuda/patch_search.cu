// Inverse search of one pyramid level's patches (twin of search_level in
// kernels/src/flow/dis.rs).
//
// One block per stripe of FLOW_STRIPE_ROWS patch rows, one warp per patch row,
// the lanes of a warp sharing a patch's pixels. Within a stripe the CPU visits
// patches in row-major order, each reading its left and upper neighbours
// (forward sweep) or right and lower ones (backward sweep). The warps run as a
// wavefront, row r starting r steps after row 0, which meets exactly those
// dependencies; sums follow flow_warp_sum's order, which the CPU twin uses too,
// so the result is the CPU's bit for bit.

#define FLOW_INF __int_as_float(0x7f800000)

struct FlowLevel {
    const float* i0;
    const float* i1;
    const float* gx;
    const float* gy;
    int w, h, ps, n, mean_norm, step_on_rise;
};

// The template side of one patch, each lane holding its share of the pixels:
// I0's intensities, the (mean-normalised) gradients, their sums, the inverse Hessian.
struct FlowTemplate {
    float t[FLOW_MAX_PER_LANE], jx[FLOW_MAX_PER_LANE], jy[FLOW_MAX_PER_LANE];
    float sjx, sjy;    // sums of jx and jy
    float ha, hb, hc;  // inverse Hessian [[ha, hb], [hb, hc]]
};

// What one evaluation of a displacement gives (Measure in dis.rs).
struct FlowMeasure {
    float ssd, bx, by;
};

__device__ void flow_template(const FlowLevel* L, int px, int py, int lane, float ridge, float damping, FlowTemplate* T) {
    for (int j = 0; j < FLOW_MAX_PER_LANE; j++) {
        int k = lane + FLOW_WARP * j;
        T->t[j] = 0.0f;
        T->jx[j] = 0.0f;
        T->jy[j] = 0.0f;
        if (k < L->n) {
            int idx = (py + k / L->ps) * L->w + px + k % L->ps;
            T->t[j] = L->i0[idx];
            T->jx[j] = L->gx[idx];
            T->jy[j] = L->gy[idx];
        }
    }
    float n = (float)L->n;
    if (L->mean_norm) {
        float s[2] = {0.0f, 0.0f};
        for (int j = 0; j < FLOW_MAX_PER_LANE; j++) {
            if (lane + FLOW_WARP * j < L->n) {
                s[0] += T->jx[j];
                s[1] += T->jy[j];
            }
        }
        flow_warp_sum(s, 2);
        for (int j = 0; j < FLOW_MAX_PER_LANE; j++) {
            if (lane + FLOW_WARP * j < L->n) {
                T->jx[j] -= s[0] / n;
                T->jy[j] -= s[1] / n;
            }
        }
    }
    float s[5] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    for (int j = 0; j < FLOW_MAX_PER_LANE; j++) {
        if (lane + FLOW_WARP * j < L->n) {
            s[0] += T->jx[j];
            s[1] += T->jy[j];
            s[2] += T->jx[j] * T->jx[j];
            s[3] += T->jx[j] * T->jy[j];
            s[4] += T->jy[j] * T->jy[j];
        }
    }
    flow_warp_sum(s, 5);
    T->sjx = s[0];
    T->sjy = s[1];
    // An absolute floor and a fraction of the trace (Levenberg-Marquardt damping).
    float r = ridge * n + damping * (s[2] + s[4]);
    float a = s[2] + r, b = s[3], c = s[4] + r;
    float det = a * c - b * b;
    T->ha = c / det;
    T->hb = -b / det;
    T->hc = a / det;
}

// SSD and sum of J.r at (u, v), with r = d - mean(d) for d = I1(x + u) - I0(x)
// (r = d without mean normalisation), in one pass: sum r^2 = sum d^2 - (sum d)^2 / n
// and sum J.r = sum J.d - mean(d) sum J. I1 is sampled bilinearly with one set
// of weights for the patch.
__device__ FlowMeasure flow_measure(const FlowLevel* L, const FlowTemplate* T, int px, int py, float u, float v, int lane) {
    float x = (float)px + u, y = (float)py + v;
    float x0f = floorf(x), y0f = floorf(y);
    float fx = x - x0f, fy = y - y0f;
    int x0 = (int)x0f, y0 = (int)y0f;
    float w00 = (1.0f - fx) * (1.0f - fy), w01 = fx * (1.0f - fy), w10 = (1.0f - fx) * fy, w11 = fx * fy;
    float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int j = 0; j < FLOW_MAX_PER_LANE; j++) {
        int k = lane + FLOW_WARP * j;
        if (k < L->n) {
            int xi = x0 + k % L->ps, yj = y0 + k / L->ps;
            float val = w00 * flow_at(L->i1, L->w, L->h, xi, yj) + w01 * flow_at(L->i1, L->w, L->h, xi + 1, yj) +
                        w10 * flow_at(L->i1, L->w, L->h, xi, yj + 1) + w11 * flow_at(L->i1, L->w, L->h, xi + 1, yj + 1);
            float d = val - T->t[j];
            s[0] += d;
            s[1] += T->jx[j] * d;
            s[2] += T->jy[j] * d;
            s[3] += d * d;
        }
    }
    flow_warp_sum(s, 4);
    FlowMeasure m;
    if (L->mean_norm) {
        float mean = s[0] / (float)L->n;
        m.ssd = s[3] - s[0] * mean;
        m.bx = s[1] - mean * T->sjx;
        m.by = s[2] - mean * T->sjy;
    } else {
        m.ssd = s[3];
        m.bx = s[1];
        m.by = s[2];
    }
    return m;
}

// Gauss-Newton from (*u, *v), whose measure is `here`; leaves its result in (*u, *v).
// When the SSD rises it stops, at the best point seen or, with step_on_rise, one
// step on from the point where it rose.
__device__ void flow_gauss_newton(const FlowLevel* L, const FlowTemplate* T, int px, int py, float* u, float* v, FlowMeasure here,
                                  int iters, int lane) {
    float cu = *u, cv = *v, bu = cu, bv = cv, best = FLOW_INF;
    for (int it = 0; it < iters; it++) {
        if (it > 0) here = flow_measure(L, T, px, py, cu, cv, lane);
        bool improved = here.ssd < best;
        if (improved) {
            best = here.ssd;
            bu = cu;
            bv = cv;
        }
        float du = T->ha * here.bx + T->hb * here.by;
        float dv = T->hb * here.bx + T->hc * here.by;
        cu -= du;
        cv -= dv;
        if (!improved) {
            *u = L->step_on_rise ? cu : bu;
            *v = L->step_on_rise ? cv : bv;
            return;
        }
        if (du * du + dv * dv < 1e-4f) break;
    }
    // The last step's point has not been measured yet.
    FlowMeasure last = flow_measure(L, T, px, py, cu, cv, lane);
    if (last.ssd < best) {
        *u = cu;
        *v = cv;
    } else {
        *u = bu;
        *v = bv;
    }
}

// One patch of a sweep: propagation from the neighbours already visited, search, rejection.
__device__ void flow_visit(const FlowLevel* L, const float* start_u, const float* start_v, const int* xs, const int* ys, int cols,
                           int row0, int srows, int r, int c, int dir, int iters, int propagate, float ridge, float damping,
                           float* flow_u, float* flow_v, int lane) {
    int px = xs[c], py = ys[row0 + r];
    int k = (row0 + r) * cols + c;
    FlowTemplate T;
    flow_template(L, px, py, lane, ridge, damping, &T);
    float cu = flow_u[k], cv = flow_v[k];
    FlowMeasure at = flow_measure(L, &T, px, py, cu, cv, lane);
    if (propagate) {
        // The neighbour in this row, then the one in the row before (in sweep order).
        int nbr[2][2] = {{r, c - dir}, {r - dir, c}};
        for (int i = 0; i < 2; i++) {
            int nr = nbr[i][0], nc = nbr[i][1];
            if (nr < 0 || nr >= srows || nc < 0 || nc >= cols) continue;
            float nu = flow_u[(row0 + nr) * cols + nc], nv = flow_v[(row0 + nr) * cols + nc];
            FlowMeasure m = flow_measure(L, &T, px, py, nu, nv, lane);
            if (m.ssd < at.ssd) {
                at = m;
                cu = nu;
                cv = nv;
            }
        }
    }
    flow_gauss_newton(L, &T, px, py, &cu, &cv, at, iters, lane);
    int centre = (py + L->ps / 2) * L->w + px + L->ps / 2;
    float ou = start_u[centre], ov = start_v[centre];
    // An update larger than the patch is not trusted.
    if (hypotf(cu - ou, cv - ov) > (float)L->ps) {
        cu = ou;
        cv = ov;
    }
    if (lane == 0) {
        flow_u[k] = cu;
        flow_v[k] = cv;
    }
}

// Grid (stripes, 1, pairs), block (32, FLOW_STRIPE_ROWS). start_*: the level's
// starting field; flow_*: rows x cols patch flows per pair, written here.
extern "C" __global__ void flow_patch_search(const float* i0, const float* i1, const float* gx, const float* gy, int w, int h,
                                             const float* start_u, const float* start_v, const int* xs, int cols, const int* ys, int rows,
                                             float* flow_u, float* flow_v, int ps, int iters_fwd, int iters_bwd, int mean_norm,
                                             int propagate, int step_on_rise, float ridge, float damping) {
    int lane = threadIdx.x, r = threadIdx.y;
    size_t plane = (size_t)blockIdx.z * w * h, patches = (size_t)blockIdx.z * rows * cols;
    FlowLevel L = {i0 + plane, i1 + plane, gx + plane, gy + plane, w, h, ps, ps * ps, mean_norm, step_on_rise};
    start_u += plane;
    start_v += plane;
    flow_u += patches;
    flow_v += patches;
    int row0 = blockIdx.x * FLOW_STRIPE_ROWS;
    int srows = min(FLOW_STRIPE_ROWS, rows - row0);

    for (int k = r * FLOW_WARP + lane; k < srows * cols; k += FLOW_WARP * FLOW_STRIPE_ROWS) {
        int pr = row0 + k / cols, c = k % cols;
        int centre = (ys[pr] + ps / 2) * w + xs[c] + ps / 2;
        flow_u[pr * cols + c] = start_u[centre];
        flow_v[pr * cols + c] = start_v[centre];
    }
    __syncthreads();
    for (int step = 0; step < cols + srows - 1; step++) {
        int c = step - r;
        if (r < srows && c >= 0 && c < cols)
            flow_visit(&L, start_u, start_v, xs, ys, cols, row0, srows, r, c, 1, iters_fwd, propagate, ridge, damping, flow_u, flow_v, lane);
        __syncthreads();
    }
    if (iters_bwd > 0) {
        for (int step = 0; step < cols + srows - 1; step++) {
            int c = cols - 1 - (step - (srows - 1 - r));
            if (r < srows && c >= 0 && c < cols)
                flow_visit(&L, start_u, start_v, xs, ys, cols, row0, srows, r, c, -1, iters_bwd, propagate, ridge, damping, flow_u, flow_v, lane);
            __syncthreads();
        }
    }
}
