#pragma once
/// What an op builder sees: the ONNX node, its converted attributes, its operands as IR
/// values, and helpers to emit IR nodes. One file per op family registers builders.
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "ir/graph.h"

namespace mq::onnx {

/// Builder context for one ONNX node.
class BuildContext {
 public:
  BuildContext(Graph& g, const ::onnx::NodeProto& proto, int64_t opset, std::string node_name,
               std::vector<Value*> inputs, Attributes attrs)
      : graph(g),
        proto(proto),
        opset(opset),
        name(std::move(node_name)),
        inputs_(std::move(inputs)),
        attrs_(std::move(attrs)) {}

  Graph& graph;
  const ::onnx::NodeProto& proto;
  const int64_t opset;     ///< the model's default-domain opset
  const std::string name;  ///< the IR node name (the ONNX name, or a generated one)

  size_t num_inputs() const { return inputs_.size(); }
  /// Operand i, or nullptr when absent.
  Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  /// Operand i; throws naming the operand when absent.
  Value* required(size_t i) const;
  /// `v` itself; throws naming it (`what`) when absent.
  Value* required_value(Value* v, const char* what) const;
  const std::vector<Value*>& inputs() const { return inputs_; }
  const Attributes& attrs() const { return attrs_; }
  size_t num_outputs() const { return size_t(proto.output_size()); }

  /// Adds a constant value (e.g. an attribute moved into an operand).
  Value* constant(const std::string& hint, Tensor t);
  /// Emits the node that produces this ONNX node's outputs (named as in the ONNX model).
  Node* emit(OpKind op, std::vector<Value*> inputs, Attributes attrs);
  /// Emits an intermediate node (generated output names).
  Node* emit_internal(OpKind op, std::vector<Value*> inputs, Attributes attrs, size_t num_outputs = 1);
  /// Binds ONNX output `i` to an existing value (for ops lowered to several nodes or none).
  void bind(size_t i, Value* v);

  /// Values bound to the ONNX outputs (filled by emit/bind).
  std::vector<Value*> outputs;

 private:
  std::vector<Value*> inputs_;
  Attributes attrs_;
  int internal_count_ = 0;
};

/// Builds the IR for one ONNX node.
using Builder = void (*)(BuildContext&);

/// Registers a builder for an ONNX op type of the default domain.
void register_builder(const std::string& op_type, Builder b);
/// The builder for an op type, or nullptr.
Builder find_builder(const std::string& op_type);
/// The op types that have a builder (in no particular order).
std::vector<std::string> registered_ops();

/// A builder that maps the ONNX op 1:1 onto the IR op of the same semantics.
void build_same(BuildContext& c, OpKind op);

// One register function per op family file.
void register_elementwise_builders();
void register_activation_builders();
void register_layer_builders();
void register_shape_builders();
void register_reduce_builders();
void register_pool_norm_builders();
void register_quantized_builders();
void register_microsoft_builders();

/// The registry key of an ONNX node: its op type, prefixed "domain::" outside the default
/// domain (com.microsoft::QLinearAdd).
std::string builder_key(const ::onnx::NodeProto& n);

}  // namespace mq::onnx
