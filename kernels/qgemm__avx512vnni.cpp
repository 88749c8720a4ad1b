// qgemm on AVX512-VNNI: 8×48 register tile (24 zmm accumulators; 6×64 for a last 64-column
// panel), vpdpbusd on 4-k quads.
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

#include "kernels/qgemm_zmm_epilogue.h"

#define MQ_UNROLL _Pragma("GCC unroll 8")

// What every tile of a column panel shares: the column compensation and, for u8 / s8 rows,
// the row epilogue's constants (made once per panel, not per tile).
template <int NV>
struct Panel {
  __m512i comp[NV];
  bool q8;
  EpiRow row;
  Panel(const QGemmParams& p, const PackedView& b, std::size_t nb0, std::size_t nend) : q8(rows_q8(p)) {
    MQ_UNROLL for (int v = 0; v < NV; ++v) {
      const std::size_t n = nb0 * 16 + v * 16;
      comp[v] = column_comp(p, b, n, column_mask(nend - n));
    }
    if (q8) row = epi_row<NV>(p, nb0 * 16, nend);
  }
};

// MR rows × NV 16-column vectors, KU independent accumulator sets along k.
template <int MR, int NV, int KU>
__attribute__((noinline)) void tile(const QGemmParams& p, const PackedView& b, std::size_t m, std::size_t nb0,
                                    std::size_t nend, const Panel<NV>& pc) {
  const std::size_t k4 = b.h->k4;
  const std::size_t kfull = p.k / 4;
  const std::size_t lda = p.lda;
  const std::uint8_t* a = p.a + m * lda;
  const std::int8_t* bp = b.data + nb0 * b.block_bytes;
  const std::size_t bs = b.block_bytes;
  // The accumulators of the first k set start at the column compensation, so the epilogue
  // has one add fewer per output vector.
  __m512i acc[KU][MR][NV];
  MQ_UNROLL for (int v = 0; v < NV; ++v) MQ_UNROLL for (int r = 0; r < MR; ++r) acc[0][r][v] = pc.comp[v];
  MQ_UNROLL for (int u = 1; u < KU; ++u) MQ_UNROLL for (int r = 0; r < MR; ++r)
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
      const std::int32_t quad = q < kfull ? load_u32(a + r * lda + 4 * q) : load_quad(a + r * lda, q, p.k);
      const __m512i av = _mm512_set1_epi32(quad);
      MQ_UNROLL for (int v = 0; v < NV; ++v) acc[0][r][v] = _mm512_dpbusd_epi32(acc[0][r][v], av, bv[v]);
    }
  }
  if (pc.q8) {  // u8 / s8: each row narrowed and stored at once
    const EpiRow& e = pc.row;
    std::uint8_t* c = static_cast<std::uint8_t*>(p.c) + m * p.ldc + nb0 * 16;
    const std::size_t ldc = p.ldc;
    MQ_UNROLL for (int u = 1; u < KU; ++u) MQ_UNROLL for (int r = 0; r < MR; ++r)
        MQ_UNROLL for (int v = 0; v < NV; ++v) acc[0][r][v] = _mm512_add_epi32(acc[0][r][v], acc[u][r][v]);
    if (e.bounded) MQ_UNROLL for (int r = 0; r < MR; ++r) epi_store_row<NV, true>(e, c + r * ldc, acc[0][r]);
    else MQ_UNROLL for (int r = 0; r < MR; ++r) epi_store_row<NV, false>(e, c + r * ldc, acc[0][r]);
    return;
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const std::size_t n = nb0 * 16 + v * 16;
    const EpiVec e = epi_vec(p, n, nend);
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
void rows(const QGemmParams& p, const PackedView& b, std::size_t m0, std::size_t m1, std::size_t nb0,
          std::size_t nend) {
  const Panel<NV> pc(p, b, nb0, nend);
  std::size_t m = m0;
  for (; m + 8 <= m1; m += 8) tile<8, NV, 1>(p, b, m, nb0, nend, pc);
  switch (m1 - m) {
    case 7: tile<7, NV, 1>(p, b, m, nb0, nend, pc); break;
    case 6: tile<6, NV, 1>(p, b, m, nb0, nend, pc); break;
    case 5: tile<5, NV, 1>(p, b, m, nb0, nend, pc); break;
    case 4: tile<4, NV, 1>(p, b, m, nb0, nend, pc); break;
    case 3: tile<3, NV, 2>(p, b, m, nb0, nend, pc); break;
    case 2: tile<2, NV, 2>(p, b, m, nb0, nend, pc); break;
    case 1: tile<1, NV, 4>(p, b, m, nb0, nend, pc); break;
    default: break;
  }
}

// A 64-column panel: 6×64 tiles (24 accumulators), so that N = 64 or a 16-column remainder
// never runs on a single vector column with too few independent vpdpbusd chains.
template <>
void rows<4>(const QGemmParams& p, const PackedView& b, std::size_t m0, std::size_t m1, std::size_t nb0,
             std::size_t nend) {
  const Panel<4> pc(p, b, nb0, nend);
  std::size_t m = m0;
  for (; m + 6 <= m1; m += 6) tile<6, 4, 1>(p, b, m, nb0, nend, pc);
  switch (m1 - m) {
    case 5: tile<5, 4, 1>(p, b, m, nb0, nend, pc); break;
    case 4: tile<4, 4, 1>(p, b, m, nb0, nend, pc); break;
    case 3: tile<3, 4, 1>(p, b, m, nb0, nend, pc); break;
    case 2: tile<2, 4, 2>(p, b, m, nb0, nend, pc); break;
    case 1: tile<1, 4, 3>(p, b, m, nb0, nend, pc); break;
    default: break;
  }
}

}  // namespace

void qgemm_u8s8_8x48__avx512vnni(const QGemmParams& p, std::size_t m0, std::size_t m1, std::size_t n0,
                                 std::size_t n1) {
  const PackedView b = view(p.packed_b);
  constexpr std::size_t mc = 96;  // rows of A kept hot in L2 while B panels stream
  for (std::size_t mb = m0; mb < m1; mb += mc) {
    const std::size_t me = std::min(m1, mb + mc);
    for (std::size_t n = n0; n < n1;) {
      // 48-column panels; a last 64 columns (or fewer than 48 after them) form one panel.
      const std::size_t left = n1 - n;
      const std::size_t width = left > 48 && left <= 64 ? left : std::min<std::size_t>(48, left);
      const std::size_t nend = n + width;
      switch ((width + 15) / 16) {
        case 4: rows<4>(p, b, mb, me, n / 16, nend); break;
        case 3: rows<3>(p, b, mb, me, n / 16, nend); break;
        case 2: rows<2>(p, b, mb, me, n / 16, nend); break;
        default: rows<1>(p, b, mb, me, n / 16, nend); break;
      }
      n = nend;
    }
  }
}

}  // namespace mq::kernels
