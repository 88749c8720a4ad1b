// Direct int8 Conv2d on AMX-INT8 for one group with in_c a multiple of 64: each A tile is 16
// output pixels of one output row × 64 input channels of one tap, loaded straight from the
// NHWC input with a row stride of stride_w·in_c bytes, so no im2col matrix is built. Tiles
// whose pixels touch the padding are gathered into a small buffer (padding reads a_zp). The
// last out_w % 16 pixels of each row run on tiles configured to that many rows. The
// weights are qgemm-packed with K = (ky, kx, c), so 64-byte k step s is tap s / (in_c / 64).
#include <immintrin.h>

#include <algorithm>

#include "kernels/qconv.h"
#include "kernels/qgemm_internal.h"

namespace mq::kernels {
namespace {
using namespace qgemm_detail;

#include "kernels/qgemm_zmm_epilogue.h"
#include "kernels/qgemm_amx_impl.h"

constexpr std::size_t max_chunks = qconv_amx_max_in_c / 64;

// Where one A tile of a block comes from: 16 output pixels (ox0 … ox0 + 15) of output row
// (b, oy). For each tap, `src` is either the input itself (stride_w·in_c between rows) or
// `gather` ([chunks][16][64], stride 64).
struct TileSource {
  std::size_t b = 0, oy = 0, ox0 = 0, rows = 16;  // pixels ox0 … ox0 + rows − 1
};

struct ConvCtx {
  const QConvShape& s;
  const std::uint8_t* x;
  const PackedView& w;
  std::size_t chunks;       // in_c / 64
  std::uint8_t zp;          // activation zero point
  std::uint8_t* gather[2];  // per row tile: [chunks][16][64]
};

// Points src/stride at the 16 × (64·chunks) activations of `t` for tap (ky, kx), gathering
// them when some pixel falls into the padding.
inline void tap_source(const ConvCtx& c, const TileSource& t, std::size_t ky, std::size_t kx, std::uint8_t* gather,
                       const std::uint8_t** src, long* stride) {
  const QConvShape& s = c.s;
  const long iy = long(t.oy * s.stride_h + ky * s.dil_h) - long(s.pad_t);
  const long ix0 = long(t.ox0 * s.stride_w + kx * s.dil_w) - long(s.pad_l);
  const long ix_last = ix0 + long((t.rows - 1) * s.stride_w);
  const bool row_ok = iy >= 0 && iy < long(s.in_h);
  if (row_ok && ix0 >= 0 && ix_last < long(s.in_w)) {
    *src = c.x + ((t.b * s.in_h + std::size_t(iy)) * s.in_w + std::size_t(ix0)) * s.in_c;
    *stride = long(s.stride_w * s.in_c);
    return;
  }
  for (std::size_t r = 0; r < t.rows; ++r) {
    const long ix = ix0 + long(r * s.stride_w);
    const bool ok = row_ok && ix >= 0 && ix < long(s.in_w);
    const std::uint8_t* px =
        ok ? c.x + ((t.b * s.in_h + std::size_t(iy)) * s.in_w + std::size_t(ix)) * s.in_c : nullptr;
    for (std::size_t cc = 0; cc < c.chunks; ++cc) {
      std::uint8_t* d = gather + (cc * 16 + r) * 64;
      if (ok) std::memcpy(d, px + cc * 64, 64);
      else std::memset(d, c.zp, 64);
    }
  }
  *src = gather;
  *stride = -1;  // gathered: chunk cc at gather + cc·1024, stride 64
}

// Fills the C tiles for RA row tiles × RB column tiles (packed blocks nb, nb + 1).
template <int RA, int RB, class Drain>
void conv_compute(const ConvCtx& c, const TileSource (&t)[2], std::size_t nb, Drain&& drain) {
  zero_tiles<RA, RB>();
  const std::int8_t* b0 = c.w.data + nb * c.w.block_bytes;
  const std::int8_t* b1 = b0 + c.w.block_bytes;
  std::size_t step = 0;
  for (std::size_t ky = 0; ky < c.s.kh; ++ky)
    for (std::size_t kx = 0; kx < c.s.kw; ++kx) {
      const std::uint8_t* src[2] = {nullptr, nullptr};
      long stride[2] = {0, 0};
      for (int i = 0; i < RA; ++i) tap_source(c, t[i], ky, kx, c.gather[i], &src[i], &stride[i]);
      for (std::size_t cc = 0; cc < c.chunks; ++cc, ++step) {
        // A gathered tile's chunk cc is at gather + cc·1024 with row stride 64.
        const auto a = [&](int i) { return stride[i] < 0 ? src[i] + cc * 1024 : src[i] + cc * 64; };
        tile_step<RA, RB>(a(0), stride[0] < 0 ? 64 : stride[0], a(RA - 1),
                          stride[RA - 1] < 0 ? 64 : stride[RA - 1], b0 + 1024 * step, b1 + 1024 * step);
        drain();
      }
    }
}

// One block: row tile t[0] (output rows [m0, m0 + rows0)), and t[1] ([m1, m1 + rows1)) when
// rows1 > 0, on one or two column tiles from packed block nb.
void run_block(Pipeline& pl, const ConvCtx& ctx, const TileSource (&t)[2], std::size_t nb, bool two_cols,
               std::size_t m0, std::size_t rows0, std::size_t m1, std::size_t rows1) {
  if (rows1 > 0) {
    if (two_cols) pl.run<2, 2>([&](auto&& d) { conv_compute<2, 2>(ctx, t, nb, d); }, m0, rows0, m1, rows1, nb);
    else pl.run<2, 1>([&](auto&& d) { conv_compute<2, 1>(ctx, t, nb, d); }, m0, rows0, m1, rows1, nb);
  } else {
    if (two_cols) pl.run<1, 2>([&](auto&& d) { conv_compute<1, 2>(ctx, t, nb, d); }, m0, rows0, 0, 0, nb);
    else pl.run<1, 1>([&](auto&& d) { conv_compute<1, 1>(ctx, t, nb, d); }, m0, rows0, 0, 0, nb);
  }
}

}  // namespace

// Output rows [r0, r1) of the flattened N·OH rows, every pixel of each.
void qconv_rows__amx(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x, const void* packed,
                     void* y, std::size_t r0, std::size_t r1) {
  const std::size_t oh = s.out_h(), ow = s.out_w();
  QGemmParams p = epi;
  p.m = s.batch * oh * ow;
  p.n = s.out_c;
  p.k = s.kh * s.kw * s.in_c;
  p.c = y;
  p.ldc = s.out_c;
  const PackedView w = view(packed);
  alignas(64) std::uint8_t gather[2][max_chunks * 16 * 64];
  const ConvCtx ctx{s, x, w, s.in_c / 64, static_cast<std::uint8_t>(epi.a_zp), {gather[0], gather[1]}};
  // Whole 16-pixel tiles of every row first; then the last ow % 16 pixels of every row, with
  // the A and C tiles configured to that many rows.
  const std::size_t full = ow / 16, rem = ow % 16;
  const std::size_t nb1 = (s.out_c + 15) / 16;
  configure_tiles();
  Pipeline pl(p, w, s.out_c);
  for (std::size_t nb = 0; nb < nb1; nb += 2) {
    for (std::size_t r = r0; r < r1; ++r)
      for (std::size_t i = 0; i < full; i += 2) {
        const TileSource t[2] = {{r / oh, r % oh, 16 * i}, {r / oh, r % oh, 16 * (i + 1)}};
        const std::size_t m0 = r * ow + 16 * i;
        run_block(pl, ctx, t, nb, nb + 1 < nb1, m0, 16, m0 + 16, i + 1 < full ? 16 : 0);
      }
  }
  if (rem != 0) {
    pl.flush();
    configure_tiles(rem);
    const std::size_t ox0 = ow - rem;
    for (std::size_t nb = 0; nb < nb1; nb += 2)
      for (std::size_t r = r0; r < r1; r += 2) {
        const TileSource t[2] = {{r / oh, r % oh, ox0, rem}, {(r + 1) / oh, (r + 1) % oh, ox0, rem}};
        run_block(pl, ctx, t, nb, nb + 1 < nb1, r * ow + ox0, rem, (r + 1) * ow + ox0, r + 1 < r1 ? rem : 0);
      }
  }
  pl.flush();
  _tile_release();
}

}  // namespace mq::kernels
