#include "engine/ops/integer_operands.h"

#include <cmath>

namespace mq::ops {

Int8Type int8_type(const ExecContext& c, const Tensor& t) {
  if (t.dtype() == DType::u8) return Int8Type::u8;
  if (t.dtype() == DType::i8) return Int8Type::s8;
  fail<UnsupportedError>(c.node.describe(), ": operand type ", dtype_name(t.dtype()));
}

std::vector<int32_t> zero_points(const ExecContext& c, size_t i) {
  std::vector<int32_t> z;
  if (!c.has(i)) return z;
  for (int64_t v : c.in(i).to_int64()) z.push_back(int32_t(v));
  return z;
}

std::vector<float> scales(const ExecContext& c, size_t i) {
  auto s = c.in(i).to_float();
  for (float v : s)
    if (!(v > 0.f) || !std::isfinite(v))
      fail<InvalidArgument>(c.node.describe(), ": scale must be positive and finite");
  return s;
}

size_t param_stride(const ExecContext& c, size_t count, int64_t n, const char* what) {
  if (count == 1) return 0;
  if (int64_t(count) != n)
    fail<ShapeError>(c.node.describe(), ": ", what, " has ", count, " values, expected 1 or ", n);
  return 1;
}

std::vector<int32_t> weight_offsets(Int8Type wt, const int32_t* zp, size_t zp_stride, size_t m) {
  std::vector<int32_t> d(m);
  bool any = false;
  for (size_t i = 0; i < m; ++i) {
    d[i] = (wt == Int8Type::u8 ? 128 : 0) - (zp ? zp[i * zp_stride] : 0);
    any = any || d[i] != 0;
  }
  if (!any) d.clear();
  return d;
}

}  // namespace mq::ops
