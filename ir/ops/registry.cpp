// Fills the inference table once: each op family's file registers its functions here.
#include <array>
#include <mutex>

#include "ir/infer.h"
#include "ir/ops/families.h"

namespace mq {

namespace {
std::array<InferFn, kOpCount>& table() {
  static std::array<InferFn, kOpCount> t{};
  return t;
}
void register_all() {
  ops::register_elementwise();
  ops::register_activation();
  ops::register_layers();
  ops::register_shape_ops();
  ops::register_reduce();
  ops::register_pool_norm();
  ops::register_quantized();
  ops::register_control_flow();
}
}  // namespace

void set_infer_fn(OpKind op, InferFn fn) { table()[size_t(op)] = fn; }

InferFn infer_fn(OpKind op) {
  static std::once_flag once;
  std::call_once(once, register_all);
  return table()[size_t(op)];
}

}  // namespace mq
