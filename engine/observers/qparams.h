#pragma once
/// Quantization-parameter math: observed ranges → scale / zero point, plus the reference
/// quantize / dequantize helpers and SQNR used to judge quantized weights.
///
/// Two conventions are implemented, selected by QuantScheme::convention:
///
/// * `pytorch` (default) — torch.ao.quantization observers (`_calculate_qparams`, torch 1.13):
///   float32 arithmetic; range widened to include 0; qmin/qmax = u8 0..255 (reduce_range
///   0..127), s8 −128..127 (reduce_range −64..63);
///   asymmetric: scale = max((max − min) / (qmax − qmin), eps), eps = 2^-23 (float32 eps),
///               zp = clamp(qmin − round_half_even(min / scale), qmin, qmax);
///   symmetric:  scale = max(max(|min|, |max|) / ((qmax − qmin) / 2), eps),
///               zp = 0 for s8, 128 for u8 (u8 symmetric with reduce_range is rejected, as
///               PyTorch rejects it).
/// * `onnxruntime` — onnxruntime.quantization.quant_utils (`compute_scale_zp`,
///   `get_qmin_qmax_for_qType`, ORT ≥ 1.16): qmin/qmax = u8 0..255 (reduce 0..127),
///   s8 −128..127, s8 symmetric −127..127, s8 reduce_range −64..64; scale computed in double
///   from (max − min) / (qmax − qmin) (symmetric: ±absmax); a scale below the smallest normal
///   float (1.17549435e-38) becomes scale 1, zp 0; otherwise
///   zp = round_half_even(qmin − min / scale) (symmetric: round((qmin + qmax) / 2)), and the
///   scale is then rounded to float.
///
/// Per-channel parameters apply the same formula to each channel's range independently.
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "engine/sqnr.h"
#include "ir/dtype.h"
#include "ir/quant_params.h"
#include "ir/tensor.h"

namespace mq {

/// Which framework's formulas to reproduce bit for bit.
enum class QuantConvention : uint8_t {
  pytorch,      ///< torch.ao.quantization observers (default)
  onnxruntime,  ///< onnxruntime.quantization.quant_utils.compute_scale_zp
};

/// How a range is mapped to integers.
struct QuantScheme {
  DType qtype = DType::u8;    ///< u8 or i8
  bool symmetric = false;     ///< range ±max(|min|, |max|), fixed zero point
  bool reduce_range = false;  ///< use 7 bits (for CPUs whose u8×s8 products may saturate)
  QuantConvention convention = QuantConvention::pytorch;  ///< whose formulas to follow

  /// Activation default: u8 asymmetric per tensor.
  static QuantScheme activation() { return {}; }
  /// Weight default: s8 symmetric (per channel when the observer has an axis).
  static QuantScheme weight() { return {DType::i8, true, false, QuantConvention::pytorch}; }
};

/// An inclusive integer interval [qmin, qmax].
struct QRange {
  int32_t qmin = 0;  ///< smallest quantized value
  int32_t qmax = 0;  ///< largest quantized value
};

/// PyTorch's float32 epsilon, the smallest scale its observers return.
inline constexpr float kScaleEps = 1.1920928955078125e-07f;

/// The integer range a scheme quantizes to (depends on the convention, see above).
QRange quant_range(const QuantScheme& scheme);

/// Scale and zero point for one range [min_val, max_val] (min ≤ max; both finite).
std::pair<float, int32_t> compute_scale_zero_point(float min_val, float max_val, const QuantScheme& scheme);

/// Per-tensor QuantParams from one range.
QuantParams compute_qparams(float min_val, float max_val, const QuantScheme& scheme);

/// Per-tensor (axis empty, one range) or per-channel (axis set, one range per channel)
/// QuantParams. Throws InvalidArgument on mismatched lengths, min > max or non-finite input.
QuantParams compute_qparams(std::span<const float> min_vals, std::span<const float> max_vals,
                            std::optional<int64_t> axis, const QuantScheme& scheme);

/// Quantizes one value: saturate(round_half_even(x / scale) + zp) to the qtype's full range.
int32_t quantize_value(float x, float scale, int32_t zero_point, DType qtype);

/// Quantizes an f32 tensor with `qp` (per tensor, or per channel along qp.axis) into a u8 or
/// i8 tensor carrying `qp`. Rounds half to even and saturates, as ONNX QuantizeLinear.
Tensor quantize_tensor(const Tensor& x, const QuantParams& qp);

/// Dequantizes a u8 / i8 tensor with its own quant params: scale * (q − zp), as f32.
Tensor dequantize_tensor(const Tensor& q);

/// quantize then dequantize (what the quantized model will see in place of `x`).
Tensor fake_quantize(const Tensor& x, const QuantParams& qp);

}  // namespace mq
