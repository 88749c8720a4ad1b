// Depthwise Conv2d internals shared by the scalar, AVX2, AVX-VNNI and AVX512-VNNI kernels:
// the packed-weight layout and the per-block epilogue constants. Internal: functions are
// `static` so that copies compiled with different ISA flags never merge at link time.
//
// Packed layout (the same for every tier): channels in blocks of 64; per block and tap t a
// 256-byte record of 4 "phase" vectors. Phase j's 64 bytes hold, for i = 0..15, the weight
// of channel c0 + 4i + j at byte 4i + j and zeros at the other three bytes of dword i, so
// that one vpdpbusd of the natural NHWC activation bytes (4 consecutive channels per dword)
// against phase j yields x·w of channel 4i + j in int32 lane i. Channels ≥ C have weight 0.
// After the Cb·T records: int32 Σ_t w[c][t] for the Cb·64 channels (natural order).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/qconv.h"
#include "kernels/qgemm_internal.h"

namespace mq::kernels::qconv_dw {

inline constexpr std::size_t block = 64;      ///< Channels per packed block.
inline constexpr std::size_t max_taps = 128;  ///< Largest kh·kw of the SIMD kernels (stack arrays).

static inline std::size_t blocks(const QConvShape& s) { return (s.in_c + block - 1) / block; }
static inline std::size_t taps(const QConvShape& s) { return s.kh * s.kw; }
static inline std::size_t weight_bytes(const QConvShape& s) { return blocks(s) * taps(s) * 256; }
static inline std::size_t packed_bytes(const QConvShape& s) {
  return qgemm_detail::align64(weight_bytes(s) + blocks(s) * block * 4);
}

/// Byte offset of the weight of channel c, tap t (T taps) in the packed buffer.
static inline std::size_t weight_index(std::size_t T, std::size_t c, std::size_t t) {
  const std::size_t b = c / block, cc = c % block, j = cc % 4, i = cc / 4;
  return (b * T + t) * 256 + j * 64 + 4 * i + j;
}

/// Σ_t w[c][t] per channel (Cb·64 entries).
static inline const std::int32_t* weight_sums(const QConvShape& s, const void* packed) {
  return reinterpret_cast<const std::int32_t*>(static_cast<const std::uint8_t*>(packed) + weight_bytes(s));
}

/// True when the SIMD kernels are exact for these parameters: kh·kw ≤ max_taps, a_zp is a
/// u8 (padding taps read a row of a_zp bytes), and for u8/s8 outputs the clamp range lies in
/// the output type and in int16 after subtracting out_zp (the packs_epi32/epi16 shortcut).
/// Anything else runs the generic kernel.
static inline bool simd_exact(const QConvShape& s, const QGemmParams& p) {
  if (taps(s) > max_taps || p.a_zp < 0 || p.a_zp > 255) return false;
  if (p.output == QGemmOutput::u8 || p.output == QGemmOutput::s8) {
    const long tlo = p.output == QGemmOutput::u8 ? 0 : -128;
    const long thi = p.output == QGemmOutput::u8 ? 255 : 127;
    if (p.qmin > p.qmax || p.qmin < tlo || p.qmax > thi) return false;
    const long lo = long(p.qmin) - long(p.out_zp), hi = long(p.qmax) - long(p.out_zp);
    if (lo < -32768 || hi > 32767) return false;
  }
  return true;
}

/// Epilogue constants of one 64-channel block in phase order: entry [16j + i] belongs to
/// channel c0 + 4i + j (zero beyond C).
struct BlockConsts {
  alignas(64) std::int32_t comp[block];  ///< bias32 − a_zp·Σw (every tap reads a_zp or x)
  alignas(64) float scale[block];        ///< multiplier, or a_scale·w_scale
  alignas(64) float fbias[block];        ///< bias_f32 (0 when absent)
  /// u8/s8: the float clamp may be left to integer saturation (see saturating_clamp).
  bool saturate = false;
};

/// True when the u8/s8 epilogue may skip its float clamp to [qmin − out_zp, qmax − out_zp]
/// and instead saturate: r = rne(x) (exact, since |x| < 2³¹ when every |scale| < 1, and a
/// negative overflow yields INT_MIN, which saturates the same way), packs to int16,
/// saturating + out_zp, packs to the output type, then a byte clamp to [qmin, qmax]. With
/// out_zp in [−256, 511] each saturation step lands on the same side of [qmin, qmax] as the
/// exact value, and rne(clamp(x, lo, hi)) + out_zp = clamp(rne(x) + out_zp, qmin, qmax) for
/// integer bounds, so the bytes equal store_one's.
static inline bool saturating_clamp(const QGemmParams& p, const float* scale, std::size_t n) {
  if (p.out_zp < -256 || p.out_zp > 511) return false;
  for (std::size_t e = 0; e < n; ++e)
    if (!(scale[e] < 1.0f && scale[e] > -1.0f)) return false;  // NaN included
  return true;
}

static inline void block_consts(const QConvShape& s, const QGemmParams& p, const std::int32_t* wsum,
                                std::size_t c0, BlockConsts* k) {
  using qgemm_detail::wrap_add;
  using qgemm_detail::wrap_mul;
  for (std::size_t j = 0; j < 4; ++j)
    for (std::size_t i = 0; i < 16; ++i) {
      const std::size_t c = c0 + 4 * i + j, e = 16 * j + i;
      if (c >= s.in_c) {
        k->comp[e] = 0;
        k->scale[e] = 0.0f;
        k->fbias[e] = 0.0f;
        continue;
      }
      k->comp[e] = wrap_add(p.bias32 ? p.bias32[c] : 0, wrap_mul(-p.a_zp, wsum[c]));
      const std::size_t n = p.per_channel ? c : 0;
      if (p.output == QGemmOutput::f32) k->scale[e] = p.a_scale * p.w_scale[n];
      else if (p.output != QGemmOutput::s32) k->scale[e] = p.multiplier[n];
      else k->scale[e] = 0.0f;
      k->fbias[e] = p.output == QGemmOutput::f32 && p.bias_f32 ? p.bias_f32[c] : 0.0f;
    }
  k->saturate = (p.output == QGemmOutput::u8 || p.output == QGemmOutput::s8) &&
                saturating_clamp(p, k->scale, block);  // entries beyond C hold 0
}

}  // namespace mq::kernels::qconv_dw

namespace mq::kernels {
// Depthwise entry points (packed: qconv_pack's depthwise layout above).
void qconv_dw_generic(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x, const void* packed,
                      void* y, std::size_t p0, std::size_t p1);
void qconv_dw__avx2(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x, const void* packed,
                    void* y, std::size_t p0, std::size_t p1);
void qconv_dw__avxvnni(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x, const void* packed,
                       void* y, std::size_t p0, std::size_t p1);
void qconv_dw__avx512vnni(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x, const void* packed,
                          void* y, std::size_t p0, std::size_t p1);
}  // namespace mq::kernels
