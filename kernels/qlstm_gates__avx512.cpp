// LSTM gate activations on AVX-512 (kernels/qlstm_gates_zmm.h): the bits of the xsimd variants,
// four vectors of units at a time (four chains in flight), the tail under a mask.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mq::kernels {
namespace {

#include "kernels/qlstm_gates_zmm.h"

/// Units [j, j + 16·N) of one row; `m` masks the last vector's lanes.
template <int N>
MQ_ZMM_INLINE void cells_at(const float* g, std::size_t H, float* c, float* h, std::size_t j, __mmask16 m) {
  Zv<N> gi, go, gf, gc, cv;
  for (int i = 0; i < N; ++i) {
    const __mmask16 mi = i == N - 1 ? m : __mmask16(0xFFFF);
    const std::size_t u = j + 16 * std::size_t(i);
    gi.v[i] = _mm512_maskz_loadu_ps(mi, g + u);
    go.v[i] = _mm512_maskz_loadu_ps(mi, g + H + u);
    gf.v[i] = _mm512_maskz_loadu_ps(mi, g + 2 * H + u);
    gc.v[i] = _mm512_maskz_loadu_ps(mi, g + 3 * H + u);
    cv.v[i] = _mm512_maskz_loadu_ps(mi, c + u);
  }
  const Zv<N> hv = lstm_cells(gi, go, gf, gc, cv);
  for (int i = 0; i < N; ++i) {
    const __mmask16 mi = i == N - 1 ? m : __mmask16(0xFFFF);
    _mm512_mask_storeu_ps(c + j + 16 * std::size_t(i), mi, cv.v[i]);
    _mm512_mask_storeu_ps(h + j + 16 * std::size_t(i), mi, hv.v[i]);
  }
}

}  // namespace

void lstm_gates__avx512(const float* g, std::size_t H, float* c, float* h) {
  std::size_t j = 0;
  for (; j + 64 <= H; j += 64) cells_at<4>(g, H, c, h, j, 0xFFFF);
  if (j == H) return;
  const std::size_t left = H - j, vecs = (left + 15) / 16,
                    last = left - 16 * (vecs - 1);  // lanes of the last vector
  const __mmask16 m = last == 16 ? __mmask16(0xFFFF) : __mmask16((1u << last) - 1u);
  switch (vecs) {
    case 4: cells_at<4>(g, H, c, h, j, m); break;
    case 3: cells_at<3>(g, H, c, h, j, m); break;
    case 2: cells_at<2>(g, H, c, h, j, m); break;
    default: cells_at<1>(g, H, c, h, j, m); break;
  }
}

}  // namespace mq::kernels
