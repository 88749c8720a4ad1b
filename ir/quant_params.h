#pragma once
/// Affine quantization parameters of a value or tensor: real = scale * (q - zero_point).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/dtype.h"

namespace mq {

/// Scales and zero points, per tensor (one entry, no axis) or per channel along `axis`.
struct QuantParams {
  std::vector<float> scales;         ///< one per tensor or one per channel
  std::vector<int32_t> zero_points;  ///< same length as scales
  std::optional<int64_t> axis;       ///< channel axis; none = per tensor
  DType qtype = DType::u8;           ///< the integer type the values are stored in

  bool per_channel() const { return axis.has_value(); }
  /// ShapeError unless the parameters are usable: at least one scale, as many zero points
  /// as scales, scales finite and > 0, zero points within qtype's range.
  void check() const;
  /// "u8 per-tensor scale=0.1 zp=128" style text.
  std::string str() const;
  bool operator==(const QuantParams&) const = default;
};

}  // namespace mq
