#include "tensor_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

int df_kernels_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// `pixels` output pixels × 8·`vectors` output channels in registers; every tap and input channel
// broadcasts one input value per pixel against `vectors` weight vectors. Called with constant
// arguments and inlined, so the accumulators stay in registers: 6 × 2 or 8 × 1 of them, plus the
// weights and a broadcast, fit AVX2's 16 (12 × 1 spilled), and hide the FMAs' latency.
__attribute__((target("avx2,fma"), always_inline))
static inline void block(const float *in, long row_stride, int cin, int step, int kh, int kw,
                         const float *w, const float *bias, int cop, float *out, int ldo, int lanes,
                         const int pixels, const int vectors) {
    __m256 acc[8][2];
    for (int p = 0; p < pixels; p++) {
        acc[p][0] = _mm256_loadu_ps(bias);
        if (vectors == 2) acc[p][1] = _mm256_loadu_ps(bias + 8);
    }
    for (int ky = 0; ky < kh; ky++) {
        for (int kx = 0; kx < kw; kx++) {
            const float *src = in + ky * row_stride + (long)kx * cin;
            const float *wk = w + (long)(ky * kw + kx) * cin * cop;
            for (int i = 0; i < cin; i++) {
                __m256 w0 = _mm256_loadu_ps(wk + (long)i * cop);
                __m256 w1 = vectors == 2 ? _mm256_loadu_ps(wk + (long)i * cop + 8) : w0;
                for (int p = 0; p < pixels; p++) {
                    __m256 x = _mm256_broadcast_ss(src + (long)p * step + i);
                    acc[p][0] = _mm256_fmadd_ps(x, w0, acc[p][0]);
                    if (vectors == 2) acc[p][1] = _mm256_fmadd_ps(x, w1, acc[p][1]);
                }
            }
        }
    }
    for (int p = 0; p < pixels; p++) {
        float *dst = out + (long)p * ldo;
        if (lanes == 8 * vectors) {
            _mm256_storeu_ps(dst, acc[p][0]);
            if (vectors == 2) _mm256_storeu_ps(dst + 8, acc[p][1]);
        } else {
            float tmp[16];
            _mm256_storeu_ps(tmp, acc[p][0]);
            if (vectors == 2) _mm256_storeu_ps(tmp + 8, acc[p][1]);
            for (int j = 0; j < lanes; j++) dst[j] = tmp[j];
        }
    }
}

__attribute__((target("avx2,fma"), always_inline))
static inline void columns(const float *in, long row_stride, int cin, int step, int kh, int kw, const float *w,
                           const float *bias, int cop, float *out, int ldo, int lanes, int wo, const int pixels,
                           const int vectors) {
    // Blocks of `pixels` across the row; the last one ends at the row's end, recomputing a few
    // pixels of the one before (the same sums, so the same values) instead of a slow short block.
    for (int x0 = 0; x0 < wo; x0 += pixels) {
        int x = x0 + pixels <= wo ? x0 : wo - pixels;
        block(in + (long)x * step, row_stride, cin, step, kh, kw, w, bias, cop, out + (long)x * ldo, ldo, lanes, pixels,
              vectors);
    }
}

__attribute__((target("avx2,fma")))
void df_conv_direct_row(const float *in, long row_stride, int cin, int stride_x, int kh, int kw,
                        const float *weights, const float *bias, int cout_padded, float *out, int wo, int cout) {
    int step = stride_x * cin;
    for (int c0 = 0; c0 < cout; c0 += 16) {
        int lanes = cout - c0 < 16 ? cout - c0 : 16;
        const float *w = weights + c0, *b = bias + c0;
        float *o = out + c0;
        // A row shorter than a block goes one pixel at a time.
        if (lanes > 8) {
            if (wo >= 6) columns(in, row_stride, cin, step, kh, kw, w, b, cout_padded, o, cout, lanes, wo, 6, 2);
            else columns(in, row_stride, cin, step, kh, kw, w, b, cout_padded, o, cout, lanes, wo, 1, 2);
        } else {
            if (wo >= 8) columns(in, row_stride, cin, step, kh, kw, w, b, cout_padded, o, cout, lanes, wo, 8, 1);
            else columns(in, row_stride, cin, step, kh, kw, w, b, cout_padded, o, cout, lanes, wo, 1, 1);
        }
    }
}

#else

int df_kernels_available(void) { return 0; }

void df_conv_direct_row(const float *in, long row_stride, int cin, int stride_x, int kh, int kw,
                        const float *weights, const float *bias, int cout_padded, float *out, int wo, int cout) {
    (void)in; (void)row_stride; (void)cin; (void)stride_x; (void)kh; (void)kw;
    (void)weights; (void)bias; (void)cout_padded; (void)out; (void)wo; (void)cout;
}

#endif
