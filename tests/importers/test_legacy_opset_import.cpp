// Opset-6 import canonicalization: legacy broadcast/axis of binary ops, per-channel PRelu
// slopes, and training-mode (is_test = 0) BatchNormalization/Dropout rejected; opset 5 refused.
#include <doctest/doctest.h>

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#ifndef ONNX_NAMESPACE
#define ONNX_NAMESPACE onnx
#endif
#include <onnx/onnx_pb.h>

#include "engine/session.h"
#include "importers/onnx/import.h"

using namespace mq;

namespace {

void add_input(::onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims) {
  auto* in = g->add_input();
  in->set_name(name);
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
}

void attr_int(::onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}

/// A one-node model with inputs x (x_dims) and, when b_dims is given, b: a graph input, or
/// an initializer holding b_values when they are given.
template <class Fill>
std::string model(const std::string& op, int64_t opset, std::vector<int64_t> x_dims,
                  std::optional<std::vector<int64_t>> b_dims, std::vector<float> b_values, Fill fill) {
  ::onnx::ModelProto m;
  m.set_ir_version(3);
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("g");
  add_input(g, "x", x_dims);
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("node");
  n->add_input("x");
  if (b_dims) {
    n->add_input("b");
    if (b_values.empty()) {
      add_input(g, "b", *b_dims);
    } else {
      auto* t = g->add_initializer();
      t->set_name("b");
      t->set_data_type(::onnx::TensorProto::FLOAT);
      for (int64_t d : *b_dims) t->add_dims(d);
      for (float v : b_values) t->add_float_data(v);
    }
  }
  n->add_output("y");
  g->add_output()->set_name("y");
  fill(*n);
  return m.SerializeAsString();
}

Graph import(const std::string& bytes) { return mq::onnx::import_model_bytes(bytes, "model.onnx", "."); }

Tensor iota(std::vector<int64_t> dims) {
  Tensor t(DType::f32, std::move(dims));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(i);
  return t;
}

std::vector<float> values(const Tensor& t) { return t.to_float(); }

}  // namespace

TEST_CASE("opset 6 Add with broadcast = 1 and axis aligns B at the axis (input and constant B)") {
  auto fill = [](::onnx::NodeProto& n) {
    attr_int(n, "broadcast", 1);
    attr_int(n, "axis", 1);
  };
  // x [2,3,2] + b [3] at axis 1: b[j] added to x[i][j][k]
  const std::vector<float> want = {10, 11, 22, 23, 34, 35, 16, 17, 28, 29, 40, 41};
  Graph gi = import(model("Add", 6, {2, 3, 2}, std::vector<int64_t>{3}, {}, fill));
  Session si(gi, SessionOptions{.threads = 1});
  TensorMap out = si.run({{"x", iota({2, 3, 2})}, {"b", Tensor::from_vector<float>({3}, {10, 20, 30})}});
  CHECK(values(out.at("y")) == want);
  CHECK(gi.value("y")->shape().str() == "[2,3,2]");

  Graph gc = import(model("Add", 6, {2, 3, 2}, std::vector<int64_t>{3}, {10, 20, 30}, fill));
  Session sc(gc, SessionOptions{.threads = 1});
  CHECK(values(sc.run({{"x", iota({2, 3, 2})}}).at("y")) == want);
}

TEST_CASE("opset 6 Mul without axis broadcasts B over A's trailing dims; opset 5 is refused") {
  Graph g = import(
      model("Mul", 6, {2, 2}, std::vector<int64_t>{2}, {2, 3}, [](auto& n) { attr_int(n, "broadcast", 1); }));
  Session s(g, SessionOptions{.threads = 1});
  CHECK(values(s.run({{"x", iota({2, 2})}}).at("y")) == std::vector<float>{0, 3, 4, 9});
  CHECK_THROWS_AS(import(model("Mul", 5, {2, 2}, std::vector<int64_t>{2}, {2, 3}, [](auto&) {})),
                  UnsupportedError);
}

TEST_CASE("opset 6 legacy broadcast axis that does not fit is a ShapeError") {
  CHECK_THROWS_AS(import(model("Sub", 6, {2, 3}, std::vector<int64_t>{3}, {},
                               [](auto& n) {
                                 attr_int(n, "broadcast", 1);
                                 attr_int(n, "axis", 0);
                               })),
                  ShapeError);
}

TEST_CASE("opset 6 PRelu: a 1-D slope is per channel") {
  Graph g = import(model("PRelu", 6, {1, 2, 2}, std::vector<int64_t>{2}, {0.5f, 0.25f}, [](auto&) {}));
  Session s(g, SessionOptions{.threads = 1});
  Tensor x = Tensor::from_vector<float>({1, 2, 2}, {-4, 4, -4, -8});
  CHECK(values(s.run({{"x", x}}).at("y")) == std::vector<float>{-2, 4, -1, -2});
}

TEST_CASE("opset 6 BatchNormalization and Dropout in training mode (is_test = 0) are unsupported") {
  CHECK_THROWS_AS(import(model("Dropout", 6, {2}, std::nullopt, {}, [](auto&) {})), UnsupportedError);
  Graph g = import(model("Dropout", 6, {2}, std::nullopt, {}, [](auto& n) { attr_int(n, "is_test", 1); }));
  Session s(g, SessionOptions{.threads = 1});
  CHECK(values(s.run({{"x", iota({2})}}).at("y")) == std::vector<float>{0, 1});
  // BatchNormalization: the check comes before the operands are looked at
  CHECK_THROWS_AS(import(model("BatchNormalization", 6, {1, 2}, std::nullopt, {}, [](auto&) {})),
                  UnsupportedError);
}
