#pragma once
/// Vectorized float transcendental functions (xsimd): exp, sigmoid, tanh, erf, Gelu over arrays. Every
/// ISA tier runs the same sequence of IEEE additions, multiplications and divisions (no FMA
/// contraction), so results are bit-identical across tiers (the scalar tier runs the SSE2
/// version); silu_f32, a convolution's epilogue, is the exception. Accuracy: a few ulp (Cephes' single-precision
/// polynomials); NaN propagates.
#include <cstdint>

namespace mq::kernels {

/// y = exp(x); inf above 88.72, 0 below -87.34 (no subnormal results). y may alias x.
void exp_f32(const float* x, float* y, int64_t n);
/// y = 1 / (1 + exp(-x)). y may alias x.
void sigmoid_f32(const float* x, float* y, int64_t n);
/// y = x / (1 + exp(-x)) (SiLU) in one pass: within a few ulp of x·sigmoid(x) above x = -87
/// (x / (1 + e^88), below 1e-35 in magnitude, under it; -inf at -inf); fused multiply-adds where
/// the tier has them, so unlike the functions above its bits differ between tiers. y may alias x.
void silu_f32(const float* x, float* y, int64_t n);
/// y = tanh(x). y may alias x.
void tanh_f32(const float* x, float* y, int64_t n);
/// y = erf(x) (a rational approximation, ±1 beyond |x| = 4). y may alias x.
void erf_f32(const float* x, float* y, int64_t n);
/// y = x/2 · (1 + erf(x/√2)), Gelu without the tanh approximation. y may alias x.
void gelu_f32(const float* x, float* y, int64_t n);

/// Arithmetic of vmath's arith_f32 (the order of kernels::BinaryOp without pow).
enum class Arith { add, sub, mul, div, max, min };
/// y = a op b over n elements; a or b is one value repeated when its stride is 0 (else 1).
/// max / min return a when a is NaN, else the larger / smaller (kernels::binary's rule).
/// y may alias a or b.
void arith_f32(Arith op, const float* a, int64_t a_stride, const float* b, int64_t b_stride, float* y, int64_t n);

}  // namespace mq::kernels
