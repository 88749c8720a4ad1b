// Import canonicalization of the elementwise, activation and reduce families, on tiny ONNX
// models built here.
#include <doctest/doctest.h>

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#ifndef ONNX_NAMESPACE
#define ONNX_NAMESPACE onnx
#endif
#include <onnx/onnx_pb.h>

#include <cmath>

#include "engine/session.h"
#include "importers/onnx/import.h"

using namespace mq;

namespace {

/// A one-node model: input "x" (f32, `dims`), output "y", with the node's attributes set by `fill`.
template <class Fill>
std::string one_node_model(const std::string& op, int64_t opset, std::vector<int64_t> dims, Fill fill) {
  ::onnx::ModelProto m;
  m.set_ir_version(7);
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  g->add_output()->set_name("y");
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("node");
  n->add_input("x");
  n->add_output("y");
  fill(*n);
  return m.SerializeAsString();
}

void attr_int(::onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}
void attr_ints(::onnx::NodeProto& n, const std::string& name, std::vector<int64_t> v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}
void attr_float(::onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

Graph import(const std::string& bytes) { return mq::onnx::import_model_bytes(bytes, "model.onnx", "."); }

const Node* only_node(const Graph& g, OpKind op) {
  for (Node* n : g.nodes())
    if (n->op() == op) return n;
  return nullptr;
}

Tensor run(const Graph& g, const Tensor& x) {
  Session s(g, SessionOptions{.threads = 1});
  return s.run({{"x", x}}).at(g.outputs()[0]->name());
}

}  // namespace

TEST_CASE("ReduceMean opset 13: the axes attribute becomes a constant operand") {
  Graph g = import(one_node_model("ReduceMean", 13, {2, 3}, [](auto& n) {
    attr_ints(n, "axes", {-1});
    attr_int(n, "keepdims", 0);
  }));
  const Node* r = only_node(g, OpKind::ReduceMean);
  REQUIRE(r);
  REQUIRE(r->input(1));
  REQUIRE(r->input(1)->is_constant());
  CHECK(r->input(1)->constant()->to_int64() == std::vector<int64_t>{-1});
  CHECK_FALSE(r->attrs().has("axes"));
  CHECK(r->output(0)->shape().str() == "[2]");
  Tensor y = run(g, Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6}));
  CHECK(y.data<float>()[1] == 5.f);
}

TEST_CASE("ReduceSum opset 11 without axes reduces everything") {
  Graph g = import(one_node_model("ReduceSum", 11, {2, 2}, [](auto&) {}));
  const Node* r = only_node(g, OpKind::ReduceSum);
  REQUIRE(r);
  CHECK(r->input(1) == nullptr);
  CHECK(r->output(0)->shape().str() == "[1,1]");
}

TEST_CASE("Clip opset 5 is out of range; opset 10 min/max attributes become operands") {
  CHECK_THROWS_AS(import(one_node_model("Clip", 5, {3}, [](auto&) {})), UnsupportedError);
  Graph g = import(one_node_model("Clip", 10, {3}, [](auto& n) {
    attr_float(n, "min", -1.f);
    attr_float(n, "max", 2.f);
  }));
  const Node* c = only_node(g, OpKind::Clip);
  REQUIRE(c);
  REQUIRE(c->input(1));
  REQUIRE(c->input(2));
  CHECK(c->input(1)->constant()->data<float>()[0] == -1.f);
  CHECK(c->input(2)->constant()->data<float>()[0] == 2.f);
  Tensor y = run(g, Tensor::from_vector<float>({3}, {-5, 0.5f, 5}));
  CHECK(std::vector<float>(y.data<float>(), y.data<float>() + 3) == std::vector<float>{-1, 0.5f, 2});
}

TEST_CASE("Softmax before opset 13: coerced 2-D semantics") {
  // axis = last dim: a plain opset-13 Softmax
  Graph last = import(one_node_model("Softmax", 11, {2, 3}, [](auto&) {}));
  const Node* s = only_node(last, OpKind::Softmax);
  REQUIRE(s);
  CHECK(s->attrs().get_int("axis") == -1);
  // default axis 1 of a 3-D input: normalized over dims 1 and 2 together
  Graph g = import(one_node_model("Softmax", 11, {1, 2, 2}, [](auto&) {}));
  CHECK(only_node(g, OpKind::Softmax) == nullptr);
  REQUIRE(only_node(g, OpKind::ReduceMax));
  Tensor y = run(g, Tensor::from_vector<float>({1, 2, 2}, {0, 0, 0, 0}));
  for (int i = 0; i < 4; ++i) CHECK(y.data<float>()[i] == doctest::Approx(0.25f));
  Graph lg = import(one_node_model("LogSoftmax", 11, {1, 2, 2}, [](auto&) {}));
  Tensor ly = run(lg, Tensor::from_vector<float>({1, 2, 2}, {0, 0, 0, 0}));
  CHECK(ly.data<float>()[0] == doctest::Approx(std::log(0.25f)));
  // opset 13: a single axis, default -1
  Graph g13 = import(one_node_model("Softmax", 13, {1, 2, 2}, [](auto&) {}));
  Tensor y13 = run(g13, Tensor::from_vector<float>({1, 2, 2}, {0, 0, 0, 0}));
  CHECK(y13.data<float>()[0] == doctest::Approx(0.5f));
}

TEST_CASE("Cast converts ONNX's data type enum; unsupported targets are rejected") {
  Graph g =
      import(one_node_model("Cast", 13, {2}, [](auto& n) { attr_int(n, "to", ::onnx::TensorProto::INT64); }));
  const Node* c = only_node(g, OpKind::Cast);
  REQUIRE(c);
  CHECK(c->output(0)->dtype() == DType::i64);
  Tensor y = run(g, Tensor::from_vector<float>({2}, {2.7f, -1.5f}));
  CHECK(y.data<int64_t>()[0] == 2);
  CHECK(y.data<int64_t>()[1] == -1);
  CHECK_THROWS_AS(
      import(one_node_model("Cast", 13, {2}, [](auto& n) { attr_int(n, "to", ::onnx::TensorProto::STRING); })),
      UnsupportedError);
}
