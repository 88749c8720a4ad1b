// Packed-B layout and scalar epilogue shared by every qgemm variant. Internal: functions are
// `static` so that copies compiled with different ISA flags never merge at link time.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/qgemm.h"

namespace mq::kernels::qgemm_detail {

/// Header at the start of a packed buffer (64 bytes).
struct PackedHeader {
  std::uint64_t magic;
  std::uint64_t n, k, k4, n_blocks;
  std::uint64_t colsum_offset, exact_offset, data_offset;
};
inline constexpr std::uint64_t packed_magic = 0x3842504b4751514dull;  // "MQQGKPB8"
static_assert(sizeof(PackedHeader) == 64);

static inline std::size_t align64(std::size_t x) { return (x + 63) & ~std::size_t{63}; }

/// Quads stored per 16-column block: k4 rounded up to 16, so that every block is a whole
/// number of 16-row AMX B tiles (the padding quads are zero weights).
static inline std::size_t padded_k4(std::size_t k4) { return (k4 + 15) & ~std::size_t{15}; }

/// Views into a packed buffer.
struct PackedView {
  const PackedHeader* h;
  const std::int32_t* colsum;       // n_blocks*16
  const std::uint8_t* needs_exact;  // n_blocks flags (AVX2 saturation)
  const std::int8_t* data;          // [n_blocks][padded_k4][16][4]
  std::size_t block_bytes;          // padded_k4*64
};

static inline PackedView view(const void* packed) {
  const auto* base = static_cast<const std::uint8_t*>(packed);
  const auto* h = static_cast<const PackedHeader*>(packed);
  return {h, reinterpret_cast<const std::int32_t*>(base + h->colsum_offset), base + h->exact_offset,
          reinterpret_cast<const std::int8_t*>(base + h->data_offset),
          padded_k4(static_cast<std::size_t>(h->k4)) * 64};
}

static inline std::int32_t wrap_add(std::int32_t a, std::int32_t b) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) + static_cast<std::uint32_t>(b));
}
static inline std::int32_t wrap_mul(std::int32_t a, std::int32_t b) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) * static_cast<std::uint32_t>(b));
}

/// Compensation added to the raw Σ a·w of column n: bias32[n] − a_zp·colsum[n].
static inline std::int32_t column_term(const QGemmParams& p, const std::int32_t* colsum, std::size_t n) {
  const std::int32_t bias = p.bias32 ? p.bias32[n] : 0;
  return wrap_add(bias, wrap_mul(-p.a_zp, colsum[n]));
}

/// Writes one output element from a compensated accumulator (the scalar epilogue; SIMD
/// epilogues perform the same float operations in the same order).
static inline void store_one(const QGemmParams& p, std::size_t m, std::size_t n, std::int32_t acc) {
  switch (p.output) {
    case QGemmOutput::u8:
    case QGemmOutput::s8: {
      const std::int32_t q = requantize_value(acc, p.multiplier[p.per_channel ? n : 0], p.out_zp, p.qmin, p.qmax);
      if (p.output == QGemmOutput::u8)
        static_cast<std::uint8_t*>(p.c)[m * p.ldc + n] = static_cast<std::uint8_t>(q);
      else static_cast<std::int8_t*>(p.c)[m * p.ldc + n] = static_cast<std::int8_t>(q);
      break;
    }
    case QGemmOutput::f32: {
      const float s = p.a_scale * p.w_scale[p.per_channel ? n : 0];
      float x = static_cast<float>(acc) * s;
      if (p.bias_f32) x = x + p.bias_f32[n];
      float* c = static_cast<float*>(p.c) + m * p.ldc + n;
      *c = p.accumulate ? *c + x : x;
      break;
    }
    case QGemmOutput::s32: static_cast<std::int32_t*>(p.c)[m * p.ldc + n] = acc; break;
  }
}

/// Loads the 4 bytes of A at k = 4q (fewer at the end of a row; missing bytes are zero).
static inline std::int32_t load_quad(const std::uint8_t* a, std::size_t q, std::size_t k) {
  std::int32_t v = 0;
  const std::size_t k0 = 4 * q;
  std::memcpy(&v, a + k0, k - k0 >= 4 ? 4 : k - k0);
  return v;
}

}  // namespace mq::kernels::qgemm_detail

namespace mq::kernels {
// Variant entry points, one per ISA translation unit (listed in qgemm.cpp).
void qgemm_u8s8_1x16__scalar(const QGemmParams&, std::size_t, std::size_t, std::size_t, std::size_t);
void qgemm_u8s8_4x16__avx2(const QGemmParams&, std::size_t, std::size_t, std::size_t, std::size_t);
void qgemm_u8s8_6x16__avxvnni(const QGemmParams&, std::size_t, std::size_t, std::size_t, std::size_t);
void qgemm_u8s8_8x48__avx512vnni(const QGemmParams&, std::size_t, std::size_t, std::size_t, std::size_t);
void qgemm_u8s8_32x32__amx(const QGemmParams&, std::size_t, std::size_t, std::size_t, std::size_t);

struct QConvShape;

// Direct AMX convolution (kernels/qconv__amx.cpp): one group, in_c a multiple of 64 up to
// qconv_amx_max_in_c. Output rows [r0, r1) of the flattened N·OH rows.
inline constexpr std::size_t qconv_amx_max_in_c = 1024;
void qconv_rows__amx(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x, const void* packed,
                     void* y, std::size_t r0, std::size_t r1);

// Indirect AVX512-VNNI convolution (kernels/qconv__avx512vnni.cpp): one group, in_c a
// multiple of 4 up to qconv_indirect_max_in_c, at most qconv_indirect_max_taps taps.
// Output pixels [p0, p1).
inline constexpr std::size_t qconv_indirect_max_in_c = 2048, qconv_indirect_max_taps = 64;
void qconv_indirect__avx512vnni(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x,
                                const void* packed, void* y, std::size_t p0, std::size_t p1);
}  // namespace mq::kernels
