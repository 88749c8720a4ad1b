// The ymm qgemm driver shared by the AVX2 and AVX-VNNI translation units. Include it only
// inside an anonymous namespace of a TU built with AVX2 flags: each TU gets its own copy.
// Tile: MR rows × one 16-column block (two ymm of 8 columns); Dot supplies the u8·s8 step.

inline std::int32_t load_u32(const std::uint8_t* ptr) {
  std::int32_t v;
  std::memcpy(&v, ptr, 4);
  return v;
}

// Loads `cnt` (≤ 8) 32-bit values, zero-filling the rest.
inline __m256i load_partial_epi32(const std::int32_t* ptr, std::size_t cnt) {
  if (cnt >= 8) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ptr));
  alignas(32) std::int32_t tmp[8] = {};
  std::memcpy(tmp, ptr, cnt * 4);
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(tmp));
}
inline __m256 load_partial_ps(const float* ptr, std::size_t cnt) {
  return _mm256_castsi256_ps(load_partial_epi32(reinterpret_cast<const std::int32_t*>(ptr), cnt));
}
inline void store_partial(void* dst, const void* src, std::size_t bytes) { std::memcpy(dst, src, bytes); }

template <int MR>
void ymm_epilogue(const QGemmParams& p, const PackedView& b, std::size_t m, std::size_t n, std::size_t cnt,
                  const __m256i* acc) {
  __m256i comp = _mm256_mullo_epi32(_mm256_set1_epi32(-p.a_zp),
                                    _mm256_load_si256(reinterpret_cast<const __m256i*>(b.colsum + n)));
  if (p.bias32) comp = _mm256_add_epi32(comp, load_partial_epi32(p.bias32 + n, cnt));
  switch (p.output) {
    case QGemmOutput::u8:
    case QGemmOutput::s8: {
      const __m256 mult = p.per_channel ? load_partial_ps(p.multiplier + n, cnt) : _mm256_set1_ps(p.multiplier[0]);
      const __m256 lo = _mm256_set1_ps(static_cast<float>(p.qmin - p.out_zp));
      const __m256 hi = _mm256_set1_ps(static_cast<float>(p.qmax - p.out_zp));
      const __m256i zp = _mm256_set1_epi32(p.out_zp);
      const __m256i shuffle = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4,
                                               8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
      auto* c = static_cast<std::uint8_t*>(p.c);
      _Pragma("GCC unroll 8") for (int r = 0; r < MR; ++r) {
        __m256 x = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc[r], comp)), mult);
        x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
        const __m256i q = _mm256_shuffle_epi8(_mm256_add_epi32(_mm256_cvtps_epi32(x), zp), shuffle);
        const std::uint64_t bytes =
            static_cast<std::uint32_t>(_mm256_extract_epi32(q, 0)) |
            (static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_extract_epi32(q, 4))) << 32);
        std::uint8_t* dst = c + (m + r) * p.ldc + n;
        if (cnt >= 8) std::memcpy(dst, &bytes, 8);
        else store_partial(dst, &bytes, cnt);
      }
      break;
    }
    case QGemmOutput::f32: {
      const __m256 ws = p.per_channel ? load_partial_ps(p.w_scale + n, cnt) : _mm256_set1_ps(p.w_scale[0]);
      const __m256 s = _mm256_mul_ps(_mm256_set1_ps(p.a_scale), ws);
      const __m256 bias = p.bias_f32 ? load_partial_ps(p.bias_f32 + n, cnt) : _mm256_setzero_ps();
      auto* c = static_cast<float*>(p.c);
      _Pragma("GCC unroll 8") for (int r = 0; r < MR; ++r) {
        __m256 x = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc[r], comp)), s);
        if (p.bias_f32) x = _mm256_add_ps(x, bias);
        float* cr = c + (m + r) * p.ldc + n;
        if (cnt >= 8) {
          if (p.accumulate) x = _mm256_add_ps(_mm256_loadu_ps(cr), x);
          _mm256_storeu_ps(cr, x);
        } else {
          if (p.accumulate) x = _mm256_add_ps(load_partial_ps(cr, cnt), x);
          alignas(32) float tmp[8];
          _mm256_store_ps(tmp, x);
          store_partial(cr, tmp, cnt * 4);
        }
      }
      break;
    }
    case QGemmOutput::s32: {
      auto* c = static_cast<std::int32_t*>(p.c);
      _Pragma("GCC unroll 8") for (int r = 0; r < MR; ++r) {
        const __m256i x = _mm256_add_epi32(acc[r], comp);
        std::int32_t* cr = c + (m + r) * p.ldc + n;
        if (cnt >= 8) {
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(cr), x);
        } else {
          alignas(32) std::int32_t tmp[8];
          _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), x);
          store_partial(cr, tmp, cnt * 4);
        }
      }
      break;
    }
  }
}

template <class Dot, int MR, int KU>
void ymm_tile(const QGemmParams& p, const PackedView& b, std::size_t m, std::size_t nb, std::size_t nend) {
  const std::size_t k4 = b.h->k4;
  const std::size_t kfull = p.k / 4;
  const std::size_t lda = p.lda;
  const std::uint8_t* a = p.a + m * lda;
  const std::int8_t* bp = b.data + nb * b.block_bytes;
  __m256i acc[KU][MR][2];
  _Pragma("GCC unroll 8") for (int u = 0; u < KU; ++u) _Pragma("GCC unroll 8") for (int r = 0; r < MR; ++r)
      acc[u][r][0] = acc[u][r][1] = _mm256_setzero_si256();
  std::size_t q = 0;
  for (; q + KU <= kfull; q += KU) {
    _Pragma("GCC unroll 8") for (int u = 0; u < KU; ++u) {
      const auto b0 = Dot::prep(_mm256_load_si256(reinterpret_cast<const __m256i*>(bp + (q + u) * 64)));
      const auto b1 = Dot::prep(_mm256_load_si256(reinterpret_cast<const __m256i*>(bp + (q + u) * 64 + 32)));
      _Pragma("GCC unroll 8") for (int r = 0; r < MR; ++r) {
        const __m256i av = _mm256_set1_epi32(load_u32(a + r * lda + 4 * (q + u)));
        acc[u][r][0] = Dot::step(acc[u][r][0], av, b0);
        acc[u][r][1] = Dot::step(acc[u][r][1], av, b1);
      }
    }
  }
  for (; q < k4; ++q) {
    const auto b0 = Dot::prep(_mm256_load_si256(reinterpret_cast<const __m256i*>(bp + q * 64)));
    const auto b1 = Dot::prep(_mm256_load_si256(reinterpret_cast<const __m256i*>(bp + q * 64 + 32)));
    _Pragma("GCC unroll 8") for (int r = 0; r < MR; ++r) {
      const std::int32_t quad = q < kfull ? load_u32(a + r * lda + 4 * q) : load_quad(a + r * lda, q, p.k);
      const __m256i av = _mm256_set1_epi32(quad);
      acc[0][r][0] = Dot::step(acc[0][r][0], av, b0);
      acc[0][r][1] = Dot::step(acc[0][r][1], av, b1);
    }
  }
  _Pragma("GCC unroll 8") for (int v = 0; v < 2; ++v) {
    const std::size_t n = nb * 16 + v * 8;
    if (n >= nend) break;
    __m256i col[MR];
    _Pragma("GCC unroll 8") for (int r = 0; r < MR; ++r) {
      col[r] = acc[0][r][v];
      _Pragma("GCC unroll 8") for (int u = 1; u < KU; ++u) col[r] = _mm256_add_epi32(col[r], acc[u][r][v]);
    }
    ymm_epilogue<MR>(p, b, m, n, std::min<std::size_t>(8, nend - n), col);
  }
}

// Rows [m0, m1) of one 16-column block, MR-row tiles then the remainder.
template <class Dot, int MR>
void ymm_rows(const QGemmParams& p, const PackedView& b, std::size_t m0, std::size_t m1, std::size_t nb,
              std::size_t nend) {
  std::size_t m = m0;
  for (; m + MR <= m1; m += MR) ymm_tile<Dot, MR, 1>(p, b, m, nb, nend);
  switch (m1 - m) {
    case 5: ymm_tile<Dot, 5, 1>(p, b, m, nb, nend); break;
    case 4: ymm_tile<Dot, 4, 1>(p, b, m, nb, nend); break;
    case 3: ymm_tile<Dot, 3, 1>(p, b, m, nb, nend); break;
    case 2: ymm_tile<Dot, 2, 2>(p, b, m, nb, nend); break;
    case 1: ymm_tile<Dot, 1, 4>(p, b, m, nb, nend); break;
    default: break;
  }
}
