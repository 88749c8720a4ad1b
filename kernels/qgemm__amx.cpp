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

constexpr std::size_t c_ld = 32;  // int32 row stride of a stored C block

// Accumulates rows [m, m + 16·RA) × packed column blocks [nb, nb + RB) over all of K into
// the C tiles (a tail row tile of fewer rows when the tiles are configured so).
template <int RA, int RB>
void compute(const QGemmParams& p, const PackedView& b, std::size_t m, std::size_t rows,
             std::size_t nb) {
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
    for (std::size_t r = 0; r < rows; ++r)
      std::memcpy(tail[r / 16][r % 16], p.a + (m + r) * lda + 64 * steps, rem);
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
}

// Stores the C tiles of a block into c[32][32].
template <int RA, int RB>
void store_tiles(std::int32_t* c) {
  _tile_stored(0, c, c_ld * 4);
  if constexpr (RB > 1) _tile_stored(1, c + 16, c_ld * 4);
  if constexpr (RA > 1) _tile_stored(2, c + 16 * c_ld, c_ld * 4);
  if constexpr (RA > 1 && RB > 1) _tile_stored(3, c + 16 * c_ld + 16, c_ld * 4);
}

// A block whose epilogue is still to run.
struct Pending {
  std::size_t m = 0, rows = 0, nb = 0, nblocks = 0;
  const std::int32_t* c = nullptr;
};

// Epilogue of `rows` stored rows of one 16-column vector, for one output kind: the
// parameters live in registers (the byte stores would otherwise force them to be reloaded).
template <QGemmOutput O>
void finish_vector(const QGemmParams& p, const EpiVec& e, std::size_t m, std::size_t n,
                   std::size_t rows, const std::int32_t* __restrict c) {
  const std::size_t ldc = p.ldc;
  const __mmask16 mask = e.mask;
  const __m512i comp = e.comp, zp = e.zp;
  const __m512 scale = e.scale, lo = e.lo, hi = e.hi, bias = e.bias;
  if constexpr (O == QGemmOutput::u8 || O == QGemmOutput::s8) {
    auto* __restrict out = static_cast<std::uint8_t*>(p.c) + m * ldc + n;
    for (std::size_t r = 0; r < rows; ++r) {
      const __m512i acc = _mm512_add_epi32(_mm512_load_si512(c + r * c_ld), comp);
      __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale);
      x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
      const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(x), zp);
      _mm_mask_storeu_epi8(out + r * ldc, mask, _mm512_cvtepi32_epi8(q));
    }
  } else if constexpr (O == QGemmOutput::f32) {
    auto* __restrict out = static_cast<float*>(p.c) + m * ldc + n;
    const bool has_bias = p.bias_f32 != nullptr, accumulate = p.accumulate;
    for (std::size_t r = 0; r < rows; ++r) {
      const __m512i acc = _mm512_add_epi32(_mm512_load_si512(c + r * c_ld), comp);
      __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale);
      if (has_bias) x = _mm512_add_ps(x, bias);
      if (accumulate) x = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out + r * ldc), x);
      _mm512_mask_storeu_ps(out + r * ldc, mask, x);
    }
  } else {
    auto* __restrict out = static_cast<std::int32_t*>(p.c) + m * ldc + n;
    for (std::size_t r = 0; r < rows; ++r)
      _mm512_mask_storeu_epi32(out + r * ldc, mask,
                               _mm512_add_epi32(_mm512_load_si512(c + r * c_ld), comp));
  }
}

// Epilogue of a stored block: rows [m, m + rows) × columns [16·nb, min(n1, 16·(nb + nblocks))).
void finish(const QGemmParams& p, const PackedView& b, const Pending& d, std::size_t n1) {
  for (std::size_t j = 0; j < d.nblocks; ++j) {
    const std::size_t n = (d.nb + j) * 16;
    if (n >= n1) break;
    const EpiVec e = epi_vec(p, b, n, std::min(n1, n + 16));
    const std::int32_t* c = d.c + 16 * j;
    switch (p.output) {
      case QGemmOutput::u8:
      case QGemmOutput::s8: finish_vector<QGemmOutput::u8>(p, e, d.m, n, d.rows, c); break;
      case QGemmOutput::f32: finish_vector<QGemmOutput::f32>(p, e, d.m, n, d.rows, c); break;
      case QGemmOutput::s32: finish_vector<QGemmOutput::s32>(p, e, d.m, n, d.rows, c); break;
    }
  }
}

// Runs blocks in order, each one's epilogue placed after the next one's tile instructions
// so that the AVX-512 requantization overlaps the AMX unit's work.
class Pipeline {
 public:
  Pipeline(const QGemmParams& p, const PackedView& b, std::size_t n1) : p_(p), b_(b), n1_(n1) {}
  template <int RA, int RB>
  void run(std::size_t m, std::size_t rows, std::size_t nb) {
    compute<RA, RB>(p_, b_, m, rows, nb);
    if (pending_.c) finish(p_, b_, pending_, n1_);
    std::int32_t* c = buf_[cur_];
    cur_ ^= 1;
    store_tiles<RA, RB>(c);
    pending_ = {m, rows, nb, static_cast<std::size_t>(RB), c};
  }
  void flush() {
    if (pending_.c) finish(p_, b_, pending_, n1_);
    pending_.c = nullptr;
  }

 private:
  const QGemmParams& p_;
  const PackedView& b_;
  std::size_t n1_;
  alignas(64) std::int32_t buf_[2][32 * c_ld];
  int cur_ = 0;
  Pending pending_;
};

template <int RB>
void column_panel(Pipeline& pl, std::size_t m0, std::size_t m1, std::size_t nb) {
  std::size_t m = m0;
  for (; m + 32 <= m1; m += 32) pl.run<2, RB>(m, 32, nb);
  if (m < m1) pl.run<1, RB>(m, 16, nb);  // one 16-row tile left (m1 − m0 is a multiple of 16)
}

// The last rows (fewer than 16) of [m, m + rows): A and C tiles configured to `rows` rows.
void tail_rows(const QGemmParams& p, const PackedView& b, std::size_t m, std::size_t rows,
               std::size_t n0, std::size_t n1) {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = t < 6 ? static_cast<std::uint8_t>(rows) : 16;  // C and A: `rows`; B: 16
  }
  _tile_loadconfig(&cfg);
  Pipeline pl(p, b, n1);
  const std::size_t nb1 = (n1 + 15) / 16;
  for (std::size_t nb = n0 / 16; nb < nb1; nb += 2) {
    if (nb + 1 < nb1) pl.run<1, 2>(m, rows, nb);
    else pl.run<1, 1>(m, rows, nb);
  }
  pl.flush();
}

}  // namespace

void qgemm_u8s8_32x32__amx(const QGemmParams& p, std::size_t m0, std::size_t m1,
                           std::size_t n0, std::size_t n1) {
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
    const std::size_t mc =
        std::max<std::size_t>(32, (512 * 1024 / std::max<std::size_t>(p.k, 1)) / 32 * 32);
    const std::size_t nb0 = n0 / 16, nb1 = (n1 + 15) / 16;
    for (std::size_t mb = m0; mb < m_full; mb += mc) {
      const std::size_t me = std::min(m_full, mb + mc);
      for (std::size_t nb = nb0; nb < nb1; nb += 2) {
        if (nb + 1 < nb1) column_panel<2>(pl, mb, me, nb);
        else column_panel<1>(pl, mb, me, nb);
      }
    }
    pl.flush();
  }
  if (m_full < m1) tail_rows(p, b, m_full, m1 - m_full, n0, n1);
  _tile_release();
}

}  // namespace mq::kernels
