// Quantization kernels for AVX-512 (xsimd::avx512bw batches, vpmovdb for narrowing).
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <xsimd/xsimd.hpp>

#include "kernels/quant.h"

namespace mq::kernels {
namespace {
using A = xsimd::avx512bw;

inline void narrow_store_u8(xsimd::batch<std::int32_t, A> v, std::uint8_t* dst) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm512_cvtepi32_epi8(v));
}
inline void narrow_store_s8(xsimd::batch<std::int32_t, A> v, std::int8_t* dst) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm512_cvtepi32_epi8(v));
}
inline xsimd::batch<std::int32_t, A> load_widen(const std::uint8_t* p) {
  return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline xsimd::batch<std::int32_t, A> load_widen(const std::int8_t* p) {
  return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

#include "kernels/quant_simd_impl.h"

constexpr QuantKernels table = make_table<A>();

}  // namespace

const QuantKernels& quant_kernels_avx512() { return table; }

}  // namespace mq::kernels
