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

// The 64-byte LDTILECFG operand (palette 1).
struct alignas(64) TileConfig {
  std::uint8_t palette = 1, start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

// tmm0..3: C (row tile i, column tile j → 2i + j); tmm4, 5: A row tiles; tmm6, 7: B column
// tiles. Every tile is 16 rows × 64 bytes.
void configure_tiles() {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = 16;
  }
  _tile_loadconfig(&cfg);
}

constexpr std::size_t c_ld = 32;  // int32 row stride of the stored C block

// Accumulates rows [m, m + 16·RA) × packed column blocks [nb, nb + RB) over all of K and
// stores the raw int32 sums into c[32][32].
template <int RA, int RB>
void block(const QGemmParams& p, const PackedView& b, std::size_t m, std::size_t nb,
           std::int32_t* c) {
  _tile_zero(0);
  if constexpr (RB > 1) _tile_zero(1);
  if constexpr (RA > 1) _tile_zero(2);
  if constexpr (RA > 1 && RB > 1) _tile_zero(3);
  const std::size_t lda = p.lda;
  const std::uint8_t* a0 = p.a + m * lda;
  const std::uint8_t* a1 = a0 + 16 * lda;
  const std::int8_t* b0 = b.data + nb * b.block_bytes;
  const std::int8_t* b1 = b0 + b.block_bytes;
  const std::size_t steps = p.k / 64;  // whole 64-byte steps read straight from A
  for (std::size_t s = 0; s < steps; ++s) {
    _tile_loadd(4, a0 + 64 * s, lda);
    _tile_loadd(6, b0 + 1024 * s, 64);
    _tile_dpbusd(0, 4, 6);
    if constexpr (RB > 1) {
      _tile_loadd(7, b1 + 1024 * s, 64);
      _tile_dpbusd(1, 4, 7);
    }
    if constexpr (RA > 1) {
      _tile_loadd(5, a1 + 64 * s, lda);
      _tile_dpbusd(2, 5, 6);
      if constexpr (RB > 1) _tile_dpbusd(3, 5, 7);
    }
  }
  if (const std::size_t rem = p.k - 64 * steps; rem != 0) {
    // The last partial step from a zero-padded copy (B's padding quads are zero weights).
    alignas(64) std::uint8_t tail[RA][16][64];
    std::memset(tail, 0, sizeof tail);
    for (int i = 0; i < RA; ++i)
      for (std::size_t r = 0; r < 16; ++r)
        std::memcpy(tail[i][r], p.a + (m + 16 * i + r) * lda + 64 * steps, rem);
    _tile_loadd(4, tail[0], 64);
    _tile_loadd(6, b0 + 1024 * steps, 64);
    _tile_dpbusd(0, 4, 6);
    if constexpr (RB > 1) {
      _tile_loadd(7, b1 + 1024 * steps, 64);
      _tile_dpbusd(1, 4, 7);
    }
    if constexpr (RA > 1) {
      _tile_loadd(5, tail[RA - 1], 64);
      _tile_dpbusd(2, 5, 6);
      if constexpr (RB > 1) _tile_dpbusd(3, 5, 7);
    }
  }
  _tile_stored(0, c, c_ld * 4);
  if constexpr (RB > 1) _tile_stored(1, c + 16, c_ld * 4);
  if constexpr (RA > 1) _tile_stored(2, c + 16 * c_ld, c_ld * 4);
  if constexpr (RA > 1 && RB > 1) _tile_stored(3, c + 16 * c_ld + 16, c_ld * 4);
}

// Epilogue of one block: rows [m, m + rows) × columns [16·nb, min(n1, 16·(nb + RB))).
template <int RB>
void store_block(const QGemmParams& p, const PackedView& b, std::size_t m, std::size_t rows,
                 std::size_t nb, std::size_t n1, const std::int32_t* c) {
  for (int j = 0; j < RB; ++j) {
    const std::size_t n = (nb + j) * 16;
    if (n >= n1) break;
    const EpiVec e = epi_vec(p, b, n, std::min(n1, n + 16));
    for (std::size_t r = 0; r < rows; ++r)
      epi_store(p, e, m + r, n, _mm512_load_si512(c + r * c_ld + 16 * j));
  }
}

template <int RB>
void column_panel(const QGemmParams& p, const PackedView& b, std::size_t m0, std::size_t m1,
                  std::size_t nb, std::size_t n1, std::int32_t* c) {
  std::size_t m = m0;
  for (; m + 32 <= m1; m += 32) {
    block<2, RB>(p, b, m, nb, c);
    store_block<RB>(p, b, m, 32, nb, n1, c);
  }
  if (m < m1) {  // one 16-row tile left (m1 − m0 is a multiple of 16)
    block<1, RB>(p, b, m, nb, c);
    store_block<RB>(p, b, m, 16, nb, n1, c);
  }
}

}  // namespace

void qgemm_u8s8_32x32__amx(const QGemmParams& p, std::size_t m0, std::size_t m1,
                           std::size_t n0, std::size_t n1) {
  const std::size_t m_amx = m0 + (m1 - m0) / 16 * 16;
  if (m_amx > m0 && n1 > n0) {
    const PackedView b = view(p.packed_b);
    alignas(64) std::int32_t c[32 * c_ld];
    configure_tiles();
    // Row chunks of ~512 KiB of A stay in L2 while each 32-column panel of B is swept over
    // them from L1.
    const std::size_t mc = std::max<std::size_t>(32, (512 * 1024 / std::max<std::size_t>(p.k, 1)) / 32 * 32);
    const std::size_t nb0 = n0 / 16, nb1 = (n1 + 15) / 16;
    for (std::size_t mb = m0; mb < m_amx; mb += mc) {
      const std::size_t me = std::min(m_amx, mb + mc);
      for (std::size_t nb = nb0; nb < nb1; nb += 2) {
        if (nb + 1 < nb1) column_panel<2>(p, b, mb, me, nb, n1, c);
        else column_panel<1>(p, b, mb, me, nb, n1, c);
      }
    }
    _tile_release();
  }
  if (m_amx < m1) qgemm_u8s8_8x48__avx512vnni(p, m_amx, m1, n0, n1);
}

}  // namespace mq::kernels
