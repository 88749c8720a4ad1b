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

std::optional<std::vector<int64_t>> const_ints(const InferContext& c, size_t i) {
  if (!c.has_input(i) || !c.value(i)) return std::nullopt;
  return c.value(i)->to_int64();
}

}  // namespace mq::ops
