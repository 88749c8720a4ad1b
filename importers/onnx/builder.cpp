#include "importers/onnx/builder.h"

#include <algorithm>
#include <unordered_map>

namespace mq::onnx {

namespace {
std::unordered_map<std::string, Builder>& registry() {
  static std::unordered_map<std::string, Builder> r;
  return r;
}
}  // namespace

void register_builder(const std::string& op_type, Builder b) { registry()[op_type] = b; }

Builder find_builder(const std::string& op_type) {
  auto it = registry().find(op_type);
  return it == registry().end() ? nullptr : it->second;
}

std::vector<std::string> registered_ops() {
  std::vector<std::string> ops;
  for (const auto& [k, v] : registry()) ops.push_back(k);
  return ops;
}

std::string builder_key(const ::onnx::NodeProto& n) {
  const bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
  return default_domain ? n.op_type() : n.domain() + "::" + n.op_type();
}

Value* BuildContext::required_value(Value* v, const char* what) const {
  if (!v) fail<FormatError>("operand '", what, "' is required");
  return v;
}

Value* BuildContext::required(size_t i) const {
  Value* v = input(i);
  if (!v) fail<FormatError>("operand ", i, " is required");
  return v;
}

Value* BuildContext::constant(const std::string& hint, Tensor t) {
  return graph.add_constant(graph.unique_name(name + "_" + hint), std::move(t));
}

Node* BuildContext::emit(OpKind op, std::vector<Value*> in, Attributes attrs) {
  NodeSpec spec;
  spec.name = name;
  spec.inputs = std::move(in);
  spec.attrs = std::move(attrs);
  spec.num_outputs = num_outputs();
  for (int i = 0; i < proto.output_size(); ++i) {
    const std::string& o = proto.output(i);
    spec.output_names.push_back(
        o.empty() || graph.find_value(o) ? graph.unique_name(o.empty() ? name + "_unused" : o) : o);
  }
  Node* n = graph.add_node(op, std::move(spec));
  outputs.assign(n->outputs().begin(), n->outputs().end());
  return n;
}

Node* BuildContext::emit_internal(OpKind op, std::vector<Value*> in, Attributes attrs, size_t n_out) {
  NodeSpec spec;
  spec.name = graph.unique_name(name + "_" + std::string(op_name(op)) + std::to_string(internal_count_++));
  spec.inputs = std::move(in);
  spec.attrs = std::move(attrs);
  spec.num_outputs = n_out;
  return graph.add_node(op, std::move(spec));
}

void BuildContext::bind(size_t i, Value* v) {
  if (outputs.size() <= i) outputs.resize(i + 1, nullptr);
  outputs[i] = v;
}

void build_same(BuildContext& c, OpKind op) { c.emit(op, c.inputs(), c.attrs()); }

}  // namespace mq::onnx
