#include "engine/executor.h"

#include "ir/infer.h"

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

std::shared_ptr<void> prepare_node(const Node& n, const SessionOptions& options) {
  const Executor& e = executor(n.op());
  if (e.prepare_with_options)
    return with_context(n.describe(), [&] { return e.prepare_with_options(n, options); });
  if (e.prepare) return with_context(n.describe(), [&] { return e.prepare(n); });
  return nullptr;
}

std::vector<Tensor> run_node(const Node& n, const std::vector<const Tensor*>& inputs, int64_t max_elements,
                             int64_t max_bytes) {
  const Executor& e = executor(n.op());
  if (!e.run) fail<UnsupportedError>(n.describe(), ": the engine cannot run it");
  ExecContext ctx{n, inputs, {}, nullptr, nullptr, 1};
  if (!e.makes_outputs) {
    std::vector<ValueType> types;
    for (const Tensor* t : inputs) {
      ValueType vt;
      if (t) {
        vt.dtype = t->dtype();
        vt.shape = t->shape();
        vt.quant = t->quant();
      }
      types.push_back(vt);
    }
    const std::vector<ValueType> out_types = infer_node(n, types, inputs);
    double bytes = 0;
    for (const ValueType& t : out_types) {
      if (!t.shape.is_static()) return {};
      double elements = 1;
      for (int64_t d : t.shape.values()) elements *= double(d);
      if (max_elements > 0 && elements > double(max_elements)) return {};
      bytes += elements * double(dtype_size(t.dtype));
    }
    if (max_bytes > 0 && bytes > double(max_bytes)) return {};
    for (const ValueType& t : out_types) {
      ctx.outputs.emplace_back(t.dtype, t.shape.values());
      if (t.quant) ctx.outputs.back().set_quant(t.quant);
    }
  }
  const std::shared_ptr<void> state = prepare_node(n, SessionOptions{.threads = 1});
  ctx.state = state.get();
  e.run(ctx);
  return std::move(ctx.outputs);
}

const Executor& executor(OpKind op) {
  static std::once_flag once;
  std::call_once(once, register_all);
  return table()[size_t(op)];
}

}  // namespace mq
