#include "kernels/int8/integer_ops.h"

#include "kernels/qgemm.h"

#include <algorithm>
#include <cmath>

namespace mq::kernels {

namespace {

inline std::int32_t load(const void* base, Int8Type t, std::size_t i) {
  return t == Int8Type::u8 ? std::int32_t(static_cast<const std::uint8_t*>(base)[i])
                           : std::int32_t(static_cast<const std::int8_t*>(base)[i]);
}

// Wrapping int32 multiply-add (the ops define accumulation modulo 2^32).
inline std::int32_t mac(std::int32_t acc, std::int32_t a, std::int32_t b) {
  return std::int32_t(std::uint32_t(acc) + std::uint32_t(a) * std::uint32_t(b));
}

template <class TA, class TB>
void matmul_t(const IntMatMulParams& p) {
  const TA* a = static_cast<const TA*>(p.a);
  const TB* b = static_cast<const TB*>(p.b);
  for (std::size_t i = 0; i < p.m; ++i) {
    std::int32_t* y = p.y + i * p.ldy;
    std::fill(y, y + p.n, 0);
    const std::int32_t azp = p.a_zp ? p.a_zp[i * p.a_zp_stride] : 0;
    for (std::size_t kk = 0; kk < p.k; ++kk) {
      const std::int32_t av = std::int32_t(a[i * p.lda + kk]) - azp;
      if (av == 0) continue;
      const TB* brow = b + kk * p.ldb;
      if (!p.b_zp) {
        for (std::size_t j = 0; j < p.n; ++j) y[j] = mac(y[j], av, std::int32_t(brow[j]));
      } else {
        for (std::size_t j = 0; j < p.n; ++j)
          y[j] = mac(y[j], av, std::int32_t(brow[j]) - p.b_zp[j * p.b_zp_stride]);
      }
    }
  }
}

}  // namespace

void matmul_integer(const IntMatMulParams& p) {
  const bool au = p.a_type == Int8Type::u8, bu = p.b_type == Int8Type::u8;
  if (au && bu) matmul_t<std::uint8_t, std::uint8_t>(p);
  else if (au) matmul_t<std::uint8_t, std::int8_t>(p);
  else if (bu) matmul_t<std::int8_t, std::uint8_t>(p);
  else matmul_t<std::int8_t, std::int8_t>(p);
}

void conv_integer(const IntConvParams& p) {
  const std::int64_t cg = p.c / p.group, mg = p.m / p.group;
  for (std::int64_t b = 0; b < p.n; ++b) {
    for (std::int64_t oc = 0; oc < p.m; ++oc) {
      const std::int64_t g = oc / mg;
      const std::int32_t wzp = p.w_zp ? p.w_zp[std::size_t(oc) * p.w_zp_stride] : 0;
      std::int32_t* y = p.y + (b * p.m + oc) * p.oh * p.ow;
      for (std::int64_t oy = 0; oy < p.oh; ++oy) {
        for (std::int64_t ox = 0; ox < p.ow; ++ox) {
          std::int32_t acc = 0;
          for (std::int64_t ic = 0; ic < cg; ++ic) {
            const std::size_t xbase = std::size_t(((b * p.c) + g * cg + ic) * p.h * p.w);
            const std::size_t wbase = std::size_t(((oc * cg) + ic) * p.kh * p.kw);
            for (std::int64_t ky = 0; ky < p.kh; ++ky) {
              const std::int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
              if (iy < 0 || iy >= p.h) continue;
              for (std::int64_t kx = 0; kx < p.kw; ++kx) {
                const std::int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
                if (ix < 0 || ix >= p.w) continue;
                const std::int32_t xv = load(p.x, p.x_type, xbase + std::size_t(iy * p.w + ix)) - p.x_zp;
                const std::int32_t wv = load(p.wt, p.w_type, wbase + std::size_t(ky * p.kw + kx)) - wzp;
                acc = mac(acc, xv, wv);
              }
            }
          }
          y[oy * p.ow + ox] = acc;
        }
      }
    }
  }
}

void requantize_i32(const std::int32_t* acc, std::size_t n, std::int32_t bias, float multiplier, std::int32_t zp,
                    Int8Type type, void* y) {
  const std::int32_t lo = type == Int8Type::u8 ? 0 : -128, hi = lo + 255;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t a = std::int32_t(std::uint32_t(acc[i]) + std::uint32_t(bias));
    const std::int32_t v = requantize_value(a, multiplier, zp, lo, hi);
    if (type == Int8Type::u8) static_cast<std::uint8_t*>(y)[i] = std::uint8_t(v);
    else static_cast<std::int8_t*>(y)[i] = std::int8_t(v);
  }
}

}  // namespace mq::kernels
