// xsimd bodies of the quantization kernels, templated on an explicit xsimd arch. Include it
// inside an anonymous namespace of a TU built with that arch's flags, after defining
// `narrow_store_u8/s8(batch<int32_t, A>, ptr)` and `load_widen(u8/s8 ptr) -> batch<int32_t, A>`.

template <class A>
void quantize_impl(const float* x, std::size_t n, QuantAffine q, float qlo, float qhi, void* y, bool is_signed) {
  using bf = xsimd::batch<float, A>;
  using bi = xsimd::batch<std::int32_t, A>;
  constexpr std::size_t W = bf::size;
  const bf scale(q.scale);
  const bf lo(qlo - static_cast<float>(q.zero_point));
  const bf hi(qhi - static_cast<float>(q.zero_point));
  const bi zp(q.zero_point);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    bf v = bf::load_unaligned(x + i) / scale;
    v = xsimd::min(xsimd::max(v, lo), hi);  // NaN → lo (the second operand wins)
    const bi r = xsimd::batch_cast<std::int32_t>(xsimd::nearbyint(v)) + zp;
    if (is_signed) narrow_store_s8(r, static_cast<std::int8_t*>(y) + i);
    else narrow_store_u8(r, static_cast<std::uint8_t*>(y) + i);
  }
  if (i < n) {
    alignas(64) float tmp[W] = {};
    alignas(64) std::int8_t out[W];
    std::memcpy(tmp, x + i, (n - i) * sizeof(float));
    quantize_impl<A>(tmp, W, q, qlo, qhi, out, is_signed);
    std::memcpy(static_cast<std::int8_t*>(y) + i, out, n - i);
  }
}

template <class A>
void quantize_u8_t(const float* x, std::size_t n, QuantAffine q, std::uint8_t* y) {
  quantize_impl<A>(x, n, q, 0.0f, 255.0f, y, false);
}
template <class A>
void quantize_s8_t(const float* x, std::size_t n, QuantAffine q, std::int8_t* y) {
  quantize_impl<A>(x, n, q, -128.0f, 127.0f, y, true);
}

template <class A, class T>
void dequantize_t(const T* x, std::size_t n, QuantAffine q, float* y) {
  using bf = xsimd::batch<float, A>;
  using bi = xsimd::batch<std::int32_t, A>;
  constexpr std::size_t W = bf::size;
  const bf scale(q.scale);
  const bi zp(q.zero_point);
  std::size_t i = 0;
  for (; i + W <= n; i += W) (xsimd::batch_cast<float>(load_widen(x + i) - zp) * scale).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = static_cast<float>(x[i] - q.zero_point) * q.scale;
}

template <class A>
void requantize_u8_t(const std::uint8_t* x, std::size_t n, QuantAffine in, QuantAffine out, std::uint8_t* y) {
  using bf = xsimd::batch<float, A>;
  using bi = xsimd::batch<std::int32_t, A>;
  constexpr std::size_t W = bf::size;
  const bf m(in.scale / out.scale);
  const bf lo(static_cast<float>(0 - out.zero_point)), hi(static_cast<float>(255 - out.zero_point));
  const bi in_zp(in.zero_point), out_zp(out.zero_point);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    bf v = xsimd::batch_cast<float>(load_widen(x + i) - in_zp) * m;
    v = xsimd::min(xsimd::max(v, lo), hi);
    narrow_store_u8(xsimd::batch_cast<std::int32_t>(xsimd::nearbyint(v)) + out_zp, y + i);
  }
  if (i < n) {
    alignas(64) std::uint8_t tmp[W] = {}, res[W];
    std::memcpy(tmp, x + i, n - i);
    requantize_u8_t<A>(tmp, W, in, out, res);
    std::memcpy(y + i, res, n - i);
  }
}

template <class A>
void fake_quant_t(const float* x, std::size_t n, QuantAffine q, float qmin, float qmax, float* y) {
  using bf = xsimd::batch<float, A>;
  constexpr std::size_t W = bf::size;
  const bf scale(q.scale);
  const bf lo(qmin - static_cast<float>(q.zero_point));
  const bf hi(qmax - static_cast<float>(q.zero_point));
  const bf zero(0.0f);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    bf v = bf::load_unaligned(x + i) / scale;
    v = xsimd::min(xsimd::max(v, lo), hi);                          // NaN → lo (the second operand wins)
    ((xsimd::nearbyint(v) + zero) * scale).store_unaligned(y + i);  // + 0: −0 becomes +0
  }
  if (i < n) {
    alignas(64) float tmp[W] = {}, out[W];
    std::memcpy(tmp, x + i, (n - i) * sizeof(float));
    fake_quant_t<A>(tmp, W, q, qmin, qmax, out);
    std::memcpy(y + i, out, (n - i) * sizeof(float));
  }
}

template <class A>
void minmax_t(const float* x, std::size_t n, float* min_out, float* max_out) {
  using bf = xsimd::batch<float, A>;
  constexpr std::size_t W = bf::size;
  bf lo0(INFINITY), lo1(INFINITY), hi0(-INFINITY), hi1(-INFINITY);
  std::size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {  // min(x, acc): a NaN x keeps acc
    const bf a = bf::load_unaligned(x + i), b = bf::load_unaligned(x + i + W);
    lo0 = xsimd::min(a, lo0);
    hi0 = xsimd::max(a, hi0);
    lo1 = xsimd::min(b, lo1);
    hi1 = xsimd::max(b, hi1);
  }
  alignas(64) float l[W], h[W];
  xsimd::min(lo0, lo1).store_aligned(l);
  xsimd::max(hi0, hi1).store_aligned(h);
  float lo = INFINITY, hi = -INFINITY;
  for (std::size_t j = 0; j < W; ++j) {
    lo = l[j] < lo ? l[j] : lo;
    hi = h[j] > hi ? h[j] : hi;
  }
  for (; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  *min_out = lo;
  *max_out = hi;
}

template <class A>
constexpr QuantKernels make_table() {
  return {quantize_u8_t<A>,
          quantize_s8_t<A>,
          dequantize_t<A, std::uint8_t>,
          dequantize_t<A, std::int8_t>,
          requantize_u8_t<A>,
          fake_quant_t<A>,
          minmax_t<A>};
}
