// Dispatch of the vectorized float functions; the SSE2 version (baseline x86-64) serves the
// scalar tier and CPUs without AVX2.
#include "kernels/fp32/vmath.h"

#include <cstring>
#include <limits>
#include <xsimd/xsimd.hpp>

#include "kernels/cpu_features.h"
#include "kernels/fp32/vmath_kernels.h"

namespace mq::kernels {

namespace {
#include "kernels/fp32/vmath_impl.h"

const VMathKernels& active() {
  const Isa isa = active_isa();
  if (static_cast<int>(isa) >= static_cast<int>(Isa::avx512vnni)) return vmath_kernels_avx512();
  if (isa != Isa::scalar) return vmath_kernels_avx2();
  return vmath_kernels_sse2();
}
}  // namespace

const VMathKernels& vmath_kernels_sse2() { return vmath_kernels_for<xsimd::sse2>(); }

void exp_f32(const float* x, float* y, int64_t n) { active().exp(x, y, n); }
void sigmoid_f32(const float* x, float* y, int64_t n) { active().sigmoid(x, y, n); }
void tanh_f32(const float* x, float* y, int64_t n) { active().tanh(x, y, n); }
void erf_f32(const float* x, float* y, int64_t n) { active().erf(x, y, n); }
void gelu_f32(const float* x, float* y, int64_t n) { active().gelu(x, y, n); }
void arith_f32(Arith op, const float* a, int64_t a_stride, const float* b, int64_t b_stride, float* y, int64_t n) {
  active().arith(int(op), a, a_stride, b, b_stride, y, n);
}

}  // namespace mq::kernels
