// The variant list of the vectorized float functions and their dispatch; the SSE2 version
// (baseline x86-64) serves the scalar tier and CPUs without AVX2.
#include "kernels/fp32/vmath.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "kernels/fp32/vmath_kernels.h"
#include "kernels/variant_table.h"

namespace mq::kernels {

namespace {
#include "kernels/fp32/vmath_impl.h"

const VMathKernels& active() {
  static const VMathKernels& k = *vmath_select(active_isa()).kernels;
  return k;
}
}  // namespace

const VMathKernels& vmath_kernels_sse2() { return vmath_kernels_for<xsimd::sse2>(); }

std::span<const VMathVariant> vmath_variants() {
  // The one list of vmath variants: drives selection and tests.
  static const VMathVariant variants[] = {
      {"vmath__scalar", Isa::scalar, &vmath_kernels_sse2()},
      {"vmath__avx2", Isa::avx2, &vmath_kernels_avx2()},
      {"vmath__avx512", Isa::avx512, &vmath_kernels_avx512()},
  };
  return variants;
}

const VMathVariant& vmath_select(Isa isa) { return select_variant(vmath_variants(), isa); }

void exp_f32(const float* x, float* y, int64_t n) { active().exp(x, y, n); }
void sigmoid_f32(const float* x, float* y, int64_t n) { active().sigmoid(x, y, n); }
void silu_f32(const float* x, float* y, int64_t n) { active().silu(x, y, n); }
void tanh_f32(const float* x, float* y, int64_t n) { active().tanh(x, y, n); }
void erf_f32(const float* x, float* y, int64_t n) { active().erf(x, y, n); }
void gelu_f32(const float* x, float* y, int64_t n) { active().gelu(x, y, n); }
void arith_f32(Arith op, const float* a, int64_t a_stride, const float* b, int64_t b_stride, float* y, int64_t n) {
  active().arith(int(op), a, a_stride, b, b_stride, y, n);
}

}  // namespace mq::kernels
