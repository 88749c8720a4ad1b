// Byte table lookup: scalar, and AVX512-VBMI (two vpermi2b over the table's halves, the
// index's top bit selecting between them: 64 bytes in four instructions). Byte-pair lookup:
// scalar, and AVX2 (16 pairs a time made into 16-bit indices in a register, read out four
// at a time).
#include "kernels/int8/lookup.h"

#include <immintrin.h>

#include <cstring>

#include "kernels/variant_table.h"

namespace mq::kernels {

void lookup_u8_scalar(const uint8_t* x, uint8_t* y, int64_t n, const uint8_t* table) {
  for (int64_t i = 0; i < n; ++i) y[i] = table[x[i]];
}

void lookup_pair_u8_scalar(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const uint8_t* table) {
  for (int64_t i = 0; i < n; ++i) y[i] = table[(unsigned(a[i]) << 8) | b[i]];
}

namespace {

#define MQ_AVX2 __attribute__((target("avx2")))

// The table indices 256·a + b of 4 pairs as the 16-bit words of one register, looked up one
// by one (one load each: no gather, whose microcoded form is slower than this on CPUs with
// the gather data sampling fix).
MQ_AVX2 inline void look_words(std::uint64_t w, const uint8_t* table, uint8_t* y) {
  y[0] = table[w & 0xFFFF];
  y[1] = table[(w >> 16) & 0xFFFF];
  y[2] = table[(w >> 32) & 0xFFFF];
  y[3] = table[w >> 48];
}

MQ_AVX2 void lookup_pair_u8_avx2(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const uint8_t* table) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
    const __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    const __m128i lo = _mm_unpacklo_epi8(vb, va), hi = _mm_unpackhi_epi8(vb, va);  // words b | a << 8
    look_words(std::uint64_t(_mm_cvtsi128_si64(lo)), table, y + i);
    look_words(std::uint64_t(_mm_extract_epi64(lo, 1)), table, y + i + 4);
    look_words(std::uint64_t(_mm_cvtsi128_si64(hi)), table, y + i + 8);
    look_words(std::uint64_t(_mm_extract_epi64(hi, 1)), table, y + i + 12);
  }
  for (; i < n; ++i) y[i] = table[(unsigned(a[i]) << 8) | b[i]];
}

#undef MQ_AVX2

#define MQ_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi,bmi2")))

MQ_VBMI inline __m512i look(__m512i idx, __m512i t0, __m512i t1, __m512i t2, __m512i t3) {
  const __m512i lo = _mm512_permutex2var_epi8(t0, idx, t1);  // table[idx & 127]
  const __m512i hi = _mm512_permutex2var_epi8(t2, idx, t3);  // table[128 + (idx & 127)]
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi);
}

MQ_VBMI void lookup_u8_avx512vbmi(const uint8_t* x, uint8_t* y, int64_t n, const uint8_t* table) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(y + i, look(_mm512_loadu_si512(x + i), t0, t1, t2, t3));
  if (i < n) {
    const __mmask64 m = _bzhi_u64(~0ull, unsigned(n - i));
    _mm512_mask_storeu_epi8(y + i, m, look(_mm512_maskz_loadu_epi8(m, x + i), t0, t1, t2, t3));
  }
}

#undef MQ_VBMI

}  // namespace

std::span<const LookupVariant> lookup_variants() {
  static const LookupVariant all[] = {{Isa::scalar, "lookup_u8__scalar", lookup_u8_scalar},
                                      {Isa::avx512, "lookup_u8__avx512vbmi", lookup_u8_avx512vbmi}};
  return {all, cpu_features().avx512vbmi ? 2u : 1u};
}

void lookup_u8(const uint8_t* x, uint8_t* y, int64_t n, const uint8_t* table) {
  static const auto fn = select_variant(lookup_variants(), active_isa()).fn;
  fn(x, y, n, table);
}

std::span<const PairLookupVariant> pair_lookup_variants() {
  static const PairLookupVariant all[] = {{Isa::scalar, "lookup_pair_u8__scalar", lookup_pair_u8_scalar},
                                          {Isa::avx2, "lookup_pair_u8__avx2", lookup_pair_u8_avx2}};
  return {all, cpu_features().avx2 ? 2u : 1u};
}

void lookup_pair_u8(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const uint8_t* table) {
  static const auto fn = select_variant(pair_lookup_variants(), active_isa()).fn;
  fn(a, b, y, n, table);
}

}  // namespace mq::kernels
