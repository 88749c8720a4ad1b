// qgemm on AMX-INT8: 32×32 blocks held in four 16×16 int32 tiles (tdpbusd, 64 k per step),
// then the AVX-512 epilogue on the stored tiles. Packed B blocks are already AMX B tiles
// ([quad][16 columns][4 k], padded to whole 16-quad tiles). Rows that do not fill a 16-row
// tile go to the AVX512-VNNI kernel, which every AMX CPU has.
#include <immintrin.h>

#include <algorithm>

#include "kernels/qgemm_internal.h"

namespace mq::kernels {
namespace {
using namespace qgemm_detail;

#include "kernels/qgemm_zmm_epilogue.h"
#include "kernels/qgemm_amx_impl.h"

// Accumulates rows [m, m + 16·RA) × packed column blocks [nb, nb + RB) over all of K into
// the C tiles (a tail row tile of fewer rows when the tiles are configured so).
template <int RA, int RB, class Drain>
void compute(const QGemmParams& p, const PackedView& b, std::size_t m, std::size_t rows, std::size_t nb,
             Drain&& drain) {
  zero_tiles<RA, RB>();
  const long lda = static_cast<long>(p.lda);
  const std::uint8_t* a0 = p.a + m * p.lda;
  const std::uint8_t* a1 = a0 + 16 * p.lda;
  const std::int8_t* b0 = b.data + nb * b.block_bytes;
  const std::int8_t* b1 = b0 + b.block_bytes;
  const std::size_t steps = p.k / 64;  // whole 64-byte steps read straight from A
  for (std::size_t s = 0; s < steps; ++s) {
    tile_step<RA, RB>(a0 + 64 * s, lda, a1 + 64 * s, lda, b0 + 1024 * s, b1 + 1024 * s);
    drain();
  }
  if (const std::size_t rem = p.k - 64 * steps; rem != 0) {
    // The last partial step from a zero-padded copy (B's padding quads are zero weights).
    alignas(64) std::uint8_t tail[RA][16][64];
    std::memset(tail, 0, sizeof tail);
    for (std::size_t r = 0; r < rows; ++r)
      std::memcpy(tail[r / 16][r % 16], p.a + (m + r) * p.lda + 64 * steps, rem);
    tile_step<RA, RB>(tail[0][0], 64, tail[RA - 1][0], 64, b0 + 1024 * steps, b1 + 1024 * steps);
  }
}

template <int RB>
void column_panel(const QGemmParams& p, const PackedView& b, Pipeline& pl, std::size_t m0, std::size_t m1,
                  std::size_t nb) {
  std::size_t m = m0;
  for (; m + 32 <= m1; m += 32)
    pl.run<2, RB>([&](auto&& drain) { compute<2, RB>(p, b, m, 32, nb, drain); }, m, 16, m + 16, 16, nb);
  if (m < m1)
    pl.run<1, RB>([&](auto&& drain) { compute<1, RB>(p, b, m, 16, nb, drain); }, m, 16, 0, 0,
                  nb);  // one 16-row tile left (m1 − m0 is a multiple of 16)
}

// The last rows (fewer than 16) of [m, m + rows): A and C tiles configured to `rows` rows.
void tail_rows(const QGemmParams& p, const PackedView& b, std::size_t m, std::size_t rows, std::size_t n0,
               std::size_t n1) {
  configure_tiles(rows);
  Pipeline pl(p, b, n1);
  const std::size_t nb1 = (n1 + 15) / 16;
  for (std::size_t nb = n0 / 16; nb < nb1; nb += 2) {
    if (nb + 1 < nb1)
      pl.run<1, 2>([&](auto&& drain) { compute<1, 2>(p, b, m, rows, nb, drain); }, m, rows, 0, 0, nb);
    else pl.run<1, 1>([&](auto&& drain) { compute<1, 1>(p, b, m, rows, nb, drain); }, m, rows, 0, 0, nb);
  }
  pl.flush();
}

}  // namespace

void qgemm_u8s8_32x32__amx(const QGemmParams& p, std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1) {
  // Below amx_min_rows rows an AMX tile is mostly empty and the VNNI kernel is faster.
  constexpr std::size_t amx_min_rows = 4;
  if (m1 - m0 < amx_min_rows || n1 <= n0) {
    qgemm_u8s8_8x48__avx512vnni(p, m0, m1, n0, n1);
    return;
  }
  const PackedView b = view(p.packed_b);
  const std::size_t m_full = m0 + (m1 - m0) / 16 * 16;
  if (m_full > m0) {
    configure_tiles();
    Pipeline pl(p, b, n1);
    // Row chunks of ~512 KiB of A stay in L2 while each 32-column panel of B is swept over
    // them from L1.
    const std::size_t mc = std::max<std::size_t>(32, (512 * 1024 / std::max<std::size_t>(p.k, 1)) / 32 * 32);
    const std::size_t nb0 = n0 / 16, nb1 = (n1 + 15) / 16;
    for (std::size_t mb = m0; mb < m_full; mb += mc) {
      const std::size_t me = std::min(m_full, mb + mc);
      for (std::size_t nb = nb0; nb < nb1; nb += 2) {
        if (nb + 1 < nb1) column_panel<2>(p, b, pl, mb, me, nb);
        else column_panel<1>(p, b, pl, mb, me, nb);
      }
    }
    pl.flush();
  }
  if (m_full < m1) tail_rows(p, b, m_full, m1 - m_full, n0, n1);
  _tile_release();
}

}  // namespace mq::kernels
