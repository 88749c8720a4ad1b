// The AVX-512 sgemm_panels kernel: tiles of up to 12 rows × one 32-column panel (24 zmm
// accumulators), A repacked per row group so that each k step broadcasts from one cache line,
// the panel streamed in address order with a software prefetch ahead of the loads.
#include <immintrin.h>

#include <algorithm>

#include "kernels/sgemm_panels.h"

namespace mq::kernels {

namespace {

constexpr std::size_t W = kSgemmPanelWidth;
constexpr std::size_t kPrefetchFloats = 1024;  // 4 KiB ahead in the panel

// C rows [0, MR) × the panel's columns; `a` is the row group packed as a[i * MR + r].
template <int MR>
void tile(const float* a, const float* panel, std::size_t k, float* c, std::size_t ldc, const float* bias,
          __mmask16 m0, __mmask16 m1) {
  __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    acc0[r] = _mm512_setzero_ps();
    acc1[r] = _mm512_setzero_ps();
  }
  for (std::size_t i = 0; i < k; ++i) {
    const float* row = panel + i * W;
    _mm_prefetch(reinterpret_cast<const char*>(row + kPrefetchFloats), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(row + kPrefetchFloats + 16), _MM_HINT_T0);
    const __m512 w0 = _mm512_loadu_ps(row), w1 = _mm512_loadu_ps(row + 16);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 x = _mm512_set1_ps(a[i * MR + r]);
      acc0[r] = _mm512_fmadd_ps(x, w0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(x, w1, acc1[r]);
    }
  }
  const __m512 b0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
  const __m512 b1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    _mm512_mask_storeu_ps(c + r * ldc, m0, _mm512_add_ps(acc0[r], b0));
    _mm512_mask_storeu_ps(c + r * ldc + 16, m1, _mm512_add_ps(acc1[r], b1));
  }
}

// Rows per group: 12 while enough remain, then 8, 4, 1.
int group_rows(std::size_t left) { return left >= 12 ? 12 : left >= 8 ? 8 : left >= 4 ? 4 : 1; }

__mmask16 lanes(std::ptrdiff_t n) {
  return n <= 0 ? __mmask16(0) : n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1u);
}

}  // namespace

void sgemm_panels_f32__avx512(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                              const float* packed, std::size_t p0, std::size_t p1, const float* bias, float* c,
                              std::size_t ldc, float* scratch) {
  // A by row groups, k-major inside a group: group g at scratch + first_row * k
  for (std::size_t r0 = 0; r0 < m;) {
    const int mr = group_rows(m - r0);
    float* g = scratch + r0 * k;
    for (std::size_t i = 0; i < k; ++i)
      for (int r = 0; r < mr; ++r) g[i * std::size_t(mr) + std::size_t(r)] = a[(r0 + std::size_t(r)) * lda + i];
    r0 += std::size_t(mr);
  }
  for (std::size_t p = p0; p < p1; ++p) {
    const float* panel = packed + p * k * W;
    const std::ptrdiff_t cols = std::ptrdiff_t(std::min(W, n - p * W));
    const __mmask16 m0 = lanes(cols), m1 = lanes(cols - 16);
    const float* b = bias ? bias + p * W : nullptr;
    for (std::size_t r0 = 0; r0 < m;) {
      const int mr = group_rows(m - r0);
      const float* g = scratch + r0 * k;
      float* out = c + r0 * ldc + p * W;
      switch (mr) {
        case 12: tile<12>(g, panel, k, out, ldc, b, m0, m1); break;
        case 8: tile<8>(g, panel, k, out, ldc, b, m0, m1); break;
        case 4: tile<4>(g, panel, k, out, ldc, b, m0, m1); break;
        default: tile<1>(g, panel, k, out, ldc, b, m0, m1); break;
      }
      r0 += std::size_t(mr);
    }
  }
}

}  // namespace mq::kernels
