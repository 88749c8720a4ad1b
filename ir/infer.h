#pragma once
/// Type and shape inference: one function per op, used when a node is added (static types,
/// symbolic dims, constant operands) and by the engine at run time (concrete shapes, every
/// operand's value known). The same function serves both.
#include <vector>

#include "ir/graph.h"

namespace mq {

/// What an inference function sees and fills.
struct InferContext {
  const Node& node;
  std::vector<ValueType> inputs;      ///< one per operand; dtype undefined when absent
  std::vector<const Tensor*> values;  ///< operand values when known (else nullptr)
  std::vector<ValueType> outputs;     ///< to fill, one per node output

  size_t num_inputs() const { return inputs.size(); }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i].dtype != DType::undefined; }
  const ValueType& in(size_t i) const;
  const Shape& shape(size_t i) const { return in(i).shape; }
  DType dtype(size_t i) const { return in(i).dtype; }
  /// The operand's value when known (a constant, or any operand at run time).
  const Tensor* value(size_t i) const { return i < values.size() ? values[i] : nullptr; }
  const Attributes& attrs() const { return node.attrs(); }
  /// Sets output i.
  void set(size_t i, DType dt, Shape s);
  /// Throws ShapeError unless operand i is present.
  void require(size_t i) const;
};

/// An op's inference function.
using InferFn = void (*)(InferContext&);

/// Registers the inference function of an op (called from ir/ops/*.cpp register functions).
void set_infer_fn(OpKind op, InferFn fn);
/// The op's inference function, or nullptr when none is registered.
InferFn infer_fn(OpKind op);

/// True for ops whose outputs are some of their data operands' values, moved (Reshape,
/// Flatten, Squeeze, Unsqueeze, Transpose, Identity, Slice, Split, MaxPool, Concat, Expand,
/// Tile, Resize nearest): they run on int8 values as they are, and inference keeps the
/// operand's per-tensor quantization through them.
bool moves_values(const Node& n);
/// True for ops whose result is a convex mix of the input's values (AveragePool,
/// GlobalAveragePool, Resize linear): on an int8 input it keeps the input's quantization too.
bool averages_values(const Node& n);

/// Runs inference for `node` given operand types and known values; errors name the node.
std::vector<ValueType> infer_node(const Node& node, const std::vector<ValueType>& inputs,
                                  const std::vector<const Tensor*>& values);

}  // namespace mq
