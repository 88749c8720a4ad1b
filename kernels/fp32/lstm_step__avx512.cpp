// The AVX-512 fused LSTM step: the tiles of kernels/sgemm_panels_tile.h over the hidden state,
// then per row the 32 gate pre-activations of 8 units in two registers, [i | o] and [f | c],
// finished there: σ by Cephes' expf polynomial, vscalefps and a refined reciprocal, tanh as
// 2σ(2x) − 1 (within a few 1e-8 of the libm result; NaN propagates).
#include <immintrin.h>

#include <algorithm>

#include "kernels/fp32/lstm_step.h"
#include "kernels/sgemm_panels_tile.h"

namespace mq::kernels {

namespace {

/// exp(x) for x in [-87, 87] (Cephes' expf: x = n·ln 2 + r, |r| ≤ ln 2 / 2, e^r by a degree-7
/// polynomial; n rounded by adding and taking away 1.5 · 2^23).
inline __m512 exp_clamped(__m512 x) {
  const __m512 magic = _mm512_set1_ps(12582912.f);
  const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), magic), magic);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  return _mm512_scalef_ps(p, n);
}

/// σ(x) = 1 / (1 + e^{-x}) with e^{-x} clamped to [e^-87, e^87]: σ is 0 or 1 in float beyond
/// ±87 but for subnormals, which the clamp keeps out of every step (they are slow).
inline __m512 sigmoid(__m512 x) {
  // min/max return their second operand when one is NaN: NaN goes through
  const __m512 t = _mm512_max_ps(_mm512_set1_ps(-87.f),
                                 _mm512_min_ps(_mm512_set1_ps(87.f), _mm512_sub_ps(_mm512_setzero_ps(), x)));
  const __m512 d = _mm512_add_ps(_mm512_set1_ps(1.f), exp_clamped(t));
  const __m512 y = _mm512_rcp14_ps(d);  // one Newton step: 2^-14 → about 1 ulp
  return _mm512_fmadd_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(1.f)), y);
}

constexpr std::size_t W = kSgemmPanelWidth;

/// g[r] = x·Wᵀ (xw rows) + biases + h·Rᵀ over one panel, for MR rows. Not inlined: the gate
/// arithmetic's constants would otherwise push accumulators out of registers.
template <int MR>
__attribute__((noinline)) void gate_inputs(const LstmStepArgs& a, std::size_t r0, const float* panel,
                                           std::size_t p, float (*g)[W]) {
  const __m512 b0 = a.bias ? _mm512_loadu_ps(a.bias + p * W) : _mm512_setzero_ps();
  const __m512 b1 = a.bias ? _mm512_loadu_ps(a.bias + p * W + 16) : _mm512_setzero_ps();
  // no previous hidden state: no product (k = 0)
  panels_avx512::tile<MR>(
      a.h ? a.h + r0 * a.ldh : nullptr, a.ldh, 1, panel, a.h ? a.hidden : 0, [&](int r, __m512 acc0, __m512 acc1) {
        const float* xw = a.xw + (r0 + std::size_t(r)) * a.ldxw + p * W;
        _mm512_store_ps(g[r], _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(xw), b0), acc0));
        _mm512_store_ps(g[r] + 16, _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(xw + 16), b1), acc1));
      });
}

}  // namespace

void lstm_step_f32__avx512(const LstmStepArgs& a, std::size_t p0, std::size_t p1) {
  constexpr std::size_t U = kLstmPanelUnits, kBlock = 8;  // panels whose gates are finished together
  // [1 × 8 | 2 × 8]: σ of f, σ(2c) for tanh(c) = 2σ(2c) − 1
  const __m512 scale = _mm512_mask_blend_ps(__mmask16(0xff00), _mm512_set1_ps(1.f), _mm512_set1_ps(2.f));
  const __m256 one8 = _mm256_set1_ps(1.f), two8 = _mm256_set1_ps(2.f);
  const __m512 one = _mm512_set1_ps(1.f), two = _mm512_set1_ps(2.f);
  // a block's gate pre-activations per panel and row (the accumulators leave registers), then
  // per row the output gates and 2·c of the block's units, contiguous
  alignas(64) float g[kBlock][12][W];
  alignas(64) float o[kBlock * U], c2[kBlock * U];
  const std::size_t blocks = (p1 - p0 + kBlock - 1) / kBlock;
  for (std::size_t bi = 0; bi < blocks; ++bi) {  // descending: the blocks and their panels backwards
    const std::size_t pb = p0 + (a.descending ? blocks - 1 - bi : bi) * kBlock;
    const std::size_t pe = std::min(pb + kBlock, p1), u0 = pb * U;
    const std::size_t units = std::min(pe * U, a.hidden) - u0;
    for (std::size_t r0 = 0; r0 < a.batch;) {
      const int mr = panels_avx512::group_rows(a.batch - r0);
      for (std::size_t j = pb; j < pe; ++j) {
        const std::size_t p = a.descending ? pb + pe - 1 - j : j;
        const float* panel = a.r_panels + p * a.hidden * W;
        switch (mr) {
          case 12: gate_inputs<12>(a, r0, panel, p, g[p - pb]); break;
          case 8: gate_inputs<8>(a, r0, panel, p, g[p - pb]); break;
          case 4: gate_inputs<4>(a, r0, panel, p, g[p - pb]); break;
          default: gate_inputs<1>(a, r0, panel, p, g[p - pb]); break;
        }
      }
      for (int r = 0; r < mr; ++r) {
        const std::size_t b = r0 + std::size_t(r);
        float* c = a.c + b * a.ldc + u0;
        for (std::size_t q = 0; q < pe - pb; ++q) {  // c = σ(f)·c + σ(i)·tanh(c̃)
          const __m512 io = sigmoid(_mm512_load_ps(g[q][r]));
          const __m512 fc = sigmoid(_mm512_mul_ps(_mm512_load_ps(g[q][r] + 16), scale));
          const __mmask8 m = __mmask8((1u << std::min<std::size_t>(U, units - q * U)) - 1u);
          const __m256 cc = _mm256_fmsub_ps(two8, _mm512_extractf32x8_ps(fc, 1), one8);
          const __m256 cn = _mm256_fmadd_ps(_mm512_castps512_ps256(fc), _mm256_maskz_loadu_ps(m, c + q * U),
                                            _mm256_mul_ps(_mm512_castps512_ps256(io), cc));
          _mm256_mask_storeu_ps(c + q * U, m, cn);
          _mm256_store_ps(o + q * U, _mm512_extractf32x8_ps(io, 1));
          _mm256_store_ps(c2 + q * U, _mm256_add_ps(cn, cn));
        }
        float* h = a.h_out + b * a.ldo + u0;
        for (std::size_t j = 0; j < units; j += 16) {  // h = σ(o)·tanh(c), 16 units at a time
          const __mmask16 m = panels_avx512::lanes(std::ptrdiff_t(units - j));
          const __m512 t = _mm512_fmsub_ps(two, sigmoid(_mm512_maskz_load_ps(m, c2 + j)), one);
          _mm512_mask_storeu_ps(h + j, m, _mm512_mul_ps(_mm512_maskz_load_ps(m, o + j), t));
        }
      }
      r0 += std::size_t(mr);
    }
  }
}

}  // namespace mq::kernels
