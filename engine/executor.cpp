#include "engine/executor.h"

#include <array>
#include <mutex>

namespace mq {

namespace {
std::array<Executor, kOpCount>& table() {
  static std::array<Executor, kOpCount> t{};
  return t;
}
void register_all() {
  ops::register_elementwise_exec();
  ops::register_activation_exec();
  ops::register_layers_exec();
  ops::register_shape_exec();
  ops::register_reduce_exec();
  ops::register_pool_norm_exec();
  ops::register_quantized_exec();
  ops::register_fused_exec();
  ops::register_control_flow_exec();
}
}  // namespace

const Tensor& ExecContext::in(size_t i) const {
  if (!has(i)) fail<InvalidArgument>(node.describe(), ": operand ", i, " is required");
  return *inputs[i];
}

void set_executor(OpKind op, Executor e) { table()[size_t(op)] = e; }

const Executor& executor(OpKind op) {
  static std::once_flag once;
  std::call_once(once, register_all);
  return table()[size_t(op)];
}

}  // namespace mq
