// xsimd bodies of kernels/fp32/vmath.h, templated on an explicit xsimd arch. Include it inside
// an anonymous namespace of a TU built with that arch's flags. Only +, −, ×, ÷, fused
// multiply-add (fmadd: exact on every arch), min, max, floor, comparisons and bit operations:
// the same results on every arch (except silu, a layer epilogue's, which uses the tier's own
// fused multiply-adds).

template <class A>
struct VMath {
  using bf = xsimd::batch<float, A>;
  using bi = xsimd::batch<std::int32_t, A>;
  static constexpr std::size_t W = bf::size;

  /// Cephes expf on a clamped argument: 2^n · P(r), n = round(x·log2 e), r = x − n·ln 2.
  static bf exp(const bf& x0) {
    const bf x = xsimd::min(xsimd::max(x0, bf(-87.33654f)), bf(88.72283f));
    const bf fx = xsimd::floor(x * bf(1.44269504088896341f) + bf(0.5f));
    bf r = x - fx * bf(0.693359375f);
    r = r - fx * bf(-2.12194440e-4f);
    const bf z = r * r;
    bf p = bf(1.9875691500e-4f);
    p = p * r + bf(1.3981999507e-3f);
    p = p * r + bf(8.3334519073e-3f);
    p = p * r + bf(4.1665795894e-2f);
    p = p * r + bf(1.6666665459e-1f);
    p = p * r + bf(5.0000001201e-1f);
    p = p * z + r + bf(1.0f);
    // 2^n as two normal powers of two (n runs from -126 to 128): exact multiplications
    const bi n = xsimd::batch_cast<std::int32_t>(fx);
    const bi h = n >> 1;
    bf y = p * xsimd::bitwise_cast<bf>((h + bi(127)) << 23);
    y = y * xsimd::bitwise_cast<bf>((n - h + bi(127)) << 23);
    y = xsimd::select(x0 > bf(88.72283905f), bf(std::numeric_limits<float>::infinity()), y);
    y = xsimd::select(x0 < bf(-87.33654f), bf(0.f), y);  // below the normal range: 0
    return xsimd::select(xsimd::isnan(x0), x0, y);
  }

  /// x·y + z rounded once: the FMA instruction on the AVX2 and AVX-512 tiers, std::fma per
  /// lane on SSE2 (the same bits everywhere).
  static bf fmadd(const bf& x, const bf& y, const bf& z) {
    if constexpr (std::is_same_v<A, xsimd::avx2>) {
      return bf(_mm256_fmadd_ps(x, y, z));
    } else if constexpr (std::is_same_v<A, xsimd::avx512bw>) {
      return bf(_mm512_fmadd_ps(x, y, z));
    } else {
      alignas(64) float a[W], b[W], c[W];
      x.store_aligned(a);
      y.store_aligned(b);
      z.store_aligned(c);
      for (std::size_t i = 0; i < W; ++i) a[i] = std::fma(a[i], b[i], c[i]);
      return bf::load_aligned(a);
    }
  }

  /// x clamped to [−limit, limit] as MLAS clamps (a NaN passes).
  static bf clamp_to(const bf& x, float limit) {
    const bf v = xsimd::select(bf(-limit) > x, bf(-limit), x);
    return xsimd::select(bf(limit) < v, bf(limit), v);
  }

  /// c[0]·x^(N−1) + … + c[N−1] by Horner's rule, one fmadd a step (MLAS's order).
  template <std::size_t N>
  static bf horner(const bf& x, const float (&c)[N]) {
    bf r = fmadd(x, bf(c[0]), bf(c[1]));
    for (std::size_t k = 2; k < N; ++k) r = fmadd(x, r, bf(c[k]));
    return r;
  }

  /// The logistic function as ONNX Runtime computes it on x86-64 (MLAS's FMA3 kernel: Eigen's
  /// rational approximation, argument clamped to ±18), operation for operation, so a model
  /// gives ORT's bits and an int8 table of it ORT's values: within 1.6e-7 of 1 / (1 + e^-x)
  /// (absolute; below x ≈ −10 that is a large relative error on a tiny value). A NaN passes.
  static bf sigmoid(const bf& x) {
    const bf v = clamp_to(x, 18.f), v2 = v * v;
    const bf p = horner(v2, {4.37031012579801e-11f, 1.15627324459942e-07f, 6.08574864600143e-05f,
                             8.51377133304701e-03f, 2.48287947061529e-01f});
    const bf q = horner(v2, {6.10247389755681e-13f, 5.76102136993427e-09f, 6.29106785017040e-06f,
                             1.70198817374094e-03f, 1.16817656904453e-01f, 9.93151921023180e-01f});
    const bf y = v * p / q + bf(0.5f);
    return xsimd::select(bf(0.f) > y, bf(0.f), y);
  }

  /// x / (1 + e^-x) in one pass for a layer's epilogue: exp's polynomial on -x clamped to
  /// [-87.3, 88] (beyond, the result rounds to x or to -0 anyway) with fused multiply-adds
  /// where the tier has them (so, unlike the functions above, bits differ between tiers), 2^n
  /// as one power of two, and no select: NaN propagates through x.
  static bf silu(const bf& x) {
    const bf t = xsimd::min(xsimd::max(bf(0.f) - x, bf(-87.33654f)), bf(88.f));
    const bf fx = xsimd::nearbyint(t * bf(1.44269504088896341f));
    bf r = xsimd::fnma(fx, bf(0.693359375f), t);
    r = xsimd::fnma(fx, bf(-2.12194440e-4f), r);
    const bf z = r * r;
    bf p = xsimd::fma(bf(1.9875691500e-4f), r, bf(1.3981999507e-3f));
    p = xsimd::fma(p, r, bf(8.3334519073e-3f));
    p = xsimd::fma(p, r, bf(4.1665795894e-2f));
    p = xsimd::fma(p, r, bf(1.6666665459e-1f));
    p = xsimd::fma(p, r, bf(5.0000001201e-1f));
    p = xsimd::fma(p, z, r + bf(1.f));
    const bf e = p * xsimd::bitwise_cast<bf>((xsimd::batch_cast<std::int32_t>(fx) + bi(127)) << 23);
    return x / (bf(1.f) + e);
  }

  /// tanh as ONNX Runtime computes it on x86-64 (MLAS's FMA3 / AVX-512 kernels: Eigen's
  /// rational approximation x·P(x²) / Q(x²), argument clamped to ±9), operation for operation,
  /// so a model gives ORT's bits and an int8 table of it ORT's values; a third of the cost of
  /// an exp-based tanh. A NaN passes.
  static bf tanh(const bf& x) {
    const bf v = clamp_to(x, 9.f), v2 = v * v;
    const bf p =
        horner(v2, {-2.76076847742355e-16f, 2.00018790482477e-13f, -8.60467152213735e-11f, 5.12229709037114e-08f,
                    1.48572235717979e-05f, 6.37261928875436e-04f, 4.89352455891786e-03f});
    const bf q =
        horner(v2, {1.19825839466702e-06f, 1.18534705686654e-04f, 2.26843463243900e-03f, 4.89352518554385e-03f});
    return p * v / q;
  }

  /// The rational approximation of Eigen and TensorFlow (erf is ±1 in float beyond |x| = 4).
  static bf erf(const bf& x0) {
    const bf x = xsimd::min(xsimd::max(x0, bf(-4.f)), bf(4.f));
    const bf x2 = x * x;
    bf p = x2 * bf(-2.72614225801306e-10f) + bf(2.77068142495902e-08f);
    p = x2 * p + bf(-2.10102402082508e-06f);
    p = x2 * p + bf(-5.69250639462346e-05f);
    p = x2 * p + bf(-7.34990630326855e-04f);
    p = x2 * p + bf(-2.95459980854025e-03f);
    p = x2 * p + bf(-1.60960333262415e-02f);
    p = x * p;
    bf q = x2 * bf(-1.45660718464996e-05f) + bf(-2.13374055278905e-04f);
    q = x2 * q + bf(-1.68282697438203e-03f);
    q = x2 * q + bf(-7.37332916720468e-03f);
    q = x2 * q + bf(-1.42647390514189e-02f);
    return xsimd::select(xsimd::isnan(x0), x0, p / q);
  }

  /// Gelu with erf: x/2 · (1 + erf(x/√2)).
  static bf gelu(const bf& x) { return bf(0.5f) * x * (bf(1.f) + erf(x * bf(0.70710678118654752f))); }

  template <class F>
  static void map(const float* x, float* y, std::int64_t n, F f) {
    std::int64_t i = 0;
    for (; i + std::int64_t(W) <= n; i += std::int64_t(W)) f(bf::load_unaligned(x + i)).store_unaligned(y + i);
    if (i < n) {  // the tail through a full batch: the same operations as every other element
      alignas(64) float tmp[W] = {};
      std::memcpy(tmp, x + i, size_t(n - i) * sizeof(float));
      f(bf::load_aligned(tmp)).store_aligned(tmp);
      std::memcpy(y + i, tmp, size_t(n - i) * sizeof(float));
    }
  }
};

/// y = f(a, b) where a or b may be one value repeated (stride 0); the tail goes through a
/// full batch like every other element.
template <class A, class F>
void zip(const float* a, std::int64_t sa, const float* b, std::int64_t sb, float* y, std::int64_t n, F f) {
  using bf = typename VMath<A>::bf;
  constexpr std::int64_t W = std::int64_t(VMath<A>::W);
  const bf ca(a[0]), cb(b[0]);
  if (!sa && !sb) {  // one value
    alignas(64) float t[W];
    f(ca, cb).store_aligned(t);
    for (std::int64_t k = 0; k < n; ++k) y[k] = t[0];
    return;
  }
  std::int64_t i = 0;
  if (sa && sb) {
    for (; i + W <= n; i += W) f(bf::load_unaligned(a + i), bf::load_unaligned(b + i)).store_unaligned(y + i);
  } else if (sa) {
    for (; i + W <= n; i += W) f(bf::load_unaligned(a + i), cb).store_unaligned(y + i);
  } else {
    for (; i + W <= n; i += W) f(ca, bf::load_unaligned(b + i)).store_unaligned(y + i);
  }
  if (i < n) {
    alignas(64) float ta[W] = {}, tb[W] = {};
    const std::int64_t m = n - i;
    for (std::int64_t k = 0; k < m; ++k) {
      ta[k] = a[sa ? i + k : 0];
      tb[k] = b[sb ? i + k : 0];
    }
    f(bf::load_aligned(ta), bf::load_aligned(tb)).store_aligned(ta);
    std::memcpy(y + i, ta, size_t(m) * sizeof(float));
  }
}

template <class A>
void arith(int op, const float* a, std::int64_t sa, const float* b, std::int64_t sb, float* y, std::int64_t n) {
  using bf = typename VMath<A>::bf;
  switch (op) {
    case 0: return zip<A>(a, sa, b, sb, y, n, [](const bf& u, const bf& v) { return u + v; });
    case 1: return zip<A>(a, sa, b, sb, y, n, [](const bf& u, const bf& v) { return u - v; });
    case 2: return zip<A>(a, sa, b, sb, y, n, [](const bf& u, const bf& v) { return u * v; });
    case 3: return zip<A>(a, sa, b, sb, y, n, [](const bf& u, const bf& v) { return u / v; });
    case 4:  // NaN in a propagates, as kernels::binary's max
      return zip<A>(a, sa, b, sb, y, n,
                    [](const bf& u, const bf& v) { return xsimd::select(xsimd::isnan(u) || u > v, u, v); });
    case 5:
      return zip<A>(a, sa, b, sb, y, n,
                    [](const bf& u, const bf& v) { return xsimd::select(xsimd::isnan(u) || u < v, u, v); });
    default: return;
  }
}

template <class A>
const VMathKernels& vmath_kernels_for() {
  static const VMathKernels k{
      [](const float* x, float* y, std::int64_t n) {
        VMath<A>::map(x, y, n, [](auto v) { return VMath<A>::exp(v); });
      },
      [](const float* x, float* y, std::int64_t n) {
        VMath<A>::map(x, y, n, [](auto v) { return VMath<A>::sigmoid(v); });
      },
      [](const float* x, float* y, std::int64_t n) {
        VMath<A>::map(x, y, n, [](auto v) { return VMath<A>::tanh(v); });
      },
      [](const float* x, float* y, std::int64_t n) {
        VMath<A>::map(x, y, n, [](auto v) { return VMath<A>::erf(v); });
      },
      [](const float* x, float* y, std::int64_t n) {
        VMath<A>::map(x, y, n, [](auto v) { return VMath<A>::gelu(v); });
      },
      [](const float* x, float* y, std::int64_t n) {
        VMath<A>::map(x, y, n, [](auto v) { return VMath<A>::silu(v); });
      },
      arith<A>,
  };
  return k;
}
