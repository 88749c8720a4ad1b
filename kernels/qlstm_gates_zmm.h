// The LSTM gate arithmetic of kernels/qlstm_gates_impl.h (xsimd's float exp, sigmoid as
// 1 / (1 + exp(−x)), tanh, and the c/h update) with AVX-512 intrinsics, giving the same bits
// for every input that is not NaN (NaN stays NaN). xsimd's generic fma is a multiply then an
// add, and so is every product-sum here (the library is built without FMA contraction).
// Departures from xsimd's instruction sequence, each exact:
// - nearbyint(p) for |p| < 2^22 as (p + 1.5·2^23) − 1.5·2^23, and 2^k from the bits of the
//   sum; outside that range exp's selects give 0 or +inf whatever k is;
// - a − k·c instead of (−k)·c + a (the same rounding);
// - tanh computes both of its branches and selects, where xsimd skips the one no lane needs.
// Every function works on N independent vectors stage by stage, so that N dependency chains
// are in flight (the gate arithmetic is long chains of short operations).
// Included inside an anonymous namespace of a file built with AVX-512 flags; needs
// <immintrin.h> and <cstring>.

#ifndef MQ_ZMM_INLINE
#define MQ_ZMM_INLINE inline __attribute__((always_inline))
#endif

/// N vectors of 16 floats.
template <int N>
struct Zv {
  __m512 v[N];
};

#define MQ_ZV_FOR _Pragma("GCC unroll 16") for (int i = 0; i < N; ++i)

MQ_ZMM_INLINE float bits_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

MQ_ZMM_INLINE __m512 flip_sign(__m512 v) {
  return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN)));
}

/// c0 + x·(c1 + x·(c2 + x·(c3 + x·c4))), each step a multiply then an add (xsimd's horner).
template <int N>
MQ_ZMM_INLINE Zv<N> horner5(const Zv<N>& x, std::uint32_t c0, std::uint32_t c1, std::uint32_t c2, std::uint32_t c3,
                            std::uint32_t c4) {
  Zv<N> h;
  MQ_ZV_FOR h.v[i] =
      _mm512_add_ps(_mm512_mul_ps(x.v[i], _mm512_set1_ps(bits_float(c4))), _mm512_set1_ps(bits_float(c3)));
  MQ_ZV_FOR h.v[i] = _mm512_add_ps(_mm512_mul_ps(x.v[i], h.v[i]), _mm512_set1_ps(bits_float(c2)));
  MQ_ZV_FOR h.v[i] = _mm512_add_ps(_mm512_mul_ps(x.v[i], h.v[i]), _mm512_set1_ps(bits_float(c1)));
  MQ_ZV_FOR h.v[i] = _mm512_add_ps(_mm512_mul_ps(x.v[i], h.v[i]), _mm512_set1_ps(bits_float(c0)));
  return h;
}

/// xsimd's float exp: a = k·ln 2 + x (ln 2 in two parts), e^x by a degree-5 polynomial, times
/// 2^k; 0 at or below −88.376, +inf at or above 88.376.
template <int N>
MQ_ZMM_INLINE Zv<N> zexp(const Zv<N>& a) {
  const __m512 magic = _mm512_set1_ps(12582912.0f);  // 1.5·2^23
  Zv<N> t, k, x;
  MQ_ZV_FOR t.v[i] = _mm512_add_ps(
      _mm512_mul_ps(_mm512_set1_ps(1.442695040888963407359924681001892137426645954152986f), a.v[i]), magic);
  MQ_ZV_FOR k.v[i] = _mm512_sub_ps(t.v[i], magic);
  MQ_ZV_FOR x.v[i] =
      _mm512_sub_ps(a.v[i], _mm512_mul_ps(k.v[i], _mm512_set1_ps(bits_float(0x3f318000))));  // ln 2 hi
  MQ_ZV_FOR x.v[i] =
      _mm512_sub_ps(x.v[i], _mm512_mul_ps(k.v[i], _mm512_set1_ps(bits_float(0xb95e8083))));  // ln 2 lo
  const Zv<N> y = horner5(x, 0x3f000000, 0x3e2aa9a5, 0x3d2aa957, 0x3c098d8b, 0x3ab778cf);
  Zv<N> r;
  MQ_ZV_FOR r.v[i] = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(y.v[i], _mm512_mul_ps(x.v[i], x.v[i])), x.v[i]),
                                   _mm512_set1_ps(1.0f));
  // 2^k: the sum's bits are 0x4B400000 + k, whose shift by 23 leaves (k + 127) << 23 after + 127
  MQ_ZV_FOR r.v[i] =
      _mm512_mul_ps(r.v[i], _mm512_castsi512_ps(_mm512_slli_epi32(
                                _mm512_add_epi32(_mm512_castps_si512(t.v[i]), _mm512_set1_epi32(127)), 23)));
  MQ_ZV_FOR r.v[i] = _mm512_mask_blend_ps(
      _mm512_cmp_ps_mask(a.v[i], _mm512_set1_ps(-88.3762626647949f), _CMP_LE_OQ), r.v[i], _mm512_setzero_ps());
  MQ_ZV_FOR r.v[i] =
      _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a.v[i], _mm512_set1_ps(88.3762626647949f), _CMP_GE_OQ), r.v[i],
                           _mm512_set1_ps(__builtin_inff()));
  return r;
}

/// 1 / (1 + exp(−v)), −v by flipping the sign bit (as xsimd's neg).
template <int N>
MQ_ZMM_INLINE Zv<N> zsigmoid(const Zv<N>& v) {
  Zv<N> m;
  MQ_ZV_FOR m.v[i] = flip_sign(v.v[i]);
  Zv<N> e = zexp(m);
  const __m512 one = _mm512_set1_ps(1.0f);
  MQ_ZV_FOR e.v[i] = _mm512_div_ps(one, _mm512_add_ps(one, e.v[i]));
  return e;
}

/// xsimd's float tanh: |v| < 0.625: x + x·x²·P(x²); else 1 − 2 / (1 + exp(2|v|)); v's sign.
template <int N>
MQ_ZMM_INLINE Zv<N> ztanh(const Zv<N>& v) {
  const __m512 one = _mm512_set1_ps(1.0f);
  Zv<N> x, sq, x2;
  MQ_ZV_FOR x.v[i] =
      _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v.v[i]), _mm512_set1_epi32(INT32_MAX)));
  MQ_ZV_FOR sq.v[i] = _mm512_mul_ps(x.v[i], x.v[i]);
  MQ_ZV_FOR x2.v[i] = _mm512_add_ps(x.v[i], x.v[i]);
  const Zv<N> p = horner5(sq, 0xbeaaaa99, 0x3e088393, 0xbd5c1e2d, 0x3ca9134e, 0xbbbaf0ea);
  Zv<N> e = zexp(x2);
  Zv<N> out;
  MQ_ZV_FOR {
    const __m512 small = _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(p.v[i], sq.v[i]), x.v[i]), x.v[i]);
    const __m512 q = _mm512_div_ps(one, _mm512_add_ps(one, e.v[i]));
    const __m512 large = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(-2.0f), q), one);
    const __mmask16 is_small = _mm512_cmp_ps_mask(x.v[i], _mm512_set1_ps(0.625f), _CMP_LT_OQ);
    const __m512i sign = _mm512_and_si512(_mm512_castps_si512(v.v[i]), _mm512_set1_epi32(INT32_MIN));
    out.v[i] = _mm512_castsi512_ps(
        _mm512_xor_si512(_mm512_castps_si512(_mm512_mask_blend_ps(is_small, large, small)), sign));
  }
  return out;
}

/// The cells of N vectors of units: gates (i, o, f, c pre-activations) and the previous c; c is
/// replaced by σ(f)·c + σ(i)·tanh(c̃), and σ(o)·tanh(c) returned (xsimd's operation order).
template <int N>
MQ_ZMM_INLINE Zv<N> lstm_cells(const Zv<N>& gi, const Zv<N>& go, const Zv<N>& gf, const Zv<N>& gc, Zv<N>& c) {
  Zv<3 * N> in;
  MQ_ZV_FOR {
    in.v[i] = gi.v[i];
    in.v[N + i] = gf.v[i];
    in.v[2 * N + i] = go.v[i];
  }
  const Zv<3 * N> s = zsigmoid(in);
  const Zv<N> tc = ztanh(gc);
  MQ_ZV_FOR c.v[i] = _mm512_add_ps(_mm512_mul_ps(s.v[N + i], c.v[i]), _mm512_mul_ps(s.v[i], tc.v[i]));
  const Zv<N> th = ztanh(c);
  Zv<N> h;
  MQ_ZV_FOR h.v[i] = _mm512_mul_ps(s.v[2 * N + i], th.v[i]);
  return h;
}

#undef MQ_ZV_FOR
