#include "kernels/reference/quant_ref.h"

#include <cmath>

namespace mq::kernels::reference {
namespace {

// Clamp in the float domain to bounds that are integers (so clamp and rounding commute),
// then round half to even. Same operation order as the SIMD versions.
inline std::int32_t quantize_one(float v, float lo, float hi, std::int32_t zp) {
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  if (!(v == v)) v = lo;
  return static_cast<std::int32_t>(std::nearbyint(v)) + zp;
}

void quantize_u8(const float* x, std::size_t n, QuantAffine q, std::uint8_t* y) {
  const float lo = static_cast<float>(0 - q.zero_point), hi = static_cast<float>(255 - q.zero_point);
  for (std::size_t i = 0; i < n; ++i)
    y[i] = static_cast<std::uint8_t>(quantize_one(x[i] / q.scale, lo, hi, q.zero_point));
}

void quantize_s8(const float* x, std::size_t n, QuantAffine q, std::int8_t* y) {
  const float lo = static_cast<float>(-128 - q.zero_point), hi = static_cast<float>(127 - q.zero_point);
  for (std::size_t i = 0; i < n; ++i)
    y[i] = static_cast<std::int8_t>(quantize_one(x[i] / q.scale, lo, hi, q.zero_point));
}

void dequantize_u8(const std::uint8_t* x, std::size_t n, QuantAffine q, float* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i] - q.zero_point) * q.scale;
}

void dequantize_s8(const std::int8_t* x, std::size_t n, QuantAffine q, float* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i] - q.zero_point) * q.scale;
}

void requantize_u8(const std::uint8_t* x, std::size_t n, QuantAffine in, QuantAffine out, std::uint8_t* y) {
  const float m = in.scale / out.scale;
  const float lo = static_cast<float>(0 - out.zero_point), hi = static_cast<float>(255 - out.zero_point);
  for (std::size_t i = 0; i < n; ++i)
    y[i] = static_cast<std::uint8_t>(
        quantize_one(static_cast<float>(x[i] - in.zero_point) * m, lo, hi, out.zero_point));
}

void fake_quant(const float* x, std::size_t n, QuantAffine q, float qmin, float qmax, float* y) {
  const float lo = qmin - static_cast<float>(q.zero_point), hi = qmax - static_cast<float>(q.zero_point);
  for (std::size_t i = 0; i < n; ++i)
    y[i] = static_cast<float>(quantize_one(x[i] / q.scale, lo, hi, q.zero_point) - q.zero_point) * q.scale;
}

void minmax_f32(const float* x, std::size_t n, float* min_out, float* max_out) {
  float lo = INFINITY, hi = -INFINITY;
  for (std::size_t i = 0; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  *min_out = lo;
  *max_out = hi;
}

constexpr QuantKernels table = {quantize_u8,   quantize_s8, dequantize_u8, dequantize_s8,
                                requantize_u8, fake_quant,  minmax_f32};

}  // namespace

const QuantKernels& quant_kernels() { return table; }

}  // namespace mq::kernels::reference
