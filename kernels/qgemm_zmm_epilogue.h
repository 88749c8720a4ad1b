// The AVX-512 qgemm epilogue (one 16-column vector at a time), shared by the AVX512-VNNI and
// AMX kernels. Included inside an anonymous namespace of a file built with AVX-512 flags; it
// performs the same float operations in the same order as qgemm_detail::store_one.
// Needs <immintrin.h> and kernels/qgemm_internal.h (with qgemm_detail in scope).

inline __mmask16 column_mask(std::size_t cols) {
  return cols >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << cols) - 1);
}

// Per-vector epilogue constants (one 16-column vector). The zero-point compensation is not
// among them: the kernels start their accumulators at it (column_comp) or add it themselves.
struct EpiVec {
  __mmask16 mask;
  __m512 scale;   // requant multiplier or a_scale·w_scale
  __m512 bias;    // f32 bias
  __m512 lo, hi;  // clamp bounds minus out_zp
  __m512i zp;
};

#define MQ_INLINE inline __attribute__((always_inline))

// bias32 − a_zp·colsum for the 16 columns from n (the lanes outside `mask` hold garbage).
MQ_INLINE __m512i column_comp(const QGemmParams& p, const PackedView& b, std::size_t n, __mmask16 mask) {
  __m512i comp = _mm512_mullo_epi32(_mm512_set1_epi32(-p.a_zp), _mm512_load_si512(b.colsum + n));
  if (p.bias32) comp = _mm512_add_epi32(comp, _mm512_maskz_loadu_epi32(mask, p.bias32 + n));
  return comp;
}

MQ_INLINE EpiVec epi_vec(const QGemmParams& p, std::size_t n, std::size_t nend) {
  EpiVec e;
  e.mask = column_mask(nend - n);
  e.bias = _mm512_setzero_ps();
  e.zp = _mm512_set1_epi32(p.out_zp);
  e.lo = _mm512_set1_ps(static_cast<float>(p.qmin - p.out_zp));
  e.hi = _mm512_set1_ps(static_cast<float>(p.qmax - p.out_zp));
  if (p.output == QGemmOutput::f32) {
    const __m512 ws = p.per_channel ? _mm512_maskz_loadu_ps(e.mask, p.w_scale + n) : _mm512_set1_ps(p.w_scale[0]);
    e.scale = _mm512_mul_ps(_mm512_set1_ps(p.a_scale), ws);
    if (p.bias_f32) e.bias = _mm512_maskz_loadu_ps(e.mask, p.bias_f32 + n);
  } else if (p.output != QGemmOutput::s32) {
    e.scale = p.per_channel ? _mm512_maskz_loadu_ps(e.mask, p.multiplier + n) : _mm512_set1_ps(p.multiplier[0]);
  } else {
    e.scale = _mm512_setzero_ps();
  }
  return e;
}

// Writes one row of one 16-column vector from a compensated accumulator.
MQ_INLINE void epi_store(const QGemmParams& p, const EpiVec& e, std::size_t m, std::size_t n, __m512i acc) {
  switch (p.output) {
    case QGemmOutput::u8:
    case QGemmOutput::s8: {
      __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), e.scale);
      x = _mm512_min_ps(_mm512_max_ps(x, e.lo), e.hi);
      const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(x), e.zp);
      // Narrow in a register, then store: the fused memory form of vpmovdb is slower.
      __m128i bytes = _mm512_cvtepi32_epi8(q);
      __asm__("" : "+x"(bytes));
      _mm_mask_storeu_epi8(static_cast<std::uint8_t*>(p.c) + m * p.ldc + n, e.mask, bytes);
      break;
    }
    case QGemmOutput::f32: {
      __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), e.scale);
      if (p.bias_f32) x = _mm512_add_ps(x, e.bias);
      float* cr = static_cast<float*>(p.c) + m * p.ldc + n;
      if (p.accumulate) x = _mm512_add_ps(_mm512_maskz_loadu_ps(e.mask, cr), x);
      _mm512_mask_storeu_ps(cr, e.mask, x);
      break;
    }
    case QGemmOutput::s32:
      _mm512_mask_storeu_epi32(static_cast<std::int32_t*>(p.c) + m * p.ldc + n, e.mask, acc);
      break;
  }
}

// Requantized rows of up to 4 vectors (64 columns), narrowed together and written with one
// masked store: the result of epi_store on each vector, for u8 / s8 output whose clamp
// [qmin, qmax] lies in the output type's range (rows_q8 says when). The float clamp keeps
// only its upper bound (min(hi, x) keeps a NaN, which converts to INT_MIN like any x below
// −2³¹); the lower bound follows on the narrowed bytes: int32 → int16 → 8-bit saturation and
// the zero point's saturating add only move a value below qmin − zp further down, and a
// final max with qmin gives every such value qmin, as the float clamp to lo would.
// With every multiplier of the row below 1 in magnitude (`bounded`), |float(acc) · m| < 2³¹
// converts exactly and the upper clamp moves to the bytes too.
struct EpiRow {
  __m512 scale[4];
  __m512 hi;
  __m512i zp16;          // out_zp in every int16 lane
  __m512i qmin8, qmax8;  // qmin, qmax in every byte
  __mmask64 mask;
  bool s8, bounded;
};

MQ_INLINE bool rows_q8(const QGemmParams& p) {
  if (p.qmin > p.qmax) return false;
  if (p.output == QGemmOutput::u8) return p.qmin >= 0 && p.qmax <= 255;
  if (p.output == QGemmOutput::s8) return p.qmin >= -128 && p.qmax <= 127;
  return false;
}

// Row constants for the NV vectors of columns [n, nend) (rows_q8(p) holds).
template <int NV>
MQ_INLINE EpiRow epi_row(const QGemmParams& p, std::size_t n, std::size_t nend) {
  EpiRow e;
  const std::size_t cols = std::min<std::size_t>(nend - n, 64);
  e.mask = cols >= 64 ? ~__mmask64(0) : (__mmask64(1) << cols) - 1;
  e.bounded = true;
  for (int v = 0; v < NV; ++v) {
    const std::size_t nv = n + std::size_t(v) * 16;
    e.scale[v] = p.per_channel ? _mm512_maskz_loadu_ps(column_mask(nv < nend ? nend - nv : 0), p.multiplier + nv)
                               : _mm512_set1_ps(p.multiplier[0]);
    const __m512 mag = _mm512_abs_ps(e.scale[v]);  // a NaN compares false
    e.bounded = e.bounded && _mm512_cmp_ps_mask(mag, _mm512_set1_ps(1.0f), _CMP_LT_OQ) == 0xFFFF;
  }
  e.hi = _mm512_set1_ps(static_cast<float>(p.qmax - p.out_zp));
  e.zp16 = _mm512_set1_epi16(static_cast<std::int16_t>(p.out_zp));
  e.qmin8 = _mm512_set1_epi8(static_cast<char>(p.qmin));
  e.qmax8 = _mm512_set1_epi8(static_cast<char>(p.qmax));
  e.s8 = p.output == QGemmOutput::s8;
  return e;
}

// Writes NV compensated accumulators of one row at `c` (the row's first column); Bounded:
// e.bounded holds.
template <int NV, bool Bounded>
MQ_INLINE void epi_store_row(const EpiRow& e, std::uint8_t* c, const __m512i* acc) {
  __m512i q[4];
  for (int v = 0; v < 4; ++v) {
    if (v >= NV) {
      q[v] = _mm512_setzero_si512();
      continue;
    }
    const __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[v]), e.scale[v]);
    q[v] = _mm512_cvtps_epi32(Bounded ? x : _mm512_min_ps(e.hi, x));
  }
  const __m512i w01 = _mm512_adds_epi16(_mm512_packs_epi32(q[0], q[1]), e.zp16);
  const __m512i w23 = NV > 2 ? _mm512_adds_epi16(_mm512_packs_epi32(q[2], q[3]), e.zp16) : w01;
  __m512i b = e.s8 ? _mm512_max_epi8(_mm512_packs_epi16(w01, w23), e.qmin8)
                   : _mm512_max_epu8(_mm512_packus_epi16(w01, w23), e.qmin8);
  if (Bounded) b = e.s8 ? _mm512_min_epi8(b, e.qmax8) : _mm512_min_epu8(b, e.qmax8);
  // Lane L of the packs holds 4 columns of each vector (v, 4L..4L+3) in dword 4L + v.
  const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
  b = _mm512_permutexvar_epi32(order, b);
  _mm512_mask_storeu_epi8(c, e.mask, b);
}
