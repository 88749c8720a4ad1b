#include "ir/infer.h"

namespace mq {

const ValueType& InferContext::in(size_t i) const {
  require(i);
  return inputs[i];
}

void InferContext::set(size_t i, DType dt, Shape s) {
  if (outputs.size() <= i) outputs.resize(i + 1);
  outputs[i].dtype = dt;
  outputs[i].shape = std::move(s);
}

void InferContext::require(size_t i) const {
  if (i >= inputs.size() || inputs[i].dtype == DType::undefined) fail<ShapeError>("operand ", i, " is required");
}

bool moves_values(const Node& n) {
  switch (n.op()) {
    case OpKind::Reshape:
    case OpKind::Flatten:
    case OpKind::Squeeze:
    case OpKind::Unsqueeze:
    case OpKind::Transpose:
    case OpKind::Identity:
    case OpKind::Slice:
    case OpKind::Split:
    case OpKind::MaxPool:
    case OpKind::GlobalMaxPool:
    case OpKind::Concat:
    case OpKind::Expand:
    case OpKind::Tile: return true;
    case OpKind::Resize: return n.attrs().get_string_or("mode", "nearest") == "nearest";
    default: return false;
  }
}

bool averages_values(const Node& n) {
  if (n.op() == OpKind::AveragePool || n.op() == OpKind::GlobalAveragePool) return true;
  return n.op() == OpKind::Resize && n.attrs().get_string_or("mode", "nearest") == "linear";
}

namespace {

void keep_quantization(const Node& n, const std::vector<ValueType>& inputs, std::vector<ValueType>& outputs) {
  if (inputs.empty() || !(moves_values(n) || averages_values(n))) return;
  const auto& q = inputs[0].quant;
  if (!q || q->per_channel()) return;
  const size_t data_operands = n.op() == OpKind::Concat ? inputs.size() : 1;
  for (size_t i = 1; i < data_operands; ++i)
    if (inputs[i].dtype != inputs[0].dtype || inputs[i].quant != q) return;
  for (size_t i = 0; i < outputs.size(); ++i)
    if (outputs[i].dtype == inputs[0].dtype && !outputs[i].quant && (n.op() != OpKind::MaxPool || i == 0))
      outputs[i].quant = q;
}

}  // namespace

std::vector<ValueType> infer_node(const Node& node, const std::vector<ValueType>& inputs,
                                  const std::vector<const Tensor*>& values) {
  InferFn fn = infer_fn(node.op());
  if (!fn) fail<UnsupportedError>(node.describe(), ": no type inference for this op");
  InferContext ctx{node, inputs, values, {}};
  try {
    fn(ctx);
    keep_quantization(node, inputs, ctx.outputs);
  } catch (const ShapeError& e) {
    throw ShapeError(node.describe() + ": " + e.message());
  } catch (const UnsupportedError& e) {
    throw UnsupportedError(node.describe() + ": " + e.message());
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(node.describe() + ": " + e.message());
  } catch (const Error& e) {
    throw Error(node.describe() + ": " + e.message());
  }
  return ctx.outputs;
}

}  // namespace mq
