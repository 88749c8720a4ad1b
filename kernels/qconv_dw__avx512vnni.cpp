// Depthwise Conv2d on AVX512-VNNI. Per 64-channel block (outer loop) and group of 4 output
// pixels: 16 zmm accumulators (4 pixels × 4 phases, see qconv_dw_internal.h) initialised
// with bias32 − a_zp·Σw; per tap 4 weight vectors and one vpdpbusd per pixel and phase on the
// natural activation bytes. Interior pixels address taps by fixed offsets; border pixels go
// through tap pointers (padding taps read a row of a_zp bytes), queued into groups across
// rows. A block of ≤ 32 channels holds two pixels per zmm (groups of 8). The epilogue runs in
// phase order and restores channel order with packs + one vpshufb (u8/s8) or a 4×16 dword
// transpose (f32/s32). 3×3 and 5×5 tap loops are fully unrolled.
#include <immintrin.h>

// GCC 12 flags the self-initialised placeholders inside its own AVX-512 headers.
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <algorithm>
#include <cstring>

#include "kernels/qconv_dw_internal.h"

namespace mq::kernels {
namespace {
using namespace qgemm_detail;
using namespace qconv_dw;

#define MQ_INLINE inline __attribute__((always_inline))

/// What the pixel-group kernels need about one channel block.
struct Block {
  const QGemmParams* p;
  const std::uint8_t* w;    // this block's T records of 256 bytes
  const long* off;          // per-tap byte offsets from a pixel's first tap (interior pixels)
  std::size_t T, C, c0, n;  // taps, channels, first channel, valid channels (≤ 64)
  const BlockConsts* k;
  long xstep;               // bytes between the first taps of neighbouring output pixels in a row
  float lo, hi;             // clamp bounds minus out_zp (u8/s8)
  short zp;                 // out_zp (u8/s8, added in int16)
  const std::size_t* pixs;  // output pixel of each slot of a border group (tap pointers)
};

// Natural order of dwords from phase order: a_j[i] = channel 4i + j → out_n[m] = channel 16n + m.
MQ_INLINE void transpose(__m512i a[4]) {
  const __m512i t0 = _mm512_unpacklo_epi32(a[0], a[1]), t1 = _mm512_unpackhi_epi32(a[0], a[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(a[2], a[3]), t3 = _mm512_unpackhi_epi32(a[2], a[3]);
  const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
  const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
  const __m512i v0 = _mm512_shuffle_i32x4(u0, u1, 0x44), v1 = _mm512_shuffle_i32x4(u0, u1, 0xEE);
  const __m512i v2 = _mm512_shuffle_i32x4(u2, u3, 0x44), v3 = _mm512_shuffle_i32x4(u2, u3, 0xEE);
  a[0] = _mm512_shuffle_i32x4(v0, v2, 0x88);
  a[1] = _mm512_shuffle_i32x4(v0, v2, 0xDD);
  a[2] = _mm512_shuffle_i32x4(v1, v3, 0x88);
  a[3] = _mm512_shuffle_i32x4(v1, v3, 0xDD);
}

MQ_INLINE __mmask16 mask16(std::size_t n, std::size_t v) {
  const std::size_t r = n > 16 * v ? std::min<std::size_t>(16, n - 16 * v) : 0;
  return static_cast<__mmask16>((1u << r) - 1);
}

// Per-channel constants of phase j: 16 channels, or (Pair) the block's first 32 channels'
// 8 entries in both 256-bit halves.
template <bool Pair>
MQ_INLINE __m512 phase_ps(const float* v, int j) {
  return Pair ? _mm512_broadcast_f32x8(_mm256_load_ps(v + 16 * j)) : _mm512_load_ps(v + 16 * j);
}

// Writes the 64 channels of pixel pix from its 4 phase accumulators, or (Pair, ≤ 32 valid
// channels) channels 0..31 of pixel pix from the low halves and of pixel pix2 from the high.
template <bool Tail, QGemmOutput O, bool Pair>
MQ_INLINE void epilogue(const Block& bk, std::size_t pix, std::size_t pix2, __m512i a0, __m512i a1, __m512i a2,
                        __m512i a3) {
  const QGemmParams& p = *bk.p;
  __m512i acc[4] = {a0, a1, a2, a3};
  switch (O) {
    case QGemmOutput::u8:
    case QGemmOutput::s8: {
      const __m512 lo = _mm512_set1_ps(bk.lo), hi = _mm512_set1_ps(bk.hi);
      __m512i q[4];
      for (int j = 0; j < 4; ++j) {
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[j]), phase_ps<Pair>(bk.k->scale, j));
        if (!bk.k->saturate) f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
        q[j] = _mm512_cvtps_epi32(f);
      }
      // Either q lies in [qmin − out_zp, qmax − out_zp] ⊂ int16 with q + out_zp in the output
      // type (simd_exact), so the packs are exact and the byte clamp a no-op; or the
      // saturating steps clamp (saturating_clamp).
      const __m512i zp = _mm512_set1_epi16(bk.zp);
      const __m512i a = _mm512_adds_epi16(_mm512_packs_epi32(q[0], q[1]), zp);
      const __m512i b = _mm512_adds_epi16(_mm512_packs_epi32(q[2], q[3]), zp);
      __m512i r;
      if (O == QGemmOutput::u8) {
        r = _mm512_packus_epi16(a, b);
        r = _mm512_min_epu8(_mm512_max_epu8(r, _mm512_set1_epi8(char(p.qmin))), _mm512_set1_epi8(char(p.qmax)));
      } else {
        r = _mm512_packs_epi16(a, b);
        r = _mm512_min_epi8(_mm512_max_epi8(r, _mm512_set1_epi8(char(p.qmin))), _mm512_set1_epi8(char(p.qmax)));
      }
      // Lane bytes are [q0 ×4, q1 ×4, q2 ×4, q3 ×4]: byte 4j + k is channel 4k + j of the lane.
      const __m512i idx =
          _mm512_broadcast_i32x4(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
      r = _mm512_shuffle_epi8(r, idx);
      std::uint8_t* dst = static_cast<std::uint8_t*>(p.c) + pix * bk.C + bk.c0;
      if (Pair) {
        const __mmask32 m32 = _cvtu32_mask32(bk.n >= 32 ? ~0u : (1u << bk.n) - 1);
        std::uint8_t* dst2 = static_cast<std::uint8_t*>(p.c) + pix2 * bk.C + bk.c0;
        _mm256_mask_storeu_epi8(dst, m32, _mm512_castsi512_si256(r));
        _mm256_mask_storeu_epi8(dst2, m32, _mm512_extracti64x4_epi64(r, 1));
      } else if (Tail) _mm512_mask_storeu_epi8(dst, _cvtu64_mask64(bk.n >= 64 ? ~0ull : (1ull << bk.n) - 1), r);
      else _mm512_storeu_si512(dst, r);
      break;
    }
    case QGemmOutput::f32: {
      __m512i f[4];
      for (int j = 0; j < 4; ++j) {
        __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[j]), phase_ps<Pair>(bk.k->scale, j));
        if (p.bias_f32) x = _mm512_add_ps(x, phase_ps<Pair>(bk.k->fbias, j));
        f[j] = _mm512_castps_si512(x);
      }
      transpose(f);
      float* dst = static_cast<float*>(p.c) + pix * bk.C + bk.c0;
      float* dst2 = static_cast<float*>(p.c) + pix2 * bk.C + bk.c0;
      for (int v = 0; v < 4; ++v) {
        __m512 x = _mm512_castsi512_ps(f[v]);
        if (Pair) {  // f[0], f[1]: pixel pix channels 0..31; f[2], f[3]: pixel pix2
          float* d = (v < 2 ? dst : dst2) + 16 * (v % 2);
          const __mmask16 m = mask16(bk.n, v % 2);
          if (p.accumulate) x = _mm512_add_ps(_mm512_maskz_loadu_ps(m, d), x);
          _mm512_mask_storeu_ps(d, m, x);
        } else if (Tail) {
          const __mmask16 m = mask16(bk.n, v);
          if (p.accumulate) x = _mm512_add_ps(_mm512_maskz_loadu_ps(m, dst + 16 * v), x);
          _mm512_mask_storeu_ps(dst + 16 * v, m, x);
        } else {
          if (p.accumulate) x = _mm512_add_ps(_mm512_loadu_ps(dst + 16 * v), x);
          _mm512_storeu_ps(dst + 16 * v, x);
        }
      }
      break;
    }
    case QGemmOutput::s32: {
      transpose(acc);
      std::int32_t* dst = static_cast<std::int32_t*>(p.c) + pix * bk.C + bk.c0;
      std::int32_t* dst2 = static_cast<std::int32_t*>(p.c) + pix2 * bk.C + bk.c0;
      for (int v = 0; v < 4; ++v) {
        if (Pair) _mm512_mask_storeu_epi32((v < 2 ? dst : dst2) + 16 * (v % 2), mask16(bk.n, v % 2), acc[v]);
        else if (Tail) _mm512_mask_storeu_epi32(dst + 16 * v, mask16(bk.n, v), acc[v]);
        else _mm512_storeu_si512(dst + 16 * v, acc[v]);
      }
      break;
    }
  }
}

// One group of P output pixels from pix. Interior: pixel q's first tap is first + q·xstep and
// tap t lies off[t] beyond; else src holds P·T tap pointers (the a_zp row for padding taps)
// and bk.pixs the pixels. KT: the tap count when known at compile time (the tap loop is then
// fully unrolled), else 0. Pair (≤ 32 valid channels): each zmm holds pixels 2v and 2v + 1
// in its 256-bit halves, so P/2 accumulator sets serve P pixels.
template <int P, bool Interior, bool Tail, QGemmOutput O, int KT, bool Pair>
__attribute__((noinline)) void group(const Block& bk, const std::uint8_t* const* src, const std::uint8_t* first,
                                     std::size_t pix) {
  constexpr int V = Pair ? P / 2 : P;
  const __mmask64 m = _cvtu64_mask64(bk.n >= 64 ? ~0ull : (1ull << bk.n) - 1);
  const __mmask32 m32 = _cvtu32_mask32(bk.n >= 32 ? ~0u : (1u << bk.n) - 1);
  const std::size_t T = KT ? std::size_t(KT) : bk.T;
  auto phase = [&](const void* v, int j) {  // 64 bytes of phase j, or (Pair) its first 32 twice
    const auto* b = static_cast<const std::uint8_t*>(v) + 64 * j;
    return Pair ? _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)))
                : _mm512_loadu_si512(b);
  };
  auto act = [&](std::size_t t, long o, int v) {  // activations of accumulator set v, tap t
    if (Pair) {
      const std::uint8_t* a = Interior ? first + (2 * v) * bk.xstep + o : src[(2 * v) * T + t];
      const std::uint8_t* b = Interior ? first + (2 * v + 1) * bk.xstep + o : src[(2 * v + 1) * T + t];
      return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_maskz_loadu_epi8(m32, a)),
                                _mm256_maskz_loadu_epi8(m32, b), 1);
    }
    const std::uint8_t* a = Interior ? first + v * bk.xstep + o : src[v * T + t];
    return Tail ? _mm512_maskz_loadu_epi8(m, a) : _mm512_loadu_si512(a);
  };
  const __m512i c0 = phase(bk.k->comp, 0), c1 = phase(bk.k->comp, 1);
  const __m512i c2 = phase(bk.k->comp, 2), c3 = phase(bk.k->comp, 3);
  __m512i acc[V][4];
  // Tap 0 starts from the compensation: every accumulator is a distinct value from the start
  // (GCC 12 otherwise inserts register copies into the tap loop).
  const std::uint8_t* w = bk.w;
  {
    const __m512i w0 = phase(w, 0), w1 = phase(w, 1), w2 = phase(w, 2), w3 = phase(w, 3);
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      const __m512i xv = act(0, 0, v);
      acc[v][0] = _mm512_dpbusd_epi32(c0, xv, w0);
      acc[v][1] = _mm512_dpbusd_epi32(c1, xv, w1);
      acc[v][2] = _mm512_dpbusd_epi32(c2, xv, w2);
      acc[v][3] = _mm512_dpbusd_epi32(c3, xv, w3);
    }
  }
  w += 256;
#pragma GCC unroll 32
  for (std::size_t t = 1; t < T; ++t, w += 256) {
    const __m512i w0 = phase(w, 0), w1 = phase(w, 1), w2 = phase(w, 2), w3 = phase(w, 3);
    const long o = Interior ? bk.off[t] : 0;
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      const __m512i xv = act(t, o, v);
      acc[v][0] = _mm512_dpbusd_epi32(acc[v][0], xv, w0);
      acc[v][1] = _mm512_dpbusd_epi32(acc[v][1], xv, w1);
      acc[v][2] = _mm512_dpbusd_epi32(acc[v][2], xv, w2);
      acc[v][3] = _mm512_dpbusd_epi32(acc[v][3], xv, w3);
    }
  }
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) {
    const int q = Pair ? 2 * v : v;
    const std::size_t pa = Interior ? pix + q : bk.pixs[q];
    const std::size_t pb = Pair ? (Interior ? pix + q + 1 : bk.pixs[q + 1]) : pa;
    epilogue<Tail, O, Pair>(bk, pa, pb, acc[v][0], acc[v][1], acc[v][2], acc[v][3]);
  }
}

// `groups` groups of P consecutive output pixels from pix. Interior: src[0] is the first
// pixel's first tap; pixel i of the run starts i·xstep further and tap t lies off[t] beyond.
// Else (groups == 1) src holds P·T tap pointers (the a_zp row for padding taps).
template <int P, bool Interior, bool Tail, QGemmOutput O, bool Pair>
void pixels(const Block& bk, const std::uint8_t* const* src, std::size_t pix, std::size_t groups) {
  const std::uint8_t* first = src[0];
  if (bk.T == 9) {  // 3×3
    for (std::size_t g = 0; g < groups; ++g, pix += P, first += P * bk.xstep)
      group<P, Interior, Tail, O, 9, Pair>(bk, src, first, pix);
  } else if (bk.T == 25) {  // 5×5
    for (std::size_t g = 0; g < groups; ++g, pix += P, first += P * bk.xstep)
      group<P, Interior, Tail, O, 25, Pair>(bk, src, first, pix);
  } else {
    for (std::size_t g = 0; g < groups; ++g, pix += P, first += P * bk.xstep)
      group<P, Interior, Tail, O, 0, Pair>(bk, src, first, pix);
  }
}

template <int P, bool Interior, bool Tail, bool Pair>
MQ_INLINE void run_kind(const Block& bk, const std::uint8_t* const* src, std::size_t pix, std::size_t groups) {
  switch (bk.p->output) {
    case QGemmOutput::u8: pixels<P, Interior, Tail, QGemmOutput::u8, Pair>(bk, src, pix, groups); break;
    case QGemmOutput::s8: pixels<P, Interior, Tail, QGemmOutput::s8, Pair>(bk, src, pix, groups); break;
    case QGemmOutput::f32: pixels<P, Interior, Tail, QGemmOutput::f32, Pair>(bk, src, pix, groups); break;
    case QGemmOutput::s32: pixels<P, Interior, Tail, QGemmOutput::s32, Pair>(bk, src, pix, groups); break;
  }
}

// Groups of P pixels; Pair: the paired mode of blocks with ≤ 32 channels.
template <int P, bool Interior, bool Pair = false>
MQ_INLINE void run(const Block& bk, const std::uint8_t* const* src, std::size_t pix, std::size_t groups = 1) {
  if constexpr (Pair) run_kind<P, Interior, true, true>(bk, src, pix, groups);
  else if (bk.n == block) run_kind<P, Interior, false, false>(bk, src, pix, groups);
  else run_kind<P, Interior, true, false>(bk, src, pix, groups);
}

constexpr int pair_pixels = 8;  // pixels per group in paired mode (4 accumulator sets)

// P pixels per group outside paired mode: 6 for 3×3 (24 accumulators), else 4 (measured:
// 6 is slower for the 5×5 / 7×7 loops and for paired mode).
template <int P>
void drive(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x, const void* packed, void* y,
           std::size_t p0, std::size_t p1) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), C = s.in_c, T = taps(s);
  const std::size_t H = s.in_h, W = s.in_w;
  const long ext_h = long((s.kh - 1) * s.dil_h), ext_w = long((s.kw - 1) * s.dil_w);
  alignas(64) std::uint8_t zrow[block];
  std::memset(zrow, epi.a_zp, sizeof zrow);
  long off[max_taps];
  for (std::size_t ky = 0; ky < s.kh; ++ky)
    for (std::size_t kx = 0; kx < s.kw; ++kx) off[ky * s.kw + kx] = long((ky * s.dil_h * W + kx * s.dil_w) * C);
  const std::int32_t* wsum = weight_sums(s, packed);
  // Output columns [ox_lo, ox_hi) have every tap inside the input width.
  std::size_t ox_lo = ow, ox_hi = 0;
  for (std::size_t ox = 0; ox < ow; ++ox) {
    const long ix0 = long(ox * s.stride_w) - long(s.pad_l);
    if (ix0 >= 0 && ix0 + ext_w < long(W)) ox_lo = std::min(ox_lo, ox), ox_hi = ox + 1;
  }
  BlockConsts k;
  constexpr int Q = P > pair_pixels ? P : pair_pixels;  // border queue capacity
  const std::uint8_t* ptrs[Q * max_taps];
  QGemmParams p = epi;
  p.c = y;
  const long xstep = long(s.stride_w * C);
  std::size_t pend_pix[Q];  // output pixels of the queued border group
  int pending = 0;
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
                   xstep,
                   static_cast<float>(epi.qmin - epi.out_zp),
                   static_cast<float>(epi.qmax - epi.out_zp),
                   static_cast<short>(epi.out_zp),
                   pend_pix};
    const bool pair = bk.n <= 32;  // two pixels per zmm, groups of 8
    const int queue = pair ? pair_pixels : P;
    std::size_t b = p0 / (oh * ow), oy = (p0 / ow) % oh, ox = p0 % ow;
    for (std::size_t pix = p0; pix < p1;) {  // one output row (or its part in range) at a time
      const std::size_t ox_end = ox + std::min(p1 - pix, ow - ox);
      const long iy0 = long(oy * s.stride_h) - long(s.pad_t);
      // np pixels from column c through tap pointers (padding taps read zrow).
      // Tap rows of this output row: valid flag and byte offset of (row, column 0, c0).
      long row_off[max_taps];
      for (std::size_t ky = 0; ky < s.kh; ++ky) {
        const long iy = iy0 + long(ky * s.dil_h);
        row_off[ky] = iy >= 0 && iy < long(H) ? (long(b * H) + iy) * long(W * C) + long(c0) : -1;
      }
      // Queues the pixel of column c (tap pointers; padding taps read zrow); runs full groups.
      auto border = [&](std::size_t c) {
        const long ix0 = long(c * s.stride_w) - long(s.pad_l);
        const std::uint8_t** pq = ptrs + pending * T;
        for (std::size_t kx = 0; kx < s.kw; ++kx) {
          const long ix = ix0 + long(kx * s.dil_w);
          const bool col_in = ix >= 0 && ix < long(W);
          for (std::size_t ky = 0; ky < s.kh; ++ky)
            pq[ky * s.kw + kx] = col_in && row_off[ky] >= 0 ? x + (row_off[ky] + ix * long(C)) : zrow;
        }
        pend_pix[pending] = pix + (c - ox);
        if (++pending == queue) {
          if (pair) run<pair_pixels, false, true>(bk, ptrs, 0);
          else run<P, false>(bk, ptrs, 0);
          pending = 0;
        }
      };
      auto borders = [&](std::size_t c, std::size_t e) {
        for (; c < e; ++c) border(c);
      };
      std::size_t i0 = ox_end, i1 = ox_end;  // interior columns of this row part
      if (iy0 >= 0 && iy0 + ext_h < long(H) && std::max(ox, ox_lo) < std::min(ox_end, ox_hi))
        i0 = std::max(ox, ox_lo), i1 = std::min(ox_end, ox_hi);
      borders(ox, i0);
      if (i0 < i1) {
        const std::uint8_t* first = x + ((b * H + std::size_t(iy0)) * W + (i0 * s.stride_w - s.pad_l)) * C + c0;
        std::size_t q = pix + (i0 - ox), n = i1 - i0;
        if (pair && n >= std::size_t(pair_pixels)) {
          const std::size_t g2 = n / pair_pixels;
          run<pair_pixels, true, true>(bk, &first, q, g2);
          first += g2 * pair_pixels * xstep, q += g2 * pair_pixels, n -= g2 * pair_pixels;
        }
        const std::size_t g = n / P;
        if (g) run<P, true>(bk, &first, q, g);
        first += g * P * xstep, q += g * P, n -= g * P;
        if (P > 4 && n >= 4) run<4, true>(bk, &first, q, 1), first += 4 * xstep, q += 4, n -= 4;
        if (n >= 2) run<2, true>(bk, &first, q, 1), first += 2 * xstep, q += 2, n -= 2;
        if (n) run<1, true>(bk, &first, q, 1);
      }
      borders(i1, ox_end);
      pix += ox_end - ox;
      ox = 0;
      if (++oy == oh) oy = 0, ++b;
    }
    for (int k = 0; k < pending;) {  // queued border pixels left over
      Block rest = bk;
      rest.pixs = pend_pix + k;
      if (pending - k >= P) run<P, false>(rest, ptrs + k * T, 0), k += P;
      else if (P > 4 && pending - k >= 4) run<4, false>(rest, ptrs + k * T, 0), k += 4;
      else if (pending - k >= 2) run<2, false>(rest, ptrs + k * T, 0), k += 2;
      else run<1, false>(rest, ptrs + k * T, 0), k += 1;
    }
    pending = 0;
  }
}

}  // namespace

void qconv_dw__avx512vnni(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x, const void* packed,
                          void* y, std::size_t p0, std::size_t p1) {
  if (!simd_exact(s, epi)) return qconv_dw_generic(s, epi, x, packed, y, p0, p1);
  if (taps(s) == 9) drive<6>(s, epi, x, packed, y, p0, p1);
  else drive<4>(s, epi, x, packed, y, p0, p1);
}

}  // namespace mq::kernels
