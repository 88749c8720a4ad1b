// Element-wise quantization kernels: quantize, dequantize, requantize and dynamic range.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "kernels/cpu_features.h"

namespace mq::kernels {

/// `v` on an 8-bit grid: rounded half to even (as QuantizeLinear), saturated to T's range.
template <class T>
T round_to_grid(double v) {
  const double lo = double(std::numeric_limits<T>::lowest()), hi = double(std::numeric_limits<T>::max());
  return T(std::clamp(std::nearbyint(v), lo, hi));
}

/// Scale and zero point of an affine quantization: real = (q − zero_point) · scale.
struct QuantAffine {
  float scale = 1.0f;           ///< Step between quantized levels (> 0).
  std::int32_t zero_point = 0;  ///< Quantized value of real 0.
};

/// Table of element-wise kernels for one ISA. Rounding is to nearest even; results saturate.
struct QuantKernels {
  /// y = clamp(rne(x / scale) + zp, 0, 255). NaN inputs give an unspecified valid value.
  void (*quantize_u8)(const float* x, std::size_t n, QuantAffine q, std::uint8_t* y);
  /// y = clamp(rne(x / scale) + zp, −128, 127).
  void (*quantize_s8)(const float* x, std::size_t n, QuantAffine q, std::int8_t* y);
  /// y = float(x − zp) · scale.
  void (*dequantize_u8)(const std::uint8_t* x, std::size_t n, QuantAffine q, float* y);
  /// y = float(x − zp) · scale.
  void (*dequantize_s8)(const std::int8_t* x, std::size_t n, QuantAffine q, float* y);
  /// u8 → u8 with a new scale: y = clamp(rne(float(x − in.zp) · (in.scale / out.scale)) + out.zp).
  void (*requantize_u8)(const std::uint8_t* x, std::size_t n, QuantAffine in, QuantAffine out, std::uint8_t* y);
  /// y = dequantize(quantize(x)) to the integer range [qmin, qmax] (a QuantizeLinear read back
  /// by a DequantizeLinear with the same parameters), without the integer round trip: the same
  /// values as the two kernels, +0 for a quantized zero.
  void (*fake_quant)(const float* x, std::size_t n, QuantAffine q, float qmin, float qmax, float* y);
  /// Minimum and maximum of x; NaNs are ignored (no numbers: +inf and −inf).
  void (*minmax_f32)(const float* x, std::size_t n, float* min_out, float* max_out);
};

/// One compiled table of quantization kernels.
struct QuantVariant {
  const char* name;             ///< e.g. "quant__avx2".
  Isa isa;                      ///< Tier it needs.
  const QuantKernels* kernels;  ///< The functions.
};

/// Every compiled variant, lowest tier first.
std::span<const QuantVariant> quant_variants();

/// The best variant at or below `isa` that the CPU supports.
const QuantVariant& quant_select(Isa isa);

/// The variant for active_isa(), chosen once.
const QuantKernels& quant_active();

/// Affine parameters for u8 covering [min(x_min,0), max(x_max,0)] (what dynamic
/// quantization uses): scale = range / 255 with a floor, zero point rounded and clamped.
QuantAffine choose_u8_params(float x_min, float x_max);

}  // namespace mq::kernels
