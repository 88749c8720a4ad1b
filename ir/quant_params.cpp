#include "ir/quant_params.h"

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

}  // namespace mq
