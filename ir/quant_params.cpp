#include "ir/quant_params.h"

#include <cmath>
#include <cstdint>

#include "ir/error.h"

#include <sstream>

namespace mq {

std::string QuantParams::str() const {
  std::ostringstream os;
  os << dtype_name(qtype);
  if (axis) {
    os << " per-channel(axis=" << *axis << ", " << scales.size() << " channels)";
  } else if (!scales.empty()) {
    os << " per-tensor scale=" << scales[0] << " zp=" << (zero_points.empty() ? 0 : zero_points[0]);
  }
  return os.str();
}

void QuantParams::check() const {
  if (scales.empty()) fail<ShapeError>("quantization parameters have no scale");
  if (zero_points.size() != scales.size())
    fail<ShapeError>("quantization parameters have ", scales.size(), " scales but ", zero_points.size(),
                     " zero points");
  for (float v : scales)
    if (!(std::isfinite(v) && v > 0)) fail<ShapeError>("scale ", v, " must be finite and > 0");
  int64_t lo = INT32_MIN, hi = INT32_MAX;
  if (qtype == DType::u8) lo = 0, hi = 255;
  else if (qtype == DType::i8) lo = -128, hi = 127;
  for (int32_t z : zero_points)
    if (z < lo || z > hi) fail<ShapeError>("zero point ", z, " is outside ", dtype_name(qtype), "'s range");
}

}  // namespace mq
