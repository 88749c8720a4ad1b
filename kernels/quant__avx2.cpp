// Quantization kernels for AVX2 (xsimd::avx2 batches, intrinsics for 8-bit narrowing).
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <xsimd/xsimd.hpp>

#include "kernels/quant.h"

namespace mq::kernels {
namespace {
using A = xsimd::avx2;

// 8 int32 already in range → 8 bytes.
inline void narrow_store(__m256i v, void* dst) {
  const __m256i packed16 = _mm256_packs_epi32(v, v);  // lanes: 0-3,0-3 | 4-7,4-7
  const __m128i lo = _mm256_castsi256_si128(packed16), hi = _mm256_extracti128_si256(packed16, 1);
  const __m128i w = _mm_unpacklo_epi64(lo, hi);  // 8 int16 in order
  const __m128i b = _mm_shuffle_epi8(w, _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1));
  _mm_storel_epi64(static_cast<__m128i*>(dst), b);
}
inline void narrow_store_u8(xsimd::batch<std::int32_t, A> v, std::uint8_t* dst) { narrow_store(v, dst); }
inline void narrow_store_s8(xsimd::batch<std::int32_t, A> v, std::int8_t* dst) { narrow_store(v, dst); }
inline xsimd::batch<std::int32_t, A> load_widen(const std::uint8_t* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
inline xsimd::batch<std::int32_t, A> load_widen(const std::int8_t* p) {
  return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

#include "kernels/quant_simd_impl.h"

constexpr QuantKernels table = make_table<A>();

}  // namespace

const QuantKernels& quant_kernels_avx2() { return table; }

}  // namespace mq::kernels
