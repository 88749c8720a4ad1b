// Import canonicalization of shape ops: attributes of older opsets become constant operands
// (Split split, Slice starts/ends/axes, Squeeze/Unsqueeze axes, Pad pads/value, Dropout
// ratio); opset-10 Resize and Upsample become Resize with asymmetric/floor semantics.
#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>

#include "engine/session.h"
#include "importers/onnx/import.h"

using namespace mq;

namespace {

struct Model {
  ::onnx::ModelProto m;
  ::onnx::GraphProto* g;
  ::onnx::NodeProto* node = nullptr;

  explicit Model(int64_t opset) {
    m.set_ir_version(7);
    auto* os = m.add_opset_import();
    os->set_domain("");
    os->set_version(opset);
    g = m.mutable_graph();
    g->set_name("t");
  }
  void input(const std::string& name, const std::vector<int64_t>& dims) {
    auto* vi = g->add_input();
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  void floats(const std::string& name, const std::vector<float>& v) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    t->add_dims(int64_t(v.size()));
    for (float f : v) t->add_float_data(f);
  }
  ::onnx::NodeProto* op(const std::string& type, const std::vector<std::string>& ins,
                        const std::vector<std::string>& outs) {
    node = g->add_node();
    node->set_op_type(type);
    node->set_name("n");
    for (auto& i : ins) node->add_input(i);
    for (auto& o : outs) {
      node->add_output(o);
      g->add_output()->set_name(o);
    }
    return node;
  }
  void ints(const std::string& n, const std::vector<int64_t>& v) {
    auto* a = node->add_attribute();
    a->set_name(n);
    a->set_type(::onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  void flts(const std::string& n, const std::vector<float>& v) {
    auto* a = node->add_attribute();
    a->set_name(n);
    a->set_type(::onnx::AttributeProto::FLOATS);
    for (auto x : v) a->add_floats(x);
  }
  void f(const std::string& n, float v) {
    auto* a = node->add_attribute();
    a->set_name(n);
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  void s(const std::string& n, const std::string& v) {
    auto* a = node->add_attribute();
    a->set_name(n);
    a->set_type(::onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  Graph import() { return mq::onnx::import_model_bytes(m.SerializeAsString(), "model.onnx", "."); }
};

Node* only_node(const Graph& g, OpKind op) {
  Node* found = nullptr;
  for (Node* n : g.nodes())
    if (n->op() == op) found = n;
  REQUIRE(found != nullptr);
  return found;
}

std::vector<int64_t> const_operand(const Node* n, size_t i) {
  REQUIRE(n->input(i) != nullptr);
  REQUIRE(n->input(i)->is_constant());
  return n->input(i)->constant()->to_int64();
}

Tensor iota(std::vector<int64_t> dims) {
  int64_t n = 1;
  for (auto d : dims) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = float(i);
  return Tensor::from_vector<float>(std::move(dims), v);
}

std::vector<float> run1(const Graph& g, const Tensor& x, const std::string& out) {
  Session s(g, {.threads = 1});
  Tensor y = s.run({{"x", x}}).at(out);
  auto sp = y.span<float>();
  return {sp.begin(), sp.end()};
}

}  // namespace

TEST_CASE("Split: opset 11 split attribute becomes an operand; opset 13 without sizes gets num_outputs") {
  Model a(11);
  a.input("x", {5});
  a.op("Split", {"x"}, {"y0", "y1"});
  a.ints("split", {2, 3});
  Graph g = a.import();
  Node* n = only_node(g, OpKind::Split);
  CHECK(const_operand(n, 1) == std::vector<int64_t>{2, 3});
  CHECK_FALSE(n->attrs().has("split"));
  CHECK(n->output(1)->shape().str() == "[3]");
  CHECK(run1(g, iota({5}), "y1") == std::vector<float>{2, 3, 4});

  Model b(13);
  b.input("x", {4});
  b.op("Split", {"x"}, {"y0", "y1"});
  Graph h = b.import();
  Node* m = only_node(h, OpKind::Split);
  CHECK(m->attrs().get_int("num_outputs") == 2);
  CHECK(m->output(0)->shape().str() == "[2]");
}

TEST_CASE("Slice opset 9: starts/ends/axes attributes become operands") {
  Model a(9);
  a.input("x", {2, 4});
  a.op("Slice", {"x"}, {"y"});
  a.ints("starts", {1});
  a.ints("ends", {1000});
  a.ints("axes", {1});
  Graph g = a.import();
  Node* n = only_node(g, OpKind::Slice);
  CHECK(const_operand(n, 1) == std::vector<int64_t>{1});
  CHECK(const_operand(n, 2) == std::vector<int64_t>{1000});
  CHECK(const_operand(n, 3) == std::vector<int64_t>{1});
  CHECK(n->output(0)->shape().str() == "[2,3]");
  CHECK(run1(g, iota({2, 4}), "y") == std::vector<float>{1, 2, 3, 5, 6, 7});
}

TEST_CASE("Squeeze/Unsqueeze opset 11: axes attribute becomes an operand") {
  Model a(11);
  a.input("x", {1, 3});
  a.op("Squeeze", {"x"}, {"s"});
  a.ints("axes", {0});
  a.op("Unsqueeze", {"s"}, {"u"});
  a.ints("axes", {1, 2});
  Graph g = a.import();
  CHECK(const_operand(only_node(g, OpKind::Squeeze), 1) == std::vector<int64_t>{0});
  Node* u = only_node(g, OpKind::Unsqueeze);
  CHECK(const_operand(u, 1) == std::vector<int64_t>{1, 2});
  CHECK(u->output(0)->shape().str() == "[3,1,1]");
}

TEST_CASE("Pad opset 10: pads and value attributes become operands of the data's dtype") {
  Model a(10);
  a.input("x", {1, 2});
  a.op("Pad", {"x"}, {"y"});
  a.ints("pads", {0, 1, 0, 2});
  a.f("value", 5.f);
  a.s("mode", "constant");
  Graph g = a.import();
  Node* n = only_node(g, OpKind::Pad);
  CHECK(const_operand(n, 1) == std::vector<int64_t>{0, 1, 0, 2});
  REQUIRE(n->input(2) != nullptr);
  CHECK(n->input(2)->constant()->dtype() == DType::f32);
  CHECK(run1(g, iota({1, 2}), "y") == std::vector<float>{5, 0, 1, 5, 5});
}

TEST_CASE(
    "Upsample (opset 7 attribute, opset 9 operand) and opset-10 Resize become asymmetric/floor "
    "Resize") {
  for (int64_t opset : {7, 9, 10}) {
    CAPTURE(opset);
    Model a(opset);
    a.input("x", {1, 1, 2, 2});
    if (opset == 7) {
      a.op("Upsample", {"x"}, {"y"});
      a.flts("scales", {1, 1, 2, 1.5f});
    } else {
      a.floats("sc", {1, 1, 2, 1.5f});
      a.op(opset == 9 ? "Upsample" : "Resize", {"x", "sc"}, {"y"});
    }
    a.s("mode", "nearest");
    Graph g = a.import();
    Node* n = only_node(g, OpKind::Resize);
    CHECK(n->attrs().get_string("coordinate_transformation_mode") == "asymmetric");
    CHECK(n->attrs().get_string("nearest_mode") == "floor");
    CHECK(n->output(0)->shape().str() == "[1,1,4,3]");
    // columns 0, 1/1.5, 2/1.5 → 0, 0, 1
    CHECK(run1(g, iota({1, 1, 2, 2}), "y") == std::vector<float>{0, 0, 1, 0, 0, 1, 2, 2, 3, 2, 2, 3});
  }
}

TEST_CASE("Resize opset 13: cubic and tf_crop_and_resize are rejected as unsupported") {
  for (const char* mode : {"cubic", "linear"}) {
    Model a(13);
    a.input("x", {1, 1, 2, 2});
    a.floats("sc", {1, 1, 2, 2});
    a.op("Resize", {"x", "", "sc"}, {"y"});
    a.s("mode", mode);
    if (std::string(mode) == "linear") a.s("coordinate_transformation_mode", "tf_crop_and_resize");
    CHECK_THROWS_AS(a.import(), UnsupportedError);
  }
}

TEST_CASE("Dropout opset 10: ratio attribute becomes an operand; the mask is all true") {
  Model a(10);
  a.input("x", {3});
  a.op("Dropout", {"x"}, {"y", "mask"});
  a.f("ratio", 0.25f);
  Graph g = a.import();
  Node* n = only_node(g, OpKind::Dropout);
  REQUIRE(n->input(1) != nullptr);
  CHECK(n->input(1)->constant()->to_float() == std::vector<float>{0.25f});
  CHECK(n->output(1)->dtype() == DType::boolean);
  Session s(g, {.threads = 1});
  auto out = s.run({{"x", iota({3})}});
  auto m = out.at("mask").span<bool>();
  CHECK(std::vector<bool>(m.begin(), m.end()) == std::vector<bool>{true, true, true});
}
