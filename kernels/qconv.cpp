// qconv: weight packing, the depthwise and dense variant lists, im2col lowering onto qgemm
// and dispatch.
#include "kernels/qconv.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/qconv_dw_internal.h"
#include "kernels/qgemm_internal.h"
#include "kernels/variant_table.h"

namespace mq::kernels {
using namespace qgemm_detail;

namespace {

std::size_t gemm_k(const QConvShape& s) { return s.kh * s.kw * (s.in_c / s.groups); }
std::size_t group_bytes(const QConvShape& s) { return align64(qgemm_packed_size(s.out_c / s.groups, gemm_k(s))); }
// Output pixels gathered per qgemm call: ~128 KiB of im2col rows (L2), a multiple of 32
// (whole AMX row blocks) between 32 and 512.
std::size_t im2col_rows(const QConvShape& s) {
  const std::size_t rows = (128 * 1024 / std::max<std::size_t>(gemm_k(s), 1)) / 32 * 32;
  return std::clamp<std::size_t>(rows, 32, 512);
}
std::size_t elem_size(QGemmOutput o) { return o == QGemmOutput::u8 || o == QGemmOutput::s8 ? 1 : 4; }

// Copies and fills of a few bytes (one tap row of a few channels): inline 8-byte moves
// instead of a library call per tap.
inline void copy_bytes(std::uint8_t* dst, const std::uint8_t* src, std::size_t n) {
  if (n >= 256) {
    std::memcpy(dst, src, n);
    return;
  }
  if (n < 8) {  // two overlapping 4-byte moves (1–3 bytes: one at a time); never past [0, n)
    if (n >= 4) {
      std::uint32_t a, b;
      std::memcpy(&a, src, 4);
      std::memcpy(&b, src + n - 4, 4);
      std::memcpy(dst, &a, 4);
      std::memcpy(dst + n - 4, &b, 4);
      return;
    }
    for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
    return;
  }
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, src + i, 8);
    std::memcpy(dst + i, &v, 8);
  }
  if (i < n) {  // the last 8 bytes, overlapping the ones already copied
    std::uint64_t v;
    std::memcpy(&v, src + n - 8, 8);
    std::memcpy(dst + n - 8, &v, 8);
  }
}
inline void fill_bytes(std::uint8_t* dst, std::uint8_t v, std::size_t n) {
  const std::uint64_t v8 = 0x0101010101010101ull * v;
  if (n < 8) {
    if (n >= 4) {
      const auto v4 = std::uint32_t(v8);
      std::memcpy(dst, &v4, 4);
      std::memcpy(dst + n - 4, &v4, 4);
      return;
    }
    for (std::size_t i = 0; i < n; ++i) dst[i] = v;
    return;
  }
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) std::memcpy(dst + i, &v8, 8);
  if (i < n) std::memcpy(dst + n - 8, &v8, 8);
}

// Row stride of the im2col matrix: K rounded up to whole quads, so that the GEMM kernels
// load every quad of a row whole (the bytes past K meet zero weights).
std::size_t im2col_ld(const QConvShape& s) { return (gemm_k(s) + 3) & ~std::size_t{3}; }

// Bytes written past the im2col rows: a kernel row moved as one fixed-size block (below)
// may spill up to 64 bytes beyond the last row.
constexpr std::size_t im2col_slack = 64;

// Row `dst` of the im2col matrix of group g for output pixel (b, oy, ox), tap by tap;
// padding reads a_zp, the bytes [K, ld) are zeroed.
void im2col_pixel(const QConvShape& s, const std::uint8_t* x, std::size_t g, std::uint8_t zp, std::size_t b,
                  std::size_t oy, std::size_t ox, std::uint8_t* dst) {
  const std::size_t cg = s.in_c / s.groups, K = gemm_k(s);
  const bool runs = s.groups == 1 && s.dil_w == 1;
  const long ix0 = long(ox * s.stride_w) - long(s.pad_l);
  std::fill(dst + K, dst + im2col_ld(s), std::uint8_t{0});
  for (std::size_t ky = 0; ky < s.kh; ++ky, dst += s.kw * cg) {
    const long iy = long(oy * s.stride_h + ky * s.dil_h) - long(s.pad_t);
    if (iy < 0 || iy >= long(s.in_h)) {
      fill_bytes(dst, zp, s.kw * cg);
      continue;
    }
    const std::uint8_t* row = x + (b * s.in_h + std::size_t(iy)) * s.in_w * s.in_c;
    if (runs) {  // taps [lo, hi) are in range
      const long lo = std::clamp<long>(-ix0, 0, long(s.kw));
      const long hi = std::clamp<long>(long(s.in_w) - ix0, lo, long(s.kw));
      if (lo > 0) fill_bytes(dst, zp, std::size_t(lo) * cg);
      if (hi > lo)
        copy_bytes(dst + std::size_t(lo) * cg, row + std::size_t(ix0 + lo) * s.in_c, std::size_t(hi - lo) * cg);
      if (hi < long(s.kw)) fill_bytes(dst + std::size_t(hi) * cg, zp, (s.kw - std::size_t(hi)) * cg);
      continue;
    }
    for (std::size_t kx = 0; kx < s.kw; ++kx) {
      const long ix = ix0 + long(kx * s.dil_w);
      if (ix < 0 || ix >= long(s.in_w)) fill_bytes(dst + kx * cg, zp, cg);
      else copy_bytes(dst + kx * cg, row + std::size_t(ix) * s.in_c + g * cg, cg);
    }
  }
}

// Rows of `count` consecutive output pixels whose windows lie inside the input (one group,
// unit horizontal dilation): kernel row ky of a pixel is `run` contiguous input bytes from
// src + ky·row_step. Runs of up to W bytes move as one W-byte block (whatever lands past a
// run is overwritten by the next run or row, or falls in the row's padding or the slack);
// the caller guarantees that the last block read stays inside the input. W = 0 copies each
// run exactly. The bytes [K, ld) are zeroed by one 4-byte store (its spill is overwritten too).
template <std::size_t W>
__attribute__((noinline)) void im2col_interior(const std::uint8_t* src, std::size_t src_step, std::size_t row_step,
                                               std::size_t kh, std::size_t run, std::uint8_t* dst, std::size_t ld,
                                               std::size_t count) {
  const std::size_t K = kh * run;
  const std::uint32_t zero = 0;
  for (std::size_t i = 0; i < count; ++i, src += src_step, dst += ld) {
    const std::uint8_t* s = src;
    std::uint8_t* d = dst;
    for (std::size_t ky = 0; ky < kh; ++ky, s += row_step, d += run) {
      if constexpr (W == 0) {
        copy_bytes(d, s, run);
      } else {
        std::uint8_t block[W];
        std::memcpy(block, s, W);
        std::memcpy(d, block, W);
      }
    }
    if (K != ld) std::memcpy(dst + K, &zero, 4);
  }
}

// Rows [r0, r1) of the im2col matrix of group g (row stride im2col_ld); padding reads a_zp.
// With one group and unit horizontal dilation, the pixels of an output row whose windows are
// inside the input copy a kernel row at a time (a fixed-size block for short rows).
void im2col(const QConvShape& s, const std::uint8_t* x, std::size_t g, std::uint8_t zp, std::size_t r0,
            std::size_t r1, std::uint8_t* out) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), ld = im2col_ld(s);
  const std::size_t run = s.kw * s.in_c, row_step = s.dil_h * s.in_w * s.in_c, src_step = s.stride_w * s.in_c;
  const bool runs = s.groups == 1 && s.dil_w == 1;
  // Output columns [ox_lo, ox_hi) have their windows inside the input's width.
  const std::size_t ox_lo = std::min(ow, (s.pad_l + s.stride_w - 1) / s.stride_w);
  const std::size_t ox_hi = s.in_w + s.pad_l < s.kw ? 0 : std::min(ow, (s.in_w + s.pad_l - s.kw) / s.stride_w + 1);
  const std::uint8_t* x_end = x + s.batch * s.in_h * s.in_w * s.in_c;
  const std::size_t block = run <= 8 ? 8 : run <= 16 ? 16 : run <= 32 ? 32 : run <= 64 ? 64 : 0;
  std::size_t r = r0;
  while (r < r1) {
    const std::size_t b = r / (oh * ow), oy = (r / ow) % oh, ox = r % ow;
    const std::size_t end = std::min(r1, r + (ow - ox));  // the rest of this output row
    std::uint8_t* dst = out + (r - r0) * ld;
    const long iy0 = long(oy * s.stride_h) - long(s.pad_t);
    std::size_t a = ox, z = ox;  // pixels [a, z) of the row take the interior copy
    if (runs && iy0 >= 0 && iy0 + long((s.kh - 1) * s.dil_h) < long(s.in_h) && ox_lo < ox_hi) {
      a = std::clamp(ox_lo, ox, ox + (end - r));
      z = std::clamp(ox_hi, a, ox + (end - r));
    }
    for (std::size_t c = ox; c < a; ++c, dst += ld) im2col_pixel(s, x, g, zp, b, oy, c, dst);
    if (a < z) {
      const std::uint8_t* src =
          x + ((b * s.in_h + std::size_t(iy0)) * s.in_w + (a * s.stride_w - s.pad_l)) * s.in_c;
      // Pixels whose last block read stays inside the input take the block moves.
      const std::size_t last = (s.kh - 1) * row_step;
      std::size_t fast = 0;
      if (block != 0 && src + last + block <= x_end)
        fast = std::min(z - a, std::size_t(x_end - (src + last + block)) / src_step + 1);
      switch (block) {
        case 8: im2col_interior<8>(src, src_step, row_step, s.kh, run, dst, ld, fast); break;
        case 16: im2col_interior<16>(src, src_step, row_step, s.kh, run, dst, ld, fast); break;
        case 32: im2col_interior<32>(src, src_step, row_step, s.kh, run, dst, ld, fast); break;
        case 64: im2col_interior<64>(src, src_step, row_step, s.kh, run, dst, ld, fast); break;
        default: break;
      }
      im2col_interior<0>(src + fast * src_step, src_step, row_step, s.kh, run, dst + fast * ld, ld, z - a - fast);
      dst += (z - a) * ld;
    }
    for (std::size_t c = z; c < ox + (end - r); ++c, dst += ld) im2col_pixel(s, x, g, zp, b, oy, c, dst);
    r = end;
  }
}

}  // namespace

// Portable depthwise kernel (the scalar tier, and the fallback of the SIMD tiers for
// parameters their shortcuts do not cover): per 64-channel block and chunk of pixels, one
// tap at a time with the tap's weights unpacked to natural order; padding taps are skipped.
void qconv_dw_generic(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x, const void* packed,
                      void* y, std::size_t p0, std::size_t p1) {
  constexpr std::size_t chunk = 16;
  const std::size_t oh = s.out_h(), ow = s.out_w(), C = s.in_c, T = qconv_dw::taps(s);
  const auto* wt = static_cast<const std::int8_t*>(packed);
  QGemmParams p = epi;
  p.c = y;
  p.ldc = C;
  const std::uint32_t zp = static_cast<std::uint32_t>(epi.a_zp);
  const bool small_zp = epi.a_zp >= 0 && epi.a_zp <= 255;
  const std::int16_t zp16 = static_cast<std::int16_t>(small_zp ? epi.a_zp : 0);
  for (std::size_t c0 = 0; c0 < C; c0 += qconv_dw::block) {
    const std::size_t cn = std::min(qconv_dw::block, C - c0);
    for (std::size_t q0 = p0; q0 < p1; q0 += chunk) {
      const std::size_t qn = std::min(chunk, p1 - q0);
      long iy0[chunk], ix0[chunk];
      std::size_t row0[chunk];  // b·in_h
      for (std::size_t q = 0; q < qn; ++q) {
        const std::size_t pix = q0 + q, b = pix / (oh * ow), oy = (pix / ow) % oh, ox = pix % ow;
        iy0[q] = long(oy * s.stride_h) - long(s.pad_t);
        ix0[q] = long(ox * s.stride_w) - long(s.pad_l);
        row0[q] = b * s.in_h;
      }
      std::uint32_t acc[chunk][qconv_dw::block] = {};
      for (std::size_t ky = 0; ky < s.kh; ++ky)
        for (std::size_t kx = 0; kx < s.kw; ++kx) {
          const std::size_t t = ky * s.kw + kx;
          std::int16_t w[qconv_dw::block];
          for (std::size_t c = 0; c < cn; ++c) w[c] = wt[qconv_dw::weight_index(T, c0 + c, t)];
          for (std::size_t q = 0; q < qn; ++q) {
            const long iy = iy0[q] + long(ky * s.dil_h), ix = ix0[q] + long(kx * s.dil_w);
            if (iy < 0 || ix < 0 || iy >= long(s.in_h) || ix >= long(s.in_w))
              continue;  // padding taps add (a_zp − a_zp)·w = 0
            const std::uint8_t* xp = x + ((row0[q] + std::size_t(iy)) * s.in_w + std::size_t(ix)) * C + c0;
            std::uint32_t* a = acc[q];
            if (small_zp) {  // |x − a_zp| ≤ 255, |w| ≤ 128: the product fits int16 (pmullw)
              for (std::size_t c = 0; c < cn; ++c)
                a[c] += static_cast<std::uint32_t>(static_cast<std::int32_t>(
                    static_cast<std::int16_t>(static_cast<std::int16_t>(xp[c] - zp16) * w[c])));
            } else {
              for (std::size_t c = 0; c < cn; ++c)
                a[c] += (std::uint32_t(xp[c]) - zp) * static_cast<std::uint32_t>(std::int32_t(w[c]));
            }
          }
        }
      for (std::size_t q = 0; q < qn; ++q) {
        std::int32_t v[qconv_dw::block];
        for (std::size_t c = 0; c < cn; ++c)
          v[c] = wrap_add(static_cast<std::int32_t>(acc[q][c]), epi.bias32 ? epi.bias32[c0 + c] : 0);
        if (epi.output == QGemmOutput::u8 || epi.output == QGemmOutput::s8) {
          // store_one's operations, with the parameters hoisted out of the channel loop.
          const float lo = static_cast<float>(epi.qmin - epi.out_zp);
          const float hi = static_cast<float>(epi.qmax - epi.out_zp);
          const float* mult = epi.multiplier + (epi.per_channel ? c0 : 0);
          const std::size_t ms = epi.per_channel ? 1 : 0;
          const std::int32_t ozp = epi.out_zp;
          std::uint8_t* out = static_cast<std::uint8_t*>(y) + (q0 + q) * C + c0;
          for (std::size_t c = 0; c < cn; ++c) {
            float f = static_cast<float>(v[c]) * mult[c * ms];
            f = f > lo ? f : lo;  // NaN becomes lo, crossed bounds hi, as in store_one
            f = f < hi ? f : hi;
            out[c] = static_cast<std::uint8_t>(static_cast<std::int32_t>(std::nearbyint(f)) + ozp);
          }
        } else {
          for (std::size_t c = 0; c < cn; ++c) store_one(p, q0 + q, c0 + c, v[c]);
        }
      }
    }
  }
}

namespace {

// The one list of depthwise variants: drives selection, tests and benchmarks. AMX has no
// depthwise form (every AMX CPU runs the AVX512-VNNI one).
constexpr QConvDwVariant dw_variants[] = {
    {"qconv_dw__scalar", Isa::scalar, qconv_dw_generic},
    {"qconv_dw__avx2", Isa::avx2, qconv_dw__avx2},
    {"qconv_dw__avxvnni", Isa::avxvnni, qconv_dw__avxvnni},
    {"qconv_dw__avx512vnni", Isa::avx512vnni, qconv_dw__avx512vnni},
};

// The one list of dense-convolution variants (the direct AMX kernel also gathers the ends of
// a range that cut an output row through the indirect VNNI kernel).
constexpr QConvVariant conv_variants[] = {
    {"qconv_im2col__scalar", Isa::scalar, nullptr, nullptr},
    {"qconv_indirect__avx512vnni", Isa::avx512vnni, nullptr, qconv_indirect__avx512vnni},
    {"qconv_direct__amx", Isa::amx, qconv_rows__amx, qconv_indirect__avx512vnni},
};

}  // namespace

std::span<const QConvDwVariant> qconv_dw_variants() { return dw_variants; }

const QConvDwVariant& qconv_dw_select(Isa isa) { return select_variant(qconv_dw_variants(), isa); }

std::span<const QConvVariant> qconv_variants() { return conv_variants; }

const QConvVariant& qconv_select(Isa isa) { return select_variant(qconv_variants(), isa); }

std::size_t qconv_packed_size(const QConvShape& s) {
  if (s.depthwise()) return qconv_dw::packed_bytes(s);
  return s.groups * group_bytes(s);
}

void qconv_pack(const QConvShape& s, const std::int8_t* w, void* packed) {
  auto* dst = static_cast<std::uint8_t*>(packed);
  if (s.depthwise()) {
    const std::size_t T = qconv_dw::taps(s), wb = qconv_dw::weight_bytes(s);
    std::memset(dst, 0, qconv_dw::packed_bytes(s));
    auto* wt = reinterpret_cast<std::int8_t*>(dst);
    auto* wsum = reinterpret_cast<std::int32_t*>(dst + wb);
    for (std::size_t c = 0; c < s.in_c; ++c) {
      std::int32_t sum = 0;
      for (std::size_t t = 0; t < T; ++t) {
        wt[qconv_dw::weight_index(T, c, t)] = w[c * T + t];
        sum += w[c * T + t];
      }
      wsum[c] = sum;
    }
    return;
  }
  const std::size_t K = gemm_k(s), og = s.out_c / s.groups;
  for (std::size_t g = 0; g < s.groups; ++g) qgemm_pack_b(w + g * og * K, K, og, K, dst + g * group_bytes(s));
}

namespace {

// The direct AMX kernel reads a zero-point-padded copy of the input rows it needs when one
// padded image fits in this much scratch (every tap tile is then one strided load). Larger
// images gather their edge tiles instead: copying them costs more than it saves (measured on
// super_resolution's 224×224×64 layers).
constexpr std::size_t amx_pad_limit = 1u << 20;

// Shapes of the direct AMX kernel (qconv_rows__amx).
bool direct_shape(const QConvShape& s) {
  return s.groups == 1 && s.in_c % 64 == 0 && s.in_c <= qconv_amx_max_in_c && !s.pointwise() && !s.depthwise();
}

std::size_t padded_image_bytes(const QConvShape& s) {
  return (s.in_h + s.pad_t + s.pad_b) * (s.in_w + s.pad_l + s.pad_r) * s.in_c;
}

bool amx_padded(const QConvShape& s, const QConvVariant& v) {
  return v.direct_rows && direct_shape(s) && padded_image_bytes(s) <= amx_pad_limit;
}

}  // namespace

std::size_t qconv_scratch_size(const QConvShape& s, Isa isa) {
  if (s.depthwise() || s.pointwise()) return 0;
  const std::size_t im2col = align64(im2col_rows(s) * im2col_ld(s) + im2col_slack);
  return amx_padded(s, qconv_select(isa)) ? std::max(im2col, align64(padded_image_bytes(s))) : im2col;
}

namespace {

// K×K (or strided / padded 1×1) convolution of pixels [p0, p1) through im2col + qgemm.
void qconv_im2col(const QGemmVariant& v, const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x,
                  const void* packed, void* y, void* scratch, std::size_t p0, std::size_t p1) {
  const std::size_t K = im2col_ld(s), og = s.out_c / s.groups;
  QGemmParams p = epi;
  p.n = og;
  p.k = K;  // whole quads: the packed weights past gemm_k are zero
  p.ldc = s.out_c;
  const std::size_t es = elem_size(epi.output);
  auto* col = static_cast<std::uint8_t*>(scratch);
  const std::size_t chunk = im2col_rows(s);
  for (std::size_t r0 = p0; r0 < p1; r0 += chunk) {
    const std::size_t r1 = std::min(p1, r0 + chunk);
    for (std::size_t g = 0; g < s.groups; ++g) {
      im2col(s, x, g, static_cast<std::uint8_t>(epi.a_zp), r0, r1, col);
      const std::size_t c0 = g * og;
      p.m = r1 - r0;
      p.a = col;
      p.lda = K;
      p.packed_b = static_cast<const std::uint8_t*>(packed) + g * group_bytes(s);
      p.c = static_cast<std::uint8_t*>(y) + (r0 * s.out_c + c0) * es;
      p.bias32 = epi.bias32 ? epi.bias32 + c0 : nullptr;
      p.bias_f32 = epi.bias_f32 ? epi.bias_f32 + c0 : nullptr;
      if (epi.per_channel) {
        p.multiplier = epi.multiplier ? epi.multiplier + c0 : nullptr;
        p.w_scale = epi.w_scale ? epi.w_scale + c0 : nullptr;
      }
      v.fn(p, 0, r1 - r0, 0, og);
    }
  }
}

// Output rows [ra, rb) (of the flattened N·OH rows) on the direct AMX kernel, image by
// image, from a copy of the input rows they read with the padding filled with a_zp.
void direct_padded(const QConvVariant& v, const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x,
                   const void* packed, void* y, void* scratch, std::size_t ra, std::size_t rb) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), C = s.in_c;
  const std::size_t hp = s.in_h + s.pad_t + s.pad_b, wp = s.in_w + s.pad_l + s.pad_r;
  const std::uint8_t zp = static_cast<std::uint8_t>(epi.a_zp);
  auto* xp = static_cast<std::uint8_t*>(scratch);
  QConvShape t = s;  // the padded image: same output, no padding
  t.batch = 1;
  t.in_h = hp;
  t.in_w = wp;
  t.pad_t = t.pad_l = t.pad_b = t.pad_r = 0;
  const std::size_t es = elem_size(epi.output);
  for (std::size_t b = ra / oh; b * oh < rb; ++b) {
    const std::size_t r0 = std::max(ra, b * oh) - b * oh, r1 = std::min(rb, (b + 1) * oh) - b * oh;
    // Padded input rows read by output rows [r0, r1).
    const std::size_t y0 = r0 * s.stride_h, y1 = (r1 - 1) * s.stride_h + (s.kh - 1) * s.dil_h + 1;
    for (std::size_t py = y0; py < y1; ++py) {
      std::uint8_t* row = xp + py * wp * C;
      const long iy = long(py) - long(s.pad_t);
      if (iy < 0 || iy >= long(s.in_h)) {
        std::memset(row, zp, wp * C);
        continue;
      }
      std::memset(row, zp, s.pad_l * C);
      std::memcpy(row + s.pad_l * C, x + ((b * s.in_h + std::size_t(iy)) * s.in_w) * C, s.in_w * C);
      std::memset(row + (s.pad_l + s.in_w) * C, zp, s.pad_r * C);
    }
    v.direct_rows(t, epi, xp, packed, static_cast<std::uint8_t*>(y) + b * oh * ow * s.out_c * es, r0, r1);
  }
}

bool indirect_vnni(const QConvShape& s) {
  return s.groups == 1 && s.in_c % 4 == 0 && s.in_c <= qconv_indirect_max_in_c &&
         s.kh * s.kw <= qconv_indirect_max_taps;
}

// The variants one tier selects.
struct Kernels {
  const QGemmVariant& gemm;
  const QConvVariant& conv;
};

// Pixels [p0, p1) of a K×K (or strided / padded 1×1) convolution.
void qconv_gathered(const Kernels& k, const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x,
                    const void* packed, void* y, void* scratch, std::size_t p0, std::size_t p1) {
  if (k.conv.indirect && indirect_vnni(s)) k.conv.indirect(s, epi, x, packed, y, p0, p1);
  else qconv_im2col(k.gemm, s, epi, x, packed, y, scratch, p0, p1);
}

}  // namespace

void qconv(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x, const void* packed, void* y,
           void* scratch, std::size_t p0, std::size_t p1, Isa isa) {
  if (s.depthwise()) {
    qconv_dw_select(isa).fn(s, epi, x, packed, y, p0, p1);
    return;
  }
  const Kernels k{qgemm_select(isa), qconv_select(isa)};
  if (s.pointwise()) {  // the input is the GEMM's A matrix (one group)
    QGemmParams p = epi;
    p.m = s.batch * s.out_h() * s.out_w();
    p.n = s.out_c;
    p.k = s.in_c;
    p.a = x;
    p.lda = s.in_c;
    p.packed_b = packed;
    p.c = y;
    p.ldc = s.out_c;
    k.gemm.fn(p, p0, p1, 0, s.out_c);
    return;
  }
  if (k.conv.direct_rows && direct_shape(s)) {
    // Whole output rows run on the direct AMX kernel; the ends of a range that cut a row
    // go through the indirect VNNI kernel (or im2col).
    const std::size_t ow = s.out_w(), ra = (p0 + ow - 1) / ow, rb = p1 / ow;
    if (ra < rb) {
      if (p0 < ra * ow) qconv_gathered(k, s, epi, x, packed, y, scratch, p0, ra * ow);
      if (amx_padded(s, k.conv)) direct_padded(k.conv, s, epi, x, packed, y, scratch, ra, rb);
      else k.conv.direct_rows(s, epi, x, packed, y, ra, rb);
      if (rb * ow < p1) qconv_gathered(k, s, epi, x, packed, y, scratch, rb * ow, p1);
      return;
    }
  }
  qconv_gathered(k, s, epi, x, packed, y, scratch, p0, p1);
}

}  // namespace mq::kernels
