// dlp's own CUDA kernels: f32, NCHW, contiguous operands. Each kernel
// mirrors a CPU kernel of `src/ops/cpu/` and is compiled with -fmad=false,
// so that element-wise arithmetic rounds exactly as the CPU's does.
//
// Reductions (batch-norm statistics and gradients, bias gradients) run in
// two fixed-order stages without atomics: partial sums over fixed slices,
// then one thread per channel adding the partials in order. Results
// therefore repeat bit for bit on the same GPU.

#include <stdint.h>

#define THREADS 256

// ---------------------------------------------------------------- dropout

__device__ __forceinline__ uint32_t rotl(uint32_t v, int c) {
    return (v << c) | (v >> (32 - c));
}

#define QUARTER(a, b, c, d)                 \
    x[a] += x[b]; x[d] = rotl(x[d] ^ x[a], 16); \
    x[c] += x[d]; x[b] = rotl(x[b] ^ x[c], 12); \
    x[a] += x[b]; x[d] = rotl(x[d] ^ x[a], 8);  \
    x[c] += x[d]; x[b] = rotl(x[b] ^ x[c], 7);

// One ChaCha8 block (nonce 0), as `crate::rng::chacha8_block`.
__device__ void chacha8_block(const uint32_t *key, uint64_t counter, uint32_t *out) {
    uint32_t in[16] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u,
                       key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7],
                       (uint32_t)counter, (uint32_t)(counter >> 32), 0u, 0u};
    uint32_t x[16];
    for (int i = 0; i < 16; ++i) x[i] = in[i];
    for (int r = 0; r < 4; ++r) {
        QUARTER(0, 4, 8, 12) QUARTER(1, 5, 9, 13) QUARTER(2, 6, 10, 14) QUARTER(3, 7, 11, 15)
        QUARTER(0, 5, 10, 15) QUARTER(1, 6, 11, 12) QUARTER(2, 7, 8, 13) QUARTER(3, 4, 9, 14)
    }
    for (int i = 0; i < 16; ++i) out[i] = x[i] + in[i];
}

// The dropout mask of `crate::ops::cpu::dropout::mask`: unit i lies in
// block b = i / block_len, whose stream has the key keys[8b..8b+8]; its
// draw is word (i mod block_len) of that stream. One thread per 16 units.
extern "C" __global__ void dropout_mask(float *out, const uint32_t *keys, uint64_t n,
                                        uint64_t block_len, uint32_t threshold, float keep) {
    uint64_t q = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    uint64_t first = q * 16;
    if (first >= n) return;
    uint64_t b = first / block_len;
    uint64_t counter = (first % block_len) / 16;
    uint32_t words[16];
    chacha8_block(keys + 8 * b, counter, words);
    for (int k = 0; k < 16 && first + k < n; ++k) {
        out[first + k] = words[k] < threshold ? 0.0f : keep;
    }
}

// ------------------------------------------------------- element-wise ops

extern "C" __global__ void mask_mul(const float *x, const float *mask, float *y, uint64_t n) {
    uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] * mask[i];
}

extern "C" __global__ void relu_fwd(const float *x, float *y, uint64_t n) {
    uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.0f);
}

// dx = dy where y > 0, else 0 (the gradient is 0 at 0).
extern "C" __global__ void relu_bwd(const float *y, const float *dy, float *dx, uint64_t n) {
    uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

// y = (x − mean_c)·scale_c + shift_c over planes of `inner` values.
extern "C" __global__ void channel_affine(const float *x, float *y, const float *mean,
                                          const float *scale, const float *shift,
                                          uint64_t n, uint32_t c, uint64_t inner) {
    uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    uint32_t ch = (uint32_t)((i / inner) % c);
    y[i] = (x[i] - mean[ch]) * scale[ch] + shift[ch];
}

// In place: y += bias_c, then max(y, 0) when relu != 0 (a convolution's
// epilogue).
extern "C" __global__ void bias_relu(float *y, const float *bias, uint64_t n, uint32_t c,
                                     uint64_t hw, int relu) {
    uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = y[i];
    if (bias) v = v + bias[(i / hw) % c];
    y[i] = relu ? fmaxf(v, 0.0f) : v;
}

// Keras' Adam, as `crate::ops::cpu::adam::update` (the `+ 0.0` turn −0
// into +0 exactly as candle's affine does).
extern "C" __global__ void adam_step(const float *w, const float *g, const float *m,
                                     const float *v, float *nw, float *nm, float *nv,
                                     uint64_t n, float b1, float c1, float b2, float c2,
                                     float eps, float alpha) {
    uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float gi = g[i];
    float mi = (m[i] * b1 + 0.0f) + (gi * c1 + 0.0f);
    float vi = (v[i] * b2 + 0.0f) + ((gi * gi) * c2 + 0.0f);
    float step = (mi / (sqrtf(vi) + eps)) * alpha + 0.0f;
    nm[i] = mi;
    nv[i] = vi;
    nw[i] = w[i] - step;
}

// ---------------------------------------------------------------- pooling

// Output (plane p, row i, column j) of a valid pooling: max (the first
// maximum in row-major scan order, as the CPU's `argmax`) or mean.
__device__ __forceinline__ uint64_t window_argmax(const float *plane, uint32_t w, uint32_t size,
                                                  uint32_t stride, uint32_t i, uint32_t j) {
    uint64_t best = (uint64_t)(i * stride) * w + j * stride;
    for (uint32_t a = 0; a < size; ++a) {
        uint64_t row = (uint64_t)(i * stride + a) * w + j * stride;
        for (uint32_t b = 0; b < size; ++b) {
            if (plane[row + b] > plane[best]) best = row + b;
        }
    }
    return best;
}

extern "C" __global__ void pool_fwd(const float *x, float *y, uint64_t planes, uint32_t h,
                                    uint32_t w, uint32_t oh, uint32_t ow, uint32_t size,
                                    uint32_t stride, int is_max) {
    uint64_t o = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= planes * oh * ow) return;
    uint64_t p = o / ((uint64_t)oh * ow);
    uint32_t i = (uint32_t)((o / ow) % oh), j = (uint32_t)(o % ow);
    const float *plane = x + p * h * w;
    if (is_max) {
        y[o] = plane[window_argmax(plane, w, size, stride, i, j)];
        return;
    }
    float s = 0.0f;
    for (uint32_t a = 0; a < size; ++a) {
        float r = 0.0f;
        const float *row = plane + (uint64_t)(i * stride + a) * w + j * stride;
        for (uint32_t b = 0; b < size; ++b) r = r + row[b];
        s = s + r;
    }
    y[o] = s * (1.0f / (float)(size * size));
}

// One thread per input element: the sum, over the windows that contain
// it in row-major order, of dy (max: where it is the window's first
// maximum; mean: scaled by 1/size²). No atomics, so the order is fixed.
extern "C" __global__ void pool_bwd(const float *x, const float *dy, float *dx, uint64_t planes,
                                    uint32_t h, uint32_t w, uint32_t oh, uint32_t ow,
                                    uint32_t size, uint32_t stride, int is_max) {
    uint64_t e = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= planes * h * w) return;
    uint64_t p = e / ((uint64_t)h * w);
    uint32_t r = (uint32_t)((e / w) % h), col = (uint32_t)(e % w);
    const float *plane = x + p * h * w;
    const float *g = dy + p * oh * ow;
    uint64_t here = (uint64_t)r * w + col;
    // Windows i with i·stride ≤ r < i·stride + size.
    uint32_t i0 = r + 1 > size ? (r + 1 - size + stride - 1) / stride : 0;
    uint32_t i1 = min(r / stride, oh - 1);
    uint32_t j0 = col + 1 > size ? (col + 1 - size + stride - 1) / stride : 0;
    uint32_t j1 = min(col / stride, ow - 1);
    float scale = 1.0f / (float)(size * size);
    float acc = 0.0f;
    for (uint32_t i = i0; i <= i1 && i < oh; ++i) {
        for (uint32_t j = j0; j <= j1 && j < ow; ++j) {
            float d = g[(uint64_t)i * ow + j];
            if (is_max) {
                if (window_argmax(plane, w, size, stride, i, j) == here) acc = acc + d;
            } else {
                acc = acc + d * scale;
            }
        }
    }
    dx[e] = acc;
}

// ------------------------------------------------------------- batch norm

// Block reduction of one double per thread, in a fixed tree order.
__device__ double block_sum(double v, double *shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
        __syncthreads();
    }
    double total = shared[0];
    __syncthreads();
    return total;
}

// A block's walk over the (image, pixel) pairs of one channel's slice of
// images: the slice's planes end to end, thread t at pairs t, t + blockDim,
// t + 2·blockDim, …, so every thread has work however small the planes
// (8×8 maps, or hw = 1 after a dense layer). The offset of the next pair
// follows from the last without a division.
struct SliceWalk {
    uint64_t hw, plane_stride, left, k, offset, step_k, step_planes;
    __device__ SliceWalk(uint32_t first, uint32_t last, uint32_t c, uint32_t ch, uint64_t hw)
        : hw(hw), plane_stride((uint64_t)c * hw), left((uint64_t)(last - first) * hw) {
        step_k = blockDim.x % hw;
        step_planes = blockDim.x / hw;
        k = threadIdx.x % hw;
        offset = ((uint64_t)(first + threadIdx.x / hw) * c + ch) * hw + k;
    }
    // Whether thread's pair number `t` is in the slice.
    __device__ bool has(uint64_t t) const { return t < left; }
    __device__ void next() {
        k += step_k;
        offset += step_planes * plane_stride + step_k;
        if (k >= hw) {
            k -= hw;
            offset += plane_stride - hw;
        }
    }
};

// Partial sums per (channel, slice): grid (c, slices), block THREADS.
// Slice s of channel ch covers images [s·per, (s+1)·per). With `centre`
// null it sums x, else (x − centre_c)². Used for the statistics (x), the
// bias gradient (dy) and batch norm's variance.
extern "C" __global__ void channel_partials(const float *x, const float *centre,
                                            double *partial, uint32_t n, uint32_t c,
                                            uint64_t hw, uint32_t per) {
    __shared__ double shared[THREADS];
    uint32_t ch = blockIdx.x, s = blockIdx.y;
    uint32_t first = s * per, last = min(n, first + per);
    double acc = 0.0;
    float mu = centre ? centre[ch] : 0.0f;
    SliceWalk walk(first, last, c, ch, hw);
    for (uint64_t t = threadIdx.x; walk.has(t); t += blockDim.x, walk.next()) {
        float v = x[walk.offset];
        if (centre) {
            float d = v - mu;
            acc += (double)(d * d);
        } else {
            acc += (double)v;
        }
    }
    double total = block_sum(acc, shared);
    if (threadIdx.x == 0) partial[(uint64_t)ch * gridDim.y + s] = total;
}

// Backward partials: Σ dy and Σ dy·x̂ per (channel, slice).
extern "C" __global__ void bn_grad_partials(const float *x, const float *dy, const float *mean,
                                            const float *inv_std, double *partial_dy,
                                            double *partial_dyx, uint32_t n, uint32_t c,
                                            uint64_t hw, uint32_t per) {
    __shared__ double shared[THREADS];
    uint32_t ch = blockIdx.x, s = blockIdx.y;
    uint32_t first = s * per, last = min(n, first + per);
    float mu = mean[ch], inv = inv_std[ch];
    double a = 0.0, b = 0.0;
    SliceWalk walk(first, last, c, ch, hw);
    for (uint64_t t = threadIdx.x; walk.has(t); t += blockDim.x, walk.next()) {
        float d = dy[walk.offset];
        a += (double)d;
        b += (double)(d * ((x[walk.offset] - mu) * inv));
    }
    double ta = block_sum(a, shared);
    double tb = block_sum(b, shared);
    if (threadIdx.x == 0) {
        partial_dy[(uint64_t)ch * gridDim.y + s] = ta;
        partial_dyx[(uint64_t)ch * gridDim.y + s] = tb;
    }
}

// out[ch] = (Σ_s partial[ch, s]) / divisor, in order; with inv_std given
// (the variance pass), also inv_std[ch] = 1/√(out[ch] + eps).
extern "C" __global__ void channel_finish(const double *partial, float *out, float *inv_std,
                                          uint32_t c, uint32_t slices, double divisor,
                                          float eps) {
    uint32_t ch = blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= c) return;
    double total = 0.0;
    for (uint32_t s = 0; s < slices; ++s) total += partial[(uint64_t)ch * slices + s];
    float v = (float)(total / divisor);
    out[ch] = v;
    if (inv_std) inv_std[ch] = 1.0f / sqrtf(v + eps);
}

// y = x·scale + shift with scale = γ·inv_std, shift = β − mean·scale (the
// CPU forward's arithmetic).
extern "C" __global__ void bn_apply(const float *x, float *y, const float *gamma,
                                    const float *beta, const float *mean, const float *inv_std,
                                    uint64_t n, uint32_t c, uint64_t hw) {
    uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    uint32_t ch = (uint32_t)((i / hw) % c);
    float scale = gamma[ch] * inv_std[ch];
    float shift = beta[ch] - mean[ch] * scale;
    y[i] = x[i] * scale + shift;
}

// dx = γ·inv_std/M·(M·dy − dβ − x̂·dγ), 0 where relu_input and x ≤ 0.
extern "C" __global__ void bn_grad_dx(const float *x, const float *dy, const float *gamma,
                                      const float *mean, const float *inv_std,
                                      const float *dgamma, const float *dbeta, float *dx,
                                      uint64_t n, uint32_t c, uint64_t hw, float m,
                                      int relu_input) {
    uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    uint32_t ch = (uint32_t)((i / hw) % c);
    float v = x[i];
    float inv = inv_std[ch];
    float xhat = (v - mean[ch]) * inv;
    float k = gamma[ch] * inv / m;
    float g = k * (m * dy[i] - dbeta[ch] - xhat * dgamma[ch]);
    dx[i] = (!relu_input || v > 0.0f) ? g : 0.0f;
}
