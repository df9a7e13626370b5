#include "tensor_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

// The same approximations as TensorCore's `vexp` and `verf` (VectorMath.swift), eight lanes at a
// time with FMA: Cephes expf (range reduction by ln 2 in two parts, degree-6 polynomial) and
// Abramowitz & Stegun 7.1.26 for erf.

// 2ⁿ from `shifted` = n + 1.5·2²³ (n in its low mantissa bits), built as a float's exponent.
__attribute__((target("avx2,fma"), always_inline))
static inline __m256 pow2n(__m256 shifted) {
    __m256i n = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}

__attribute__((target("avx2,fma"), always_inline))
static inline __m256 exp8(__m256 x) {
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    // The bound first: min/max return their second operand when either is NaN, so NaN passes through.
    __m256 v = _mm256_min_ps(_mm256_set1_ps(88.3f), x);
    v = _mm256_max_ps(_mm256_set1_ps(-87.3f), v);
    // Adding 1.5·2²³ rounds to the nearest integer and leaves it in the low mantissa bits.
    __m256 shifted = _mm256_fmadd_ps(v, _mm256_set1_ps(1.442695040888963f), magic);
    __m256 n = _mm256_sub_ps(shifted, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), v);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 poly = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256 out = _mm256_mul_ps(poly, pow2n(shifted));
    return _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ), out);
}

__attribute__((target("avx2,fma"), always_inline))
static inline __m256 erf8(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 a = _mm256_andnot_ps(sign, x);
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), a, one));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    __m256 e = exp8(_mm256_xor_ps(_mm256_mul_ps(a, a), sign));
    __m256 y = _mm256_fnmadd_ps(_mm256_mul_ps(p, t), e, one);
    return _mm256_or_ps(y, _mm256_and_ps(sign, x));
}

__attribute__((target("avx2,fma"), always_inline))
static inline __m256 activate8(__m256 x, int kind) {
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    switch (kind) {
    case DF_ACTIVATION_SIGMOID: return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_xor_ps(x, sign))));
    case DF_ACTIVATION_SILU: return _mm256_div_ps(x, _mm256_add_ps(one, exp8(_mm256_xor_ps(x, sign))));
    default: {  // DF_ACTIVATION_GELU
        __m256 half = _mm256_mul_ps(_mm256_set1_ps(0.5f), x);
        return _mm256_mul_ps(half, _mm256_add_ps(one, erf8(_mm256_mul_ps(x, _mm256_set1_ps(0.7071067811865476f)))));
    }
    }
}

__attribute__((target("avx2,fma"), always_inline))
static inline void run(float *p, long count, const int kind) {
    long i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(p + i, activate8(_mm256_loadu_ps(p + i), kind));
    if (i < count) {
        float tmp[8] = {0};
        for (long j = i; j < count; j++) tmp[j - i] = p[j];
        _mm256_storeu_ps(tmp, activate8(_mm256_loadu_ps(tmp), kind));
        for (long j = i; j < count; j++) p[j] = tmp[j - i];
    }
}

__attribute__((target("avx2,fma")))
void df_activate(float *p, long count, int kind) {
    // One loop per kind, so the switch is resolved outside it.
    switch (kind) {
    case DF_ACTIVATION_SIGMOID: run(p, count, DF_ACTIVATION_SIGMOID); break;
    case DF_ACTIVATION_SILU: run(p, count, DF_ACTIVATION_SILU); break;
    case DF_ACTIVATION_GELU: run(p, count, DF_ACTIVATION_GELU); break;
    default: break;
    }
}

// e^x for x ≤ 0, as TensorCore's `vexpNonPositive`: 2^(x·log₂e) split into 2ⁿ·2ᶠ, f ∈ [−½, ½],
// and a degree-5 polynomial for 2ᶠ.
__attribute__((target("avx2,fma"), always_inline))
static inline __m256 exp_nonpositive8(__m256 x) {
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    __m256 v = _mm256_max_ps(_mm256_set1_ps(-87.3f), x);
    __m256 y = _mm256_mul_ps(v, _mm256_set1_ps(1.442695040888963f));
    __m256 shifted = _mm256_add_ps(y, magic);
    __m256 f = _mm256_sub_ps(y, _mm256_sub_ps(shifted, magic));
    __m256 p = _mm256_set1_ps(1.3333558146e-3f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.6181291076e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.5504108665e-2f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.4022650696e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.9314718056e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
    return _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ), _mm256_mul_ps(p, pow2n(shifted)));
}

__attribute__((target("avx2,fma")))
void df_exp_rows(float *p, long rows, long cols, long ld, float *sums) {
    for (long r = 0; r < rows; r++) {
        float *row = p + r * ld;
        long j = 0;
        __m256 mv = _mm256_set1_ps(-INFINITY);
        for (; j + 8 <= cols; j += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(row + j));
        float lanes[8];
        _mm256_storeu_ps(lanes, mv);
        float m = -INFINITY;
        for (int k = 0; k < 8; k++) m = lanes[k] > m ? lanes[k] : m;
        for (long k = j; k < cols; k++) m = row[k] > m ? row[k] : m;
        __m256 max = _mm256_set1_ps(m), sum = _mm256_setzero_ps();
        for (j = 0; j + 8 <= cols; j += 8) {
            __m256 e = exp_nonpositive8(_mm256_sub_ps(_mm256_loadu_ps(row + j), max));
            _mm256_storeu_ps(row + j, e);
            sum = _mm256_add_ps(sum, e);
        }
        if (j < cols) {
            // The ragged end padded with −∞, whose exponential is 0 and adds nothing to the sum.
            float tmp[8];
            for (int k = 0; k < 8; k++) tmp[k] = j + k < cols ? row[j + k] : -INFINITY;
            __m256 e = exp_nonpositive8(_mm256_sub_ps(_mm256_loadu_ps(tmp), max));
            sum = _mm256_add_ps(sum, e);
            _mm256_storeu_ps(tmp, e);
            for (long k = j; k < cols; k++) row[k] = tmp[k - j];
        }
        _mm256_storeu_ps(lanes, sum);
        float total = 0;
        for (int k = 0; k < 8; k++) total += lanes[k];
        sums[r] = total;
    }
}

#else

void df_activate(float *p, long count, int kind) { (void)p; (void)count; (void)kind; }

void df_exp_rows(float *p, long rows, long cols, long ld, float *sums) {
    (void)p; (void)rows; (void)cols; (void)ld; (void)sums;
}

#endif
