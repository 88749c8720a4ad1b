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
  if (i >= inputs.size() || inputs[i].dtype == DType::undefined)
    fail<ShapeError>("operand ", i, " is required");
}

std::vector<ValueType> infer_node(const Node& node, const std::vector<ValueType>& inputs,
                                  const std::vector<const Tensor*>& values) {
  InferFn fn = infer_fn(node.op());
  if (!fn) fail<UnsupportedError>(node.describe(), ": no type inference for this op");
  InferContext ctx{node, inputs, values, {}};
  try {
    fn(ctx);
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
