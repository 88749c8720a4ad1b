// Inference helpers shared by the op family files.
#include "ir/ops/families.h"

namespace mq::ops {

void infer_same_as_input0(InferContext& c) { c.set(0, c.dtype(0), c.shape(0)); }

void infer_broadcast(InferContext& c, bool to_bool) {
  Shape s = c.shape(0);
  for (size_t i = 1; i < c.num_inputs(); ++i)
    if (c.has_input(i)) s = broadcast_shapes(s, c.shape(i));
  c.set(0, to_bool ? DType::boolean : c.dtype(0), std::move(s));
}

int64_t mul_dims(int64_t a, int64_t b) {
  constexpr int64_t kMax = int64_t(1) << 48;  // a tensor's most elements (ir/tensor.cpp)
  int64_t p = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &p) || p > kMax)
    fail<ShapeError>("a shape of ", a, " × ", b, " elements is out of range (at most 2^48)");
  return p;
}

std::optional<std::vector<int64_t>> const_ints(const InferContext& c, size_t i) {
  if (!c.has_input(i) || !c.value(i)) return std::nullopt;
  return c.value(i)->to_int64();
}

}  // namespace mq::ops
