// qconv: weight packing, im2col lowering onto qgemm, depthwise dispatch.
#include "kernels/qconv.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/qconv_dw_internal.h"
#include "kernels/qgemm_internal.h"

namespace mq::kernels {
using namespace qgemm_detail;

namespace {

constexpr std::size_t im2col_rows = 96;  // output pixels gathered per qgemm call

std::size_t gemm_k(const QConvShape& s) { return s.kh * s.kw * (s.in_c / s.groups); }
std::size_t group_bytes(const QConvShape& s) {
  return align64(qgemm_packed_size(s.out_c / s.groups, gemm_k(s)));
}
std::size_t elem_size(QGemmOutput o) {
  return o == QGemmOutput::u8 || o == QGemmOutput::s8 ? 1 : 4;
}

// Rows [r0, r1) of the im2col matrix of group g (row stride K); padding reads a_zp.
void im2col(const QConvShape& s, const std::uint8_t* x, std::size_t g, std::uint8_t zp,
            std::size_t r0, std::size_t r1, std::uint8_t* out) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), cg = s.in_c / s.groups, K = gemm_k(s);
  for (std::size_t r = r0; r < r1; ++r) {
    const std::size_t b = r / (oh * ow), oy = (r / ow) % oh, ox = r % ow;
    std::uint8_t* dst = out + (r - r0) * K;
    for (std::size_t ky = 0; ky < s.kh; ++ky) {
      const long iy = long(oy * s.stride_h + ky * s.dil_h) - long(s.pad_t);
      for (std::size_t kx = 0; kx < s.kw; ++kx, dst += cg) {
        const long ix = long(ox * s.stride_w + kx * s.dil_w) - long(s.pad_l);
        if (iy < 0 || ix < 0 || iy >= long(s.in_h) || ix >= long(s.in_w))
          std::memset(dst, zp, cg);
        else
          std::memcpy(dst, x + ((b * s.in_h + iy) * s.in_w + ix) * s.in_c + g * cg, cg);
      }
    }
  }
}

}  // namespace

// Portable depthwise kernel (the scalar tier, and the fallback of the SIMD tiers for
// parameters their shortcuts do not cover): per 64-channel block and chunk of pixels, one
// tap at a time with the tap's weights unpacked to natural order; padding taps are skipped.
void qconv_dw_generic(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x,
                      const void* packed, void* y, std::size_t p0, std::size_t p1) {
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
                a[c] += static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<std::int16_t>(
                    static_cast<std::int16_t>(xp[c] - zp16) * w[c])));
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
            f = f < lo ? lo : (f > hi ? hi : f);
            out[c] = static_cast<std::uint8_t>(static_cast<std::int32_t>(std::nearbyint(f)) + ozp);
          }
        } else {
          for (std::size_t c = 0; c < cn; ++c) store_one(p, q0 + q, c0 + c, v[c]);
        }
      }
    }
  }
}

void qconv_depthwise(Isa isa, const QConvShape& s, const QGemmParams& epi,
                     const std::uint8_t* x, const void* packed, void* y, std::size_t p0,
                     std::size_t p1) {
  switch (isa) {
    case Isa::avx512vnni: qconv_dw__avx512vnni(s, epi, x, packed, y, p0, p1); break;
    case Isa::avxvnni: qconv_dw__avxvnni(s, epi, x, packed, y, p0, p1); break;
    case Isa::avx2: qconv_dw__avx2(s, epi, x, packed, y, p0, p1); break;
    case Isa::scalar: qconv_dw_generic(s, epi, x, packed, y, p0, p1); break;
  }
}

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
  for (std::size_t g = 0; g < s.groups; ++g)
    qgemm_pack_b(w + g * og * K, K, og, K, dst + g * group_bytes(s));
}

std::size_t qconv_scratch_size(const QConvShape& s) {
  if (s.depthwise() || s.pointwise()) return 0;
  return align64(im2col_rows * gemm_k(s));
}

void qconv(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x,
           const void* packed, void* y, void* scratch, std::size_t p0, std::size_t p1) {
  if (s.depthwise()) {
    qconv_depthwise(active_isa(), s, epi, x, packed, y, p0, p1);
    return;
  }
  const QGemmVariant& v = qgemm_active();
  const std::size_t K = gemm_k(s), og = s.out_c / s.groups;
  QGemmParams p = epi;
  p.n = og;
  p.k = K;
  p.ldc = s.out_c;
  if (s.pointwise()) {
    p.m = s.batch * s.out_h() * s.out_w();
    p.a = x;
    p.lda = s.in_c;
    p.packed_b = packed;
    p.c = y;
    v.fn(p, p0, p1, 0, og);
    return;
  }
  const std::size_t es = elem_size(epi.output);
  auto* col = static_cast<std::uint8_t*>(scratch);
  for (std::size_t r0 = p0; r0 < p1; r0 += im2col_rows) {
    const std::size_t r1 = std::min(p1, r0 + im2col_rows);
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

}  // namespace mq::kernels
