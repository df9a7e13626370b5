#ifndef DELTAFLOW_TENSOR_KERNELS_H
#define DELTAFLOW_TENSOR_KERNELS_H

/// Vector kernels the tensor core calls where neither OpenBLAS nor portable Swift is fast enough:
/// compiled for AVX2 + FMA per function and chosen at run time, so the build stays portable.

/// 1 if this CPU runs the kernels below (x86-64 with AVX2 and FMA), else 0: callers take their
/// portable path.
int df_kernels_available(void);

/// One output row of a direct convolution, NHWC, no groups.
/// - `in`: the zero-padded input at the row's first tap row and column 0; rows `row_stride` floats apart,
///   pixels `cin` floats apart.
/// - `weights`: `[kh][kw][cin][cout_padded]`, `cout_padded` a multiple of 8 (zeros past `cout`).
/// - `bias`: `cout_padded` floats (zeros for none).
/// - `out`: `wo` pixels of `cout` floats each, overwritten with the sums plus the bias.
void df_conv_direct_row(const float *in, long row_stride, int cin, int stride_x, int kh, int kw,
                        const float *weights, const float *bias, int cout_padded, float *out, int wo, int cout);

/// What ``df_activate`` computes.
enum { DF_ACTIVATION_SIGMOID = 1, DF_ACTIVATION_SILU = 2, DF_ACTIVATION_GELU = 3 };

/// `count` floats at `p` through sigmoid, SiLU or the erf GELU, in place, with the approximations
/// of TensorCore's `vexp` and `verf` (relative error of exp below 2e-7, erf's absolute below 1.5e-7).
void df_activate(float *p, long count, int kind);

/// Row-wise `exp(x − max)` of `rows × cols` floats in place (rows `ld` apart), each row's sum in
/// `sums[row]`: TensorCore's `exponentiateRows` (softmax without its division), with the
/// approximation of `vexpNonPositive`.
void df_exp_rows(float *p, long rows, long cols, long ld, float *sums);

#endif
