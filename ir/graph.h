#pragma once
/// The graph IR: values, nodes and the graph that owns them, with one small mutation API.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/attributes.h"
#include "ir/ops.h"
#include "ir/quant_params.h"
#include "ir/shape.h"
#include "ir/tensor.h"

namespace mq {

class Node;

/// The static type of a value: dtype, shape (possibly symbolic) and quantization.
struct ValueType {
  DType dtype = DType::undefined;
  Shape shape = Shape::unknown_rank();
  std::optional<QuantParams> quant;  ///< set when the value holds quantized integers

  std::string str() const;
  bool operator==(const ValueType&) const = default;
};

/// A value: a graph input, a constant (initializer) or a node output.
class Value {
 public:
  const std::string& name() const { return name_; }
  const ValueType& type() const { return type_; }
  DType dtype() const { return type_.dtype; }
  const Shape& shape() const { return type_.shape; }
  /// The producing node, or nullptr for graph inputs and constants.
  Node* producer() const { return producer_; }
  /// The constant's data, when this value is a constant.
  const std::optional<Tensor>& constant() const { return constant_; }
  bool is_constant() const { return constant_.has_value(); }
  /// The nodes that read this value (a node appears once per operand slot using it).
  const std::vector<Node*>& users() const { return users_; }

  /// Changes the value's type (e.g. attaching QuantParams); no re-inference is done.
  void set_type(ValueType t) { type_ = std::move(t); }
  void set_quant(std::optional<QuantParams> q) { type_.quant = std::move(q); }

 private:
  friend class Graph;
  std::string name_;
  ValueType type_;
  Node* producer_ = nullptr;
  std::optional<Tensor> constant_;
  std::vector<Node*> users_;
};

/// One operation. Absent optional inputs are nullptr.
class Node {
 public:
  const std::string& name() const { return name_; }
  OpKind op() const { return op_; }
  std::string_view op_name() const { return mq::op_name(op_); }
  const Attributes& attrs() const { return attrs_; }
  Attributes& attrs() { return attrs_; }
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  /// Input i, or nullptr when absent or beyond the operand count.
  Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  Value* output(size_t i) const { return i < outputs_.size() ? outputs_[i] : nullptr; }
  /// "node 'conv1' (Conv2d)": the prefix of every error about this node.
  std::string describe() const;

 private:
  friend class Graph;
  std::string name_;
  OpKind op_ = OpKind::Identity;
  Attributes attrs_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
};

/// What add_node needs besides the op.
struct NodeSpec {
  std::string name;            ///< unique; made unique if empty or taken
  std::vector<Value*> inputs;  ///< nullptr for absent optional operands
  Attributes attrs;
  size_t num_outputs = 1;
  std::vector<std::string> output_names;  ///< optional; generated when empty
};

/// A graph of nodes in topological order. Owns its values and nodes.
class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;

  /// A deep copy, subgraphs included (constants share their storage, which is immutable by
  /// convention).
  Graph clone() const;

  std::string name;                             ///< model name
  int64_t opset = 0;                            ///< source opset (informational)
  std::map<std::string, std::string> metadata;  ///< free-form producer metadata

  // ---- building ----
  /// Adds a graph input.
  Value* add_input(const std::string& name, ValueType type);
  /// Adds a constant value (an initializer).
  Value* add_constant(const std::string& name, Tensor data);
  /// Appends a node; its output types are inferred now. Throws an mq::Error naming the node.
  Node* add_node(OpKind op, NodeSpec spec);
  /// Inserts a node right before `anchor` in the order (or at the end when anchor is null).
  Node* insert_node(Node* anchor, OpKind op, NodeSpec spec);
  /// Marks a value as a graph output.
  void add_output(Value* v);

  // ---- mutation API ----
  /// Makes graph output `i` value `v` (nodes reading the old value keep reading it).
  void set_output(size_t i, Value* v);
  /// Makes every reader of `from` (nodes and graph outputs) read `to` instead.
  void replace_all_uses(Value* from, Value* to);
  /// Changes operand `i` of `node` to `v` (nullptr removes it).
  void set_input(Node* node, size_t i, Value* v);
  /// Removes a node whose outputs are no longer read.
  void remove_node(Node* node);
  /// Removes operand `i` of `node`; the later operands move down by one.
  void erase_operand(Node* node, size_t i);
  /// Removes a graph input that nothing reads (no node, not a graph output).
  void remove_input(Value* v);
  /// Renames a node; throws when the name is taken.
  void rename_node(Node* node, const std::string& name);
  /// Renames a value; throws when the name is taken.
  void rename_value(Value* value, const std::string& name);
  /// Re-runs type inference of one node (after its inputs or attributes changed).
  void reinfer(Node* node);
  /// Re-runs type inference of every node in order.
  void reinfer_all();
  /// Removes nodes and constants nothing reads (graph outputs count as reads).
  void remove_unused();
  /// Restores topological order after edits that broke it; throws on a cycle.
  void topo_sort();

  // ---- queries ----
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  /// Nodes in execution (topological) order.
  std::vector<Node*> nodes() const;
  size_t node_count() const { return nodes_.size(); }
  /// Every value (inputs, constants, node outputs).
  std::vector<Value*> values() const;
  Value* find_value(const std::string& name) const;
  Node* find_node(const std::string& name) const;
  /// Looks up a value; throws InvalidArgument naming it when absent.
  Value* value(const std::string& name) const;
  /// A name not used by any value or node, based on `base`.
  std::string unique_name(const std::string& base) const;
  bool is_output(const Value* v) const;

 private:
  Value* new_value(std::string name);
  Node* make_node(OpKind op, NodeSpec spec);
  std::vector<std::unique_ptr<Value>> values_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  std::unordered_map<std::string, Value*> value_by_name_;
  std::unordered_map<std::string, Node*> node_by_name_;
};

/// True when both graphs have the same inputs, constants (names, types, data), nodes (names,
/// ops, attributes including subgraphs, operands and outputs by name and type) and outputs.
bool same_structure(const Graph& a, const Graph& b);

}  // namespace mq
