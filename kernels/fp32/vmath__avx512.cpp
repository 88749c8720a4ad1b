// The vectorized float functions for avx512bw (kernels/fp32/vmath_impl.h); SiLU with
// AVX-512's own instructions (vscalefps for 2^n, rounding in one instruction).
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "kernels/fp32/vmath_kernels.h"

namespace mq::kernels {
namespace {
#include "kernels/fp32/vmath_impl.h"

/// VMath::silu's polynomial on 16 floats: x / (1 + 2^n · P(r)).
__m512 silu16(__m512 x) {
  const __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), x), _mm512_set1_ps(-87.33654f)),
                                 _mm512_set1_ps(88.f));
  const __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(1.44269504088896341f)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), t);
  r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), r);
  const __m512 z = _mm512_mul_ps(r, r);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(1.9875691500e-4f), r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, z, _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  const __m512 e = _mm512_scalef_ps(p, fx);
  return _mm512_div_ps(x, _mm512_add_ps(e, _mm512_set1_ps(1.f)));
}

void silu(const float* x, float* y, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, silu16(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, silu16(_mm512_maskz_loadu_ps(m, x + i)));
  }
}
}  // namespace

const VMathKernels& vmath_kernels_avx512() {
  static const VMathKernels k = [] {
    VMathKernels t = vmath_kernels_for<xsimd::avx512bw>();
    t.silu = silu;
    return t;
  }();
  return k;
}

}  // namespace mq::kernels
