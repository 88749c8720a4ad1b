// The AVX-512 inner product of sgemm_panels (kernels/sgemm_panels.h): up to 12 rows × one
// 32-column panel (24 zmm accumulators), the panel streamed in address order with a software
// prefetch ahead of the loads. The caller's epilogue gets each row's two accumulators (columns
// 0-15 and 16-31 of the panel). A single row (a matrix-vector product: an LSTM step at batch
// 1) streams without software prefetches: their load-port uops cost more than they save there
// (bidi_lstm's fused LSTM steps ~25 % faster without). Include only from translation units
// built for AVX-512.
#pragma once

#include <immintrin.h>

#include <cstddef>

#include "kernels/sgemm_panels.h"

namespace mq::kernels::panels_avx512 {

inline constexpr std::size_t kPrefetchFloats = 1024;  // 4 KiB ahead in the panel

/// One k step of a single row: acc += x · panel row i.
inline __attribute__((always_inline)) void panel_step(const float* row, __m512 x, __m512& acc0, __m512& acc1) {
  acc0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(row), acc0);
  acc1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(row + 16), acc1);
}

/// For r in [0, MR): acc = Σ_i A(r, i) · panel[i][0..32), then epilogue(r, acc[0..16), acc[16..32));
/// A(r, i) = a[r * row_stride + i * k_stride] (k_stride must be 1 when MR is 1).
/// `ahead` (MR > 1 only; may be null): one cache line per k step, ahead + i · 16 floats at
/// step i, is prefetched into L2.
template <int MR, class Epilogue>
inline __attribute__((always_inline)) void tile(const float* a, std::size_t row_stride, std::size_t k_stride,
                                                const float* panel, std::size_t k, Epilogue&& epilogue,
                                                const float* ahead = nullptr) {
  constexpr std::size_t W = kSgemmPanelWidth;
  if constexpr (MR == 1) {
    // one row: 16 of its values per load, broadcast from the register (the load ports stay
    // with the panel), even and odd k on separate accumulators
    __m512 e0 = _mm512_setzero_ps(), e1 = _mm512_setzero_ps(), o0 = _mm512_setzero_ps(), o1 = _mm512_setzero_ps();
    std::size_t i0 = 0;
    for (; i0 + 16 <= k; i0 += 16) {
      const __m512 x = _mm512_loadu_ps(a + i0);
      const float* rows = panel + i0 * W;
#pragma GCC unroll 16
      for (int j = 0; j < 16; j += 2) {
        panel_step(rows + std::size_t(j) * W, _mm512_permutexvar_ps(_mm512_set1_epi32(j), x), e0, e1);
        panel_step(rows + std::size_t(j + 1) * W, _mm512_permutexvar_ps(_mm512_set1_epi32(j + 1), x), o0, o1);
      }
    }
    for (; i0 < k; ++i0) panel_step(panel + i0 * W, _mm512_set1_ps(a[i0]), e0, e1);
    epilogue(0, _mm512_add_ps(e0, o0), _mm512_add_ps(e1, o1));
  } else {
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
      if (ahead) _mm_prefetch(reinterpret_cast<const char*>(ahead + i * 16), _MM_HINT_T1);
      const __m512 w0 = _mm512_loadu_ps(row), w1 = _mm512_loadu_ps(row + 16);
      const float* ai = a + i * k_stride;
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        const __m512 x = _mm512_set1_ps(ai[std::size_t(r) * row_stride]);
        acc0[r] = _mm512_fmadd_ps(x, w0, acc0[r]);
        acc1[r] = _mm512_fmadd_ps(x, w1, acc1[r]);
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) epilogue(r, acc0[r], acc1[r]);
  }
}

/// Rows per group: 12 while enough remain, then 8, 4, 1.
inline int group_rows(std::size_t left) { return left >= 12 ? 12 : left >= 8 ? 8 : left >= 4 ? 4 : 1; }

/// Calls tile<mr> for the group size mr = group_rows(...) known at run time.
template <class Epilogue>
inline __attribute__((always_inline)) void tile_rows(int mr, const float* a, std::size_t row_stride,
                                                     std::size_t k_stride, const float* panel, std::size_t k,
                                                     Epilogue&& epilogue, const float* ahead = nullptr) {
  switch (mr) {
    case 12: return tile<12>(a, row_stride, k_stride, panel, k, epilogue, ahead);
    case 8: return tile<8>(a, row_stride, k_stride, panel, k, epilogue, ahead);
    case 4: return tile<4>(a, row_stride, k_stride, panel, k, epilogue, ahead);
    default: return tile<1>(a, row_stride, k_stride, panel, k, epilogue);
  }
}

/// Lanes [0, n) of 16.
inline __mmask16 lanes(std::ptrdiff_t n) {
  return n <= 0 ? __mmask16(0) : n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1u);
}

}  // namespace mq::kernels::panels_avx512
