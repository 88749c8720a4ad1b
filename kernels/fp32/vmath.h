#pragma once
/// Vectorized float transcendental functions (xsimd): exp, sigmoid, tanh, erf, Gelu over arrays. Every
/// ISA tier runs the same sequence of IEEE additions, multiplications and divisions (no FMA
/// contraction), so results are bit-identical across tiers (the scalar tier runs the SSE2
/// version). Accuracy: a few ulp (Cephes' single-precision polynomials); NaN propagates.
#include <cstdint>

namespace mq::kernels {

/// y = exp(x); inf above 88.72, 0 below -87.34 (no subnormal results). y may alias x.
void exp_f32(const float* x, float* y, int64_t n);
/// y = 1 / (1 + exp(-x)). y may alias x.
void sigmoid_f32(const float* x, float* y, int64_t n);
/// y = tanh(x). y may alias x.
void tanh_f32(const float* x, float* y, int64_t n);
/// y = erf(x) (a rational approximation, ±1 beyond |x| = 4). y may alias x.
void erf_f32(const float* x, float* y, int64_t n);
/// y = x/2 · (1 + erf(x/√2)), Gelu without the tanh approximation. y may alias x.
void gelu_f32(const float* x, float* y, int64_t n);

}  // namespace mq::kernels
