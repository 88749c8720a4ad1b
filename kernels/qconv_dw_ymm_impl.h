// Depthwise Conv2d on ymm registers, one output pixel at a time: a 64-channel block is two
// 32-channel halves of 4 phase accumulators each (layout in qconv_dw_internal.h). Included
// by qconv_dw__avx2.cpp (vpmaddubsw + vpmaddwd per phase: each 16-bit pair holds one product and
// a zero, so nothing saturates) and qconv_dw__avxvnni.cpp (MQ_DW_VNNI: one vpdpbusd).
// Defines MQ_DW_ENTRY(s, epi, x, packed, y, p0, p1) in namespace mq::kernels.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/qconv_dw_internal.h"

namespace mq::kernels {
namespace {
using namespace qgemm_detail;
using namespace qconv_dw;

#define MQ_INLINE inline __attribute__((always_inline))

struct Block {
  const QGemmParams* p;
  const std::uint8_t* w;    // this block's T records of 256 bytes
  const long* off;          // per-tap byte offsets (interior pixels)
  std::size_t T, C, c0, n;  // taps, channels, first channel, valid channels (≤ 64)
  const BlockConsts* k;
  const std::uint8_t* x_end;  // end of the input (tail loads must not read past it)
};

MQ_INLINE __m256i dot(__m256i acc, __m256i x, const std::uint8_t* w) {
  const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
#ifdef MQ_DW_VNNI
  return _mm256_dpbusd_avx_epi32(acc, x, wv);
#else
  const __m256i prod = _mm256_madd_epi16(_mm256_maddubs_epi16(x, wv), _mm256_set1_epi16(1));
  return _mm256_add_epi32(acc, prod);
#endif
}

// 32 activation bytes of half h; for a partial half, bytes past the valid channels are
// don't-care (their weights are 0) but must not be read past the end of the input.
template <bool Tail>
MQ_INLINE __m256i load_x(const Block& bk, const std::uint8_t* a, std::size_t h) {
  a += 32 * h;
  if (!Tail || bk.n >= 32 * (h + 1) ||
      reinterpret_cast<std::uintptr_t>(a) + 32 <= reinterpret_cast<std::uintptr_t>(bk.x_end))
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
  alignas(32) std::uint8_t tmp[32] = {};
  std::memcpy(tmp, a, bk.n - 32 * h);
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(tmp));
}

MQ_INLINE __m256i dword_mask(std::size_t n, std::size_t first) {
  const int r = n > first ? int(std::min<std::size_t>(8, n - first)) : 0;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// a_j[i] = channel 4i + j (i < 8) → out_v[m] = channel 8v + m.
MQ_INLINE void transpose(__m256i a[4]) {
  const __m256i t0 = _mm256_unpacklo_epi32(a[0], a[1]), t1 = _mm256_unpackhi_epi32(a[0], a[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(a[2], a[3]), t3 = _mm256_unpackhi_epi32(a[2], a[3]);
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  a[0] = _mm256_permute2x128_si256(u0, u1, 0x20);
  a[1] = _mm256_permute2x128_si256(u2, u3, 0x20);
  a[2] = _mm256_permute2x128_si256(u0, u1, 0x31);
  a[3] = _mm256_permute2x128_si256(u2, u3, 0x31);
}

// Writes the 32 channels of half h of one pixel.
template <bool Tail>
MQ_INLINE void epilogue(const Block& bk, std::size_t pix, std::size_t h, __m256i a0, __m256i a1, __m256i a2,
                        __m256i a3) {
  const QGemmParams& p = *bk.p;
  __m256i acc[4] = {a0, a1, a2, a3};
  const std::size_t first = 32 * h;  // first channel of the half within the block
  switch (p.output) {
    case QGemmOutput::u8:
    case QGemmOutput::s8: {
      const __m256 lo = _mm256_set1_ps(static_cast<float>(p.qmin - p.out_zp));
      const __m256 hi = _mm256_set1_ps(static_cast<float>(p.qmax - p.out_zp));
      __m256i q[4];
      for (int j = 0; j < 4; ++j) {
        __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[j]), _mm256_load_ps(bk.k->scale + 16 * j + 8 * h));
        if (!bk.k->saturate) f = _mm256_min_ps(_mm256_max_ps(f, lo), hi);
        q[j] = _mm256_cvtps_epi32(f);
      }
      // Exact packs and a no-op byte clamp, or saturating steps (saturating_clamp).
      const __m256i zp = _mm256_set1_epi16(static_cast<short>(p.out_zp));
      const __m256i a = _mm256_adds_epi16(_mm256_packs_epi32(q[0], q[1]), zp);
      const __m256i b = _mm256_adds_epi16(_mm256_packs_epi32(q[2], q[3]), zp);
      __m256i r;
      if (p.output == QGemmOutput::u8) {
        r = _mm256_packus_epi16(a, b);
        r = _mm256_min_epu8(_mm256_max_epu8(r, _mm256_set1_epi8(char(p.qmin))), _mm256_set1_epi8(char(p.qmax)));
      } else {
        r = _mm256_packs_epi16(a, b);
        r = _mm256_min_epi8(_mm256_max_epi8(r, _mm256_set1_epi8(char(p.qmin))), _mm256_set1_epi8(char(p.qmax)));
      }
      const __m256i idx = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 0, 4, 8, 12, 1, 5,
                                           9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
      r = _mm256_shuffle_epi8(r, idx);
      std::uint8_t* dst = static_cast<std::uint8_t*>(p.c) + pix * bk.C + bk.c0 + first;
      if (Tail && bk.n < first + 32) {
        alignas(32) std::uint8_t tmp[32];
        _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), r);
        std::memcpy(dst, tmp, bk.n - first);
      } else {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), r);
      }
      break;
    }
    case QGemmOutput::f32: {
      __m256i f[4];
      for (int j = 0; j < 4; ++j) {
        __m256 x = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[j]), _mm256_load_ps(bk.k->scale + 16 * j + 8 * h));
        if (p.bias_f32) x = _mm256_add_ps(x, _mm256_load_ps(bk.k->fbias + 16 * j + 8 * h));
        f[j] = _mm256_castps_si256(x);
      }
      transpose(f);
      float* dst = static_cast<float*>(p.c) + pix * bk.C + bk.c0 + first;
      for (int v = 0; v < 4; ++v) {
        __m256 x = _mm256_castsi256_ps(f[v]);
        if (Tail) {
          const __m256i m = dword_mask(bk.n, first + 8 * v);
          if (p.accumulate) x = _mm256_add_ps(_mm256_maskload_ps(dst + 8 * v, m), x);
          _mm256_maskstore_ps(dst + 8 * v, m, x);
        } else {
          if (p.accumulate) x = _mm256_add_ps(_mm256_loadu_ps(dst + 8 * v), x);
          _mm256_storeu_ps(dst + 8 * v, x);
        }
      }
      break;
    }
    case QGemmOutput::s32: {
      transpose(acc);
      std::int32_t* dst = static_cast<std::int32_t*>(p.c) + pix * bk.C + bk.c0 + first;
      for (int v = 0; v < 4; ++v) {
        if (Tail) _mm256_maskstore_epi32(dst + 8 * v, dword_mask(bk.n, first + 8 * v), acc[v]);
        else _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8 * v), acc[v]);
      }
      break;
    }
  }
}

// One output pixel, halves 0..NH-1 of the block. Interior: tap t at src[0] + off[t]; else
// src holds the T tap pointers (a_zp row for padding taps).
// KT: the tap count when known at compile time (the tap loop is then fully unrolled), else 0.
template <int NH, bool Interior, bool Tail, int KT>
__attribute__((noinline)) void pixel(const Block& bk, const std::uint8_t* const* src, std::size_t pix) {
  __m256i acc[NH][4];
  for (int h = 0; h < NH; ++h)
    for (int j = 0; j < 4; ++j)
      acc[h][j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(bk.k->comp + 16 * j + 8 * h));
  const std::uint8_t* w = bk.w;
  const std::size_t T = KT ? std::size_t(KT) : bk.T;
#pragma GCC unroll 32
  for (std::size_t t = 0; t < T; ++t, w += 256) {
    const std::uint8_t* a = Interior ? src[0] + bk.off[t] : src[t];
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) {
      const __m256i xv = load_x<Tail>(bk, a, h);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) acc[h][j] = dot(acc[h][j], xv, w + 64 * j + 32 * h);
    }
  }
  for (int h = 0; h < NH; ++h) epilogue<Tail>(bk, pix, h, acc[h][0], acc[h][1], acc[h][2], acc[h][3]);
}

template <bool Interior, int KT>
MQ_INLINE void run_taps(const Block& bk, const std::uint8_t* const* src, std::size_t pix) {
  if (bk.n == block) pixel<2, Interior, false, KT>(bk, src, pix);
  else if (bk.n > 32) pixel<2, Interior, true, KT>(bk, src, pix);
  else pixel<1, Interior, true, KT>(bk, src, pix);
}

template <bool Interior>
MQ_INLINE void run(const Block& bk, const std::uint8_t* const* src, std::size_t pix) {
#ifdef MQ_DW_VNNI  // unrolled 3×3 (measured faster with vpdpbusd, slower with maddubs+madd)
  if (bk.T == 9) return run_taps<Interior, 9>(bk, src, pix);
#endif
  run_taps<Interior, 0>(bk, src, pix);
}

}  // namespace

void MQ_DW_ENTRY(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x, const void* packed, void* y,
                 std::size_t p0, std::size_t p1) {
  if (!simd_exact(s, epi)) return qconv_dw_generic(s, epi, x, packed, y, p0, p1);
  const std::size_t oh = s.out_h(), ow = s.out_w(), C = s.in_c, T = taps(s);
  const std::size_t H = s.in_h, W = s.in_w;
  const long ext_h = long((s.kh - 1) * s.dil_h), ext_w = long((s.kw - 1) * s.dil_w);
  alignas(64) std::uint8_t zrow[block];
  std::memset(zrow, epi.a_zp, sizeof zrow);
  long off[max_taps];
  for (std::size_t ky = 0; ky < s.kh; ++ky)
    for (std::size_t kx = 0; kx < s.kw; ++kx) off[ky * s.kw + kx] = long((ky * s.dil_h * W + kx * s.dil_w) * C);
  const std::int32_t* wsum = weight_sums(s, packed);
  BlockConsts k;
  const std::uint8_t* ptrs[max_taps];
  QGemmParams p = epi;
  p.c = y;
  const std::uint8_t* x_end = x + s.batch * H * W * C;
  for (std::size_t c0 = 0; c0 < C; c0 += block) {
    block_consts(s, epi, wsum, c0, &k);
    const Block bk{&p,
                   static_cast<const std::uint8_t*>(packed) + (c0 / block) * T * 256,
                   off,
                   T,
                   C,
                   c0,
                   std::min(block, C - c0),
                   &k,
                   x_end};
    std::size_t b = p0 / (oh * ow), oy = (p0 / ow) % oh, ox = p0 % ow;
    for (std::size_t pix = p0; pix < p1; ++pix) {
      const long iy0 = long(oy * s.stride_h) - long(s.pad_t);
      const long ix0 = long(ox * s.stride_w) - long(s.pad_l);
      if (iy0 >= 0 && ix0 >= 0 && iy0 + ext_h < long(H) && ix0 + ext_w < long(W)) {
        const std::uint8_t* base = x + ((b * H + std::size_t(iy0)) * W + std::size_t(ix0)) * C + c0;
        run<true>(bk, &base, pix);
      } else {
        for (std::size_t ky = 0; ky < s.kh; ++ky) {
          const long iy = iy0 + long(ky * s.dil_h);
          for (std::size_t kx = 0; kx < s.kw; ++kx) {
            const long ix = ix0 + long(kx * s.dil_w);
            const bool in = iy >= 0 && ix >= 0 && iy < long(H) && ix < long(W);
            ptrs[ky * s.kw + kx] = in ? x + ((b * H + std::size_t(iy)) * W + std::size_t(ix)) * C + c0 : zrow;
          }
        }
        run<false>(bk, ptrs, pix);
      }
      if (++ox == ow) {
        ox = 0;
        if (++oy == oh) oy = 0, ++b;
      }
    }
  }
}

}  // namespace mq::kernels
