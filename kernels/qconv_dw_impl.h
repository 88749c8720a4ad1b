// Depthwise Conv2d body (channels innermost, written for auto-vectorization). Included inside
// an anonymous namespace by qconv.cpp (baseline) and qconv__avx2.cpp (AVX2 flags).

// Output pixels [p0, p1). packed: weights [kh·kw][C].
inline void depthwise_rows(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x,
                           const std::int8_t* wt, void* y, std::size_t p0, std::size_t p1) {
  constexpr std::size_t chunk = 64;
  const std::size_t oh = s.out_h(), ow = s.out_w(), C = s.in_c;
  QGemmParams p = epi;
  p.c = y;
  p.ldc = C;
  const std::int32_t zp = epi.a_zp;
  for (std::size_t pix = p0; pix < p1; ++pix) {
    const std::size_t b = pix / (oh * ow), oy = (pix / ow) % oh, ox = pix % ow;
    for (std::size_t c0 = 0; c0 < C; c0 += chunk) {
      const std::size_t cn = std::min(chunk, C - c0);
      std::int32_t acc[chunk] = {};
      for (std::size_t ky = 0; ky < s.kh; ++ky) {
        const long iy = long(oy * s.stride_h + ky * s.dil_h) - long(s.pad_t);
        if (iy < 0 || iy >= long(s.in_h)) continue;  // padding taps add (zp − zp)·w = 0
        for (std::size_t kx = 0; kx < s.kw; ++kx) {
          const long ix = long(ox * s.stride_w + kx * s.dil_w) - long(s.pad_l);
          if (ix < 0 || ix >= long(s.in_w)) continue;
          const std::uint8_t* xp = x + ((b * s.in_h + iy) * s.in_w + ix) * C + c0;
          const std::int8_t* wp = wt + (ky * s.kw + kx) * C + c0;
          for (std::size_t c = 0; c < cn; ++c)
            acc[c] += (static_cast<std::int32_t>(xp[c]) - zp) * static_cast<std::int32_t>(wp[c]);
        }
      }
      for (std::size_t c = 0; c < cn; ++c) {
        std::int32_t v = acc[c];
        if (epi.bias32) v = qgemm_detail::wrap_add(v, epi.bias32[c0 + c]);
        qgemm_detail::store_one(p, pix, c0 + c, v);
      }
    }
  }
}
