// The AVX-512 sgemm_panels kernel: tiles of kernels/sgemm_panels_tile.h, A repacked per row
// group so that each k step broadcasts from one cache line; with several row groups the first
// two prefetch the next panel into L2 while later groups compute from cache.
#include <algorithm>

#include "kernels/sgemm_panels_tile.h"

namespace mq::kernels {

void sgemm_panels_f32__avx512(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                              const float* packed, std::size_t p0, std::size_t p1, const float* bias, float* c,
                              std::size_t ldc, float* scratch) {
  using namespace panels_avx512;
  constexpr std::size_t W = kSgemmPanelWidth;
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
    const __m512 b0 = b ? _mm512_maskz_loadu_ps(m0, b) : _mm512_setzero_ps();
    const __m512 b1 = b ? _mm512_maskz_loadu_ps(m1, b + 16) : _mm512_setzero_ps();
    const bool multi = m > std::size_t(group_rows(m)) && p + 1 < p1;
    std::size_t g = 0;
    for (std::size_t r0 = 0; r0 < m; ++g) {
      const int mr = group_rows(m - r0);
      float* out = c + r0 * ldc + p * W;
      // several row groups: the first two bring the next panel into L2, half each (a panel
      // is k · 2 lines), so that memory streams while the later groups compute from cache
      const float* ahead = multi && g < 2 ? panel + k * W + g * k * 16 : nullptr;
      tile_rows(
          mr, scratch + r0 * k, 1, std::size_t(mr), panel, k,
          [&](int r, __m512 acc0, __m512 acc1) {
            _mm512_mask_storeu_ps(out + std::size_t(r) * ldc, m0, _mm512_add_ps(acc0, b0));
            _mm512_mask_storeu_ps(out + std::size_t(r) * ldc + 16, m1, _mm512_add_ps(acc1, b1));
          },
          ahead);
      r0 += std::size_t(mr);
    }
  }
}

}  // namespace mq::kernels
