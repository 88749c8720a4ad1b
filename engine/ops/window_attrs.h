#pragma once
/// Attributes convolutions and pooling windows share.
#include <string>

namespace mq::ops {

/// ONNX's auto_pad as kernels::spatial_geometry's code: 0 NOTSET (pads given), 1 VALID,
/// 2 SAME_UPPER, 3 SAME_LOWER.
inline int auto_pad_code(const std::string& s) {
  if (s == "VALID") return 1;
  if (s == "SAME_UPPER") return 2;
  if (s == "SAME_LOWER") return 3;
  return 0;
}

}  // namespace mq::ops
