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
