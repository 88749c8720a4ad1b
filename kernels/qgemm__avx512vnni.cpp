// qgemm on AVX512-VNNI: 8×48 register tile (24 zmm accumulators), vpdpbusd on 4-k quads.
// Rows 1–3 use k-split accumulators so that ≥ 12 independent vpdpbusd chains stay in flight.
#include <immintrin.h>

#include <algorithm>

#include "kernels/qgemm_internal.h"

namespace mq::kernels {
namespace {
using namespace qgemm_detail;

inline std::int32_t load_u32(const std::uint8_t* p) {
  std::int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline __mmask16 column_mask(std::size_t cols) {
  return cols >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << cols) - 1);
}

// Per-vector epilogue constants (one 16-column vector).
struct EpiVec {
  __mmask16 mask;
  __m512i comp;   // bias32 − a_zp·colsum
  __m512 scale;   // requant multiplier or a_scale·w_scale
  __m512 bias;    // f32 bias
  __m512 lo, hi;  // clamp bounds minus out_zp
  __m512i zp;
};

#define MQ_INLINE inline __attribute__((always_inline))
#define MQ_UNROLL _Pragma("GCC unroll 8")

MQ_INLINE EpiVec epi_vec(const QGemmParams& p, const PackedView& b, std::size_t n,
                         std::size_t nend) {
  EpiVec e;
  e.mask = column_mask(nend - n);
  e.comp = _mm512_mullo_epi32(_mm512_set1_epi32(-p.a_zp), _mm512_load_si512(b.colsum + n));
  if (p.bias32) e.comp = _mm512_add_epi32(e.comp, _mm512_maskz_loadu_epi32(e.mask, p.bias32 + n));
  e.bias = _mm512_setzero_ps();
  e.zp = _mm512_set1_epi32(p.out_zp);
  e.lo = _mm512_set1_ps(static_cast<float>(p.qmin - p.out_zp));
  e.hi = _mm512_set1_ps(static_cast<float>(p.qmax - p.out_zp));
  if (p.output == QGemmOutput::f32) {
    const __m512 ws = p.per_channel ? _mm512_maskz_loadu_ps(e.mask, p.w_scale + n)
                                    : _mm512_set1_ps(p.w_scale[0]);
    e.scale = _mm512_mul_ps(_mm512_set1_ps(p.a_scale), ws);
    if (p.bias_f32) e.bias = _mm512_maskz_loadu_ps(e.mask, p.bias_f32 + n);
  } else if (p.output != QGemmOutput::s32) {
    e.scale = p.per_channel ? _mm512_maskz_loadu_ps(e.mask, p.multiplier + n)
                            : _mm512_set1_ps(p.multiplier[0]);
  } else {
    e.scale = _mm512_setzero_ps();
  }
  return e;
}

// Writes one row of one 16-column vector.
MQ_INLINE void epi_store(const QGemmParams& p, const EpiVec& e, std::size_t m, std::size_t n,
                         __m512i acc) {
  acc = _mm512_add_epi32(acc, e.comp);
  switch (p.output) {
    case QGemmOutput::u8:
    case QGemmOutput::s8: {
      __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), e.scale);
      x = _mm512_min_ps(_mm512_max_ps(x, e.lo), e.hi);
      const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(x), e.zp);
      _mm_mask_storeu_epi8(static_cast<std::uint8_t*>(p.c) + m * p.ldc + n, e.mask,
                           _mm512_cvtepi32_epi8(q));
      break;
    }
    case QGemmOutput::f32: {
      __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), e.scale);
      if (p.bias_f32) x = _mm512_add_ps(x, e.bias);
      float* cr = static_cast<float*>(p.c) + m * p.ldc + n;
      if (p.accumulate) x = _mm512_add_ps(_mm512_maskz_loadu_ps(e.mask, cr), x);
      _mm512_mask_storeu_ps(cr, e.mask, x);
      break;
    }
    case QGemmOutput::s32:
      _mm512_mask_storeu_epi32(static_cast<std::int32_t*>(p.c) + m * p.ldc + n, e.mask, acc);
      break;
  }
}

// MR rows × NV 16-column vectors, KU independent accumulator sets along k.
template <int MR, int NV, int KU>
__attribute__((noinline)) void tile(const QGemmParams& p, const PackedView& b, std::size_t m, std::size_t nb0,
          std::size_t nend) {
  const std::size_t k4 = b.h->k4;
  const std::size_t kfull = p.k / 4;
  const std::size_t lda = p.lda;
  const std::uint8_t* a = p.a + m * lda;
  const std::int8_t* bp = b.data + nb0 * b.block_bytes;
  const std::size_t bs = b.block_bytes;
  __m512i acc[KU][MR][NV];
  MQ_UNROLL for (int u = 0; u < KU; ++u)
    MQ_UNROLL for (int r = 0; r < MR; ++r)
      MQ_UNROLL for (int v = 0; v < NV; ++v) acc[u][r][v] = _mm512_setzero_si512();
  std::size_t q = 0;
  for (; q + KU <= kfull; q += KU) {
    MQ_UNROLL for (int u = 0; u < KU; ++u) {
      __m512i bv[NV];
      MQ_UNROLL for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_si512(bp + v * bs + (q + u) * 64);
      MQ_UNROLL for (int r = 0; r < MR; ++r) {
        const __m512i av = _mm512_set1_epi32(load_u32(a + r * lda + 4 * (q + u)));
        MQ_UNROLL for (int v = 0; v < NV; ++v) acc[u][r][v] = _mm512_dpbusd_epi32(acc[u][r][v], av, bv[v]);
      }
    }
  }
  for (; q < k4; ++q) {  // leftover quads, including a partial last quad
    __m512i bv[NV];
    MQ_UNROLL for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_si512(bp + v * bs + q * 64);
    MQ_UNROLL for (int r = 0; r < MR; ++r) {
      const std::int32_t quad =
          q < kfull ? load_u32(a + r * lda + 4 * q) : load_quad(a + r * lda, q, p.k);
      const __m512i av = _mm512_set1_epi32(quad);
      MQ_UNROLL for (int v = 0; v < NV; ++v) acc[0][r][v] = _mm512_dpbusd_epi32(acc[0][r][v], av, bv[v]);
    }
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const std::size_t n = nb0 * 16 + v * 16;
    const EpiVec e = epi_vec(p, b, n, nend);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      __m512i x = acc[0][r][v];
#pragma GCC unroll 4
      for (int u = 1; u < KU; ++u) x = _mm512_add_epi32(x, acc[u][r][v]);
      epi_store(p, e, m + r, n, x);
    }
  }
}

template <int NV>
void rows(const QGemmParams& p, const PackedView& b, std::size_t m0, std::size_t m1,
          std::size_t nb0, std::size_t nend) {
  std::size_t m = m0;
  for (; m + 8 <= m1; m += 8) tile<8, NV, 1>(p, b, m, nb0, nend);
  switch (m1 - m) {
    case 7: tile<7, NV, 1>(p, b, m, nb0, nend); break;
    case 6: tile<6, NV, 1>(p, b, m, nb0, nend); break;
    case 5: tile<5, NV, 1>(p, b, m, nb0, nend); break;
    case 4: tile<4, NV, 1>(p, b, m, nb0, nend); break;
    case 3: tile<3, NV, 2>(p, b, m, nb0, nend); break;
    case 2: tile<2, NV, 2>(p, b, m, nb0, nend); break;
    case 1: tile<1, NV, 4>(p, b, m, nb0, nend); break;
    default: break;
  }
}

}  // namespace

void qgemm_u8s8_8x48__avx512vnni(const QGemmParams& p, std::size_t m0, std::size_t m1,
                                 std::size_t n0, std::size_t n1) {
  const PackedView b = view(p.packed_b);
  constexpr std::size_t mc = 96;  // rows of A kept hot in L2 while B panels stream
  for (std::size_t mb = m0; mb < m1; mb += mc) {
    const std::size_t me = std::min(m1, mb + mc);
    for (std::size_t n = n0; n < n1; n += 48) {
      const std::size_t nend = std::min(n1, n + 48);
      switch ((nend - n + 15) / 16) {
        case 3: rows<3>(p, b, mb, me, n / 16, nend); break;
        case 2: rows<2>(p, b, mb, me, n / 16, nend); break;
        default: rows<1>(p, b, mb, me, n / 16, nend); break;
      }
    }
  }
}

}  // namespace mq::kernels
