// Indirect int8 Conv2d on AVX512-VNNI for one group with in_c a multiple of 4: no im2col
// matrix; each register tile of up to 8 output pixels × 48 (or 64) output channels reads its
// activations through one pointer per pixel and tap (XNNPACK's IGEMM), or per pixel and
// kernel row when that row is a short contiguous run (few channels). Padding taps point at a
// row filled with the activation zero point. The weights are qgemm-packed with
// K = (ky, kx, c), so the quads of tap t are [t·in_c/4, (t + 1)·in_c/4).
#include <immintrin.h>

#include <algorithm>

#include "kernels/qconv.h"
#include "kernels/qgemm_internal.h"

namespace mq::kernels {
namespace {
using namespace qgemm_detail;

#include "kernels/qgemm_zmm_epilogue.h"

#define MQ_UNROLL _Pragma("GCC unroll 8")

constexpr std::size_t max_taps = qconv_indirect_max_taps;
// Longest kernel row read as one run, and most bytes in a window read by runs
// (TapGeometry::rows).
constexpr std::size_t max_run = 256, max_run_window = 576;
static_assert(max_run <= qconv_indirect_max_in_c, "the a_zp row also pads a whole kernel row");

inline std::int32_t load_u32(const std::uint8_t* p) {
  std::int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// MR pixels × NV 16-column vectors; ptrs[r·taps + t] is pixel r's activations for tap (or
// kernel row) t, whose cq quads meet the weights' quads [t·cq, (t + 1)·cq).
template <int MR, int NV>
__attribute__((noinline)) void conv_tile(const QGemmParams& p, const PackedView& b,
                                         const std::uint8_t* const* ptrs, std::size_t taps, std::size_t cq,
                                         std::size_t m, std::size_t nb0, std::size_t nend) {
  const std::int8_t* bp = b.data + nb0 * b.block_bytes;
  const std::size_t bs = b.block_bytes;
  __m512i acc[MR][NV];  // starting at the column compensation
  MQ_UNROLL for (int v = 0; v < NV; ++v) {
    const std::size_t n = nb0 * 16 + v * 16;
    const __m512i comp = column_comp(p, b, n, column_mask(nend - n));
    MQ_UNROLL for (int r = 0; r < MR; ++r) acc[r][v] = comp;
  }
  for (std::size_t t = 0; t < taps; ++t) {
    const std::uint8_t* a[MR];
    MQ_UNROLL for (int r = 0; r < MR; ++r) a[r] = ptrs[r * taps + t];
    const std::int8_t* bq = bp + t * cq * 64;
    // not unrolled: fewer registers spilled (measured 2-6% faster, the 24-channel layers most)
#pragma GCC unroll 1
    for (std::size_t q = 0; q < cq; ++q) {
      __m512i bv[NV];
      MQ_UNROLL for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_si512(bq + v * bs + q * 64);
      MQ_UNROLL for (int r = 0; r < MR; ++r) {
        const __m512i av = _mm512_set1_epi32(load_u32(a[r] + 4 * q));
        MQ_UNROLL for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], av, bv[v]);
      }
    }
  }
  if (rows_q8(p)) {  // u8 / s8: each pixel's channels narrowed and stored at once
    const EpiRow e = epi_row<NV>(p, nb0 * 16, nend);
    std::uint8_t* c = static_cast<std::uint8_t*>(p.c) + m * p.ldc + nb0 * 16;
    const std::size_t ldc = p.ldc;
    if (e.bounded) MQ_UNROLL for (int r = 0; r < MR; ++r) epi_store_row<NV, true>(e, c + r * ldc, acc[r]);
    else MQ_UNROLL for (int r = 0; r < MR; ++r) epi_store_row<NV, false>(e, c + r * ldc, acc[r]);
    return;
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const std::size_t n = nb0 * 16 + v * 16;
    const EpiVec e = epi_vec(p, n, nend);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) epi_store(p, e, m + r, n, acc[r][v]);
  }
}

template <int NV>
void conv_rows(const QGemmParams& p, const PackedView& b, const std::uint8_t* const* ptrs, std::size_t taps,
               std::size_t cq, std::size_t m, std::size_t rows, std::size_t nb0, std::size_t nend) {
  switch (rows) {
    case 8: conv_tile<8, NV>(p, b, ptrs, taps, cq, m, nb0, nend); break;
    case 7: conv_tile<7, NV>(p, b, ptrs, taps, cq, m, nb0, nend); break;
    case 6: conv_tile<6, NV>(p, b, ptrs, taps, cq, m, nb0, nend); break;
    case 5: conv_tile<5, NV>(p, b, ptrs, taps, cq, m, nb0, nend); break;
    case 4: conv_tile<4, NV>(p, b, ptrs, taps, cq, m, nb0, nend); break;
    case 3: conv_tile<3, NV>(p, b, ptrs, taps, cq, m, nb0, nend); break;
    case 2: conv_tile<2, NV>(p, b, ptrs, taps, cq, m, nb0, nend); break;
    case 1: conv_tile<1, NV>(p, b, ptrs, taps, cq, m, nb0, nend); break;
    default: break;
  }
}

// The 64-column panel of the GEMM kernel: up to 6 pixels × 4 vectors (24 accumulators).
template <>
void conv_rows<4>(const QGemmParams& p, const PackedView& b, const std::uint8_t* const* ptrs, std::size_t taps,
                  std::size_t cq, std::size_t m, std::size_t rows, std::size_t nb0, std::size_t nend) {
  switch (rows) {
    case 6: conv_tile<6, 4>(p, b, ptrs, taps, cq, m, nb0, nend); break;
    case 5: conv_tile<5, 4>(p, b, ptrs, taps, cq, m, nb0, nend); break;
    case 4: conv_tile<4, 4>(p, b, ptrs, taps, cq, m, nb0, nend); break;
    case 3: conv_tile<3, 4>(p, b, ptrs, taps, cq, m, nb0, nend); break;
    case 2: conv_tile<2, 4>(p, b, ptrs, taps, cq, m, nb0, nend); break;
    case 1: conv_tile<1, 4>(p, b, ptrs, taps, cq, m, nb0, nend); break;
    default: break;
  }
}

// Fixed per-call geometry of the tap pointers. With `rows` (unit horizontal dilation, a
// kernel row of at most max_run bytes, a window of at most max_run_window), a pixel's taps of
// one kernel row are one run of kw·C contiguous input bytes, and the weights' quads of kernel
// row ky (K = (ky, kx, c)) are [ky·kw·C/4, (ky + 1)·kw·C/4): a pixel then has one pointer
// per kernel row, and the kernel loops over kh runs of kw·C/4 quads instead of kh·kw taps of
// C/4 (for few channels, far fewer pointer loads per multiply-add).
struct TapGeometry {
  const QConvShape& s;
  const std::uint8_t* x;
  const std::uint8_t* zp_row;             // max(in_c, kernel row) bytes of a_zp, for padding
  std::size_t tap_offset[max_taps] = {};  // byte offset of each tap from a pixel's first tap
  long span_h, span_w;                    // extent of the kernel in input rows / columns − 1
  bool rows;                              // one pointer per kernel row
  std::size_t run;                        // bytes of a kernel row (rows)
  explicit TapGeometry(const QConvShape& sh, const std::uint8_t* in, const std::uint8_t* zp)
      : s(sh), x(in), zp_row(zp) {
    for (std::size_t ky = 0; ky < s.kh; ++ky)
      for (std::size_t kx = 0; kx < s.kw; ++kx)
        tap_offset[ky * s.kw + kx] = (ky * s.dil_h * s.in_w + kx * s.dil_w) * s.in_c;
    span_h = long((s.kh - 1) * s.dil_h);
    span_w = long((s.kw - 1) * s.dil_w);
    run = s.kw * s.in_c;
    rows = s.kw > 1 && s.dil_w == 1 && run <= max_run && s.kh * run <= max_run_window;
  }
  std::size_t per_pixel() const { return rows ? s.kh : s.kh * s.kw; }  // pointers per pixel
};

// ptrs[(m − m0)·per_pixel + t] for output pixels [m0, m1): interior pixels from fixed tap
// offsets (a run of them per output row, the window start stepping by stride_w·C), border
// pixels tap by tap with padding taps at the a_zp row. With g.rows, a border pixel's kernel
// rows that are partly inside the input are gathered (padding as a_zp) into
// gather[(m − m0)·kh·run ...] and read there.
void tap_pointers(const TapGeometry& g, std::size_t m0, std::size_t m1, const std::uint8_t** ptrs,
                  std::uint8_t* gather) {
  const QConvShape& s = g.s;
  const std::size_t oh = s.out_h(), ow = s.out_w(), taps = s.kh * s.kw, C = s.in_c, pp = g.per_pixel();
  // Output columns [ox_lo, ox_hi) have their windows inside the input's width.
  const std::size_t ox_lo = std::min(ow, (s.pad_l + s.stride_w - 1) / s.stride_w);
  const std::size_t ox_hi = long(s.in_w + s.pad_l) - 1 < g.span_w
                                ? 0
                                : std::min(ow, (s.in_w + s.pad_l - 1 - std::size_t(g.span_w)) / s.stride_w + 1);
  std::size_t bi = m0 / (oh * ow), oy = (m0 / ow) % oh, ox = m0 % ow;
  std::uint8_t* const gather0 = gather;
  const std::uint8_t** const ptrs0 = ptrs;
  auto border = [&](std::size_t c, long iy0, const std::uint8_t* img) {  // pixel (oy, c), tap by tap
    const long ix0 = long(c * s.stride_w) - long(s.pad_l);
    if (g.rows) {  // kernel rows: inside, outside (the a_zp row) or gathered
      std::uint8_t* dst = gather0 + std::size_t(ptrs - ptrs0) * g.run;
      const bool cols_in = ix0 >= 0 && ix0 + g.span_w < long(s.in_w);
      for (std::size_t ky = 0; ky < s.kh; ++ky, dst += g.run) {
        const long iy = iy0 + long(ky * s.dil_h);
        if (iy < 0 || iy >= long(s.in_h)) {
          ptrs[ky] = g.zp_row;
          continue;
        }
        const std::uint8_t* row = img + std::size_t(iy) * s.in_w * C;
        if (cols_in) {
          ptrs[ky] = row + std::size_t(ix0) * C;
          continue;
        }
        for (std::size_t kx = 0; kx < s.kw; ++kx) {
          const long ix = ix0 + long(kx);
          if (ix >= 0 && ix < long(s.in_w)) std::memcpy(dst + kx * C, row + std::size_t(ix) * C, C);
          else std::memcpy(dst + kx * C, g.zp_row, C);
        }
        ptrs[ky] = dst;
      }
      ptrs += pp;
      return;
    }
    for (std::size_t ky = 0; ky < s.kh; ++ky) {
      const long iy = iy0 + long(ky * s.dil_h);
      const bool row_in = iy >= 0 && iy < long(s.in_h);
      for (std::size_t kx = 0; kx < s.kw; ++kx) {
        const long ix = ix0 + long(kx * s.dil_w);
        const bool in = row_in && ix >= 0 && ix < long(s.in_w);
        ptrs[ky * s.kw + kx] = in ? img + (std::size_t(iy) * s.in_w + std::size_t(ix)) * C : g.zp_row;
      }
    }
    ptrs += pp;
  };
  for (std::size_t m = m0; m < m1;) {
    const std::size_t end = ox + std::min(m1 - m, ow - ox);  // this output row's columns [ox, end)
    const long iy0 = long(oy * s.stride_h) - long(s.pad_t);
    const std::uint8_t* img = g.x + bi * s.in_h * s.in_w * C;
    std::size_t a = end, z = end;  // interior columns [a, z)
    if (iy0 >= 0 && iy0 + g.span_h < long(s.in_h) && ox_lo < ox_hi) {
      a = std::clamp(ox_lo, ox, end);
      z = std::clamp(ox_hi, a, end);
    }
    for (std::size_t c = ox; c < a; ++c) border(c, iy0, img);
    if (a < z) {
      const std::uint8_t* base = img + (std::size_t(iy0) * s.in_w + (a * s.stride_w - s.pad_l)) * C;
      const std::size_t step = s.stride_w * C;
      if (g.rows) {
        const std::size_t row_step = s.dil_h * s.in_w * C;
        if (s.kh == 3) {  // the common case, unrolled
          for (std::size_t c = a; c < z; ++c, base += step, ptrs += 3) {
            ptrs[0] = base;
            ptrs[1] = base + row_step;
            ptrs[2] = base + 2 * row_step;
          }
        } else {
          for (std::size_t c = a; c < z; ++c, base += step, ptrs += pp)
            for (std::size_t ky = 0; ky < s.kh; ++ky) ptrs[ky] = base + ky * row_step;
        }
      } else {  // whole groups of 8 pointers (the excess is overwritten by the next pixel, or slack)
        const std::size_t taps8 = (taps + 7) & ~std::size_t{7};
        for (std::size_t c = a; c < z; ++c, base += step, ptrs += taps)
          for (std::size_t t = 0; t < taps8; t += 8)
            for (std::size_t j = 0; j < 8; ++j) ptrs[t + j] = base + g.tap_offset[t + j];
      }
    }
    for (std::size_t c = z; c < end; ++c) border(c, iy0, img);
    m += end - ox;
    ox = end;
    if (ox == ow) {
      ox = 0;
      if (++oy == oh) oy = 0, ++bi;
    }
  }
}

}  // namespace

void qconv_indirect__avx512vnni(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x,
                                const void* packed, void* y, std::size_t p0, std::size_t p1) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), taps = s.kh * s.kw, C = s.in_c;
  QGemmParams p = epi;
  p.m = s.batch * oh * ow;
  p.n = s.out_c;
  p.k = taps * C;
  p.c = y;
  p.ldc = s.out_c;
  const PackedView b = view(packed);
  alignas(64) std::uint8_t zp_row[qconv_indirect_max_in_c];
  std::memset(zp_row, static_cast<std::uint8_t>(epi.a_zp), std::max(C, max_run));
  const TapGeometry geom(s, x, zp_row);
  const std::size_t runs = geom.per_pixel(), cq = geom.rows ? geom.run / 4 : C / 4;
  // Pixels whose tap pointers are built once and whose activations stay hot across the
  // column panels (a multiple of both tile heights, 6 and 8).
  constexpr std::size_t chunk = 48;
  const std::uint8_t* ptrs[chunk * max_taps + 8];           // + the last pixel's pointers past its taps
  alignas(64) std::uint8_t gather[chunk * max_run_window];  // border pixels' kernel rows (geom.rows)
  for (std::size_t c0 = p0; c0 < p1; c0 += chunk) {
    const std::size_t c1 = std::min(p1, c0 + chunk);
    tap_pointers(geom, c0, c1, ptrs, gather);
    for (std::size_t n = 0; n < s.out_c;) {
      const std::size_t left = s.out_c - n;
      const std::size_t width = left > 48 && left <= 64 ? left : std::min<std::size_t>(48, left);
      const std::size_t nend = n + width, nv = (width + 15) / 16;
      const std::size_t group = nv == 4 ? 6 : 8;  // pixels per register tile
      for (std::size_t m = c0; m < c1; m += group) {
        const std::size_t rows = std::min(group, c1 - m);
        const std::uint8_t* const* tp = ptrs + (m - c0) * runs;
        switch (nv) {
          case 4: conv_rows<4>(p, b, tp, runs, cq, m, rows, n / 16, nend); break;
          case 3: conv_rows<3>(p, b, tp, runs, cq, m, rows, n / 16, nend); break;
          case 2: conv_rows<2>(p, b, tp, runs, cq, m, rows, n / 16, nend); break;
          default: conv_rows<1>(p, b, tp, runs, cq, m, rows, n / 16, nend); break;
        }
      }
      n = nend;
    }
  }
}

}  // namespace mq::kernels
