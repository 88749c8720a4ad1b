// Import canonicalization of layers: Gemm / MatMul with a constant weight become Linear
// (weight stored [out, in], alpha and beta folded), other forms stay Gemm / MatMul; 1-D and
// 3-D Conv handling.
#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>

#include <random>

#include "engine/session.h"
#include "importers/onnx/import.h"

using namespace mq;

namespace {
// A small ONNX model builder: float inputs, initializers and one node.
struct ModelBuilder {
  ::onnx::ModelProto m;
  ::onnx::GraphProto* g;
  ::onnx::NodeProto* node = nullptr;

  explicit ModelBuilder(int64_t opset = 13) {
    m.set_ir_version(8);
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
  void initializer(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float f : v) t->add_float_data(f);
  }
  ::onnx::NodeProto* op(const std::string& type, const std::vector<std::string>& ins, const std::string& out) {
    node = g->add_node();
    node->set_op_type(type);
    node->set_name("n");
    for (auto& i : ins) node->add_input(i);
    node->add_output(out);
    g->add_output()->set_name(out);
    return node;
  }
  void attr_i(const std::string& n, int64_t v) {
    auto* a = node->add_attribute();
    a->set_name(n);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
  }
  void attr_f(const std::string& n, float v) {
    auto* a = node->add_attribute();
    a->set_name(n);
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  Graph import() { return mq::onnx::import_model_bytes(m.SerializeAsString(), "test.onnx", "."); }
};

std::vector<float> iota(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * float(int(i % 7) - 3);
  return v;
}

std::vector<Node*> nodes_of(const Graph& g, OpKind op) {
  std::vector<Node*> r;
  for (Node* n : g.nodes())
    if (n->op() == op) r.push_back(n);
  return r;
}
}  // namespace

TEST_CASE("Gemm with a constant B and a row bias C becomes one Linear; weight is alpha·Bᵀ") {
  for (int tb = 0; tb < 2; ++tb) {
    CAPTURE(tb);
    ModelBuilder mb;
    mb.input("A", {2, 3});
    const std::vector<float> b = iota(12, 1.f), c = {1, 2, 3, 4};
    mb.initializer("B", tb ? std::vector<int64_t>{4, 3} : std::vector<int64_t>{3, 4}, b);
    mb.initializer("C", {4}, c);
    mb.op("Gemm", {"A", "B", "C"}, "Y");
    mb.attr_i("transB", tb);
    mb.attr_f("alpha", 2.f);
    mb.attr_f("beta", 0.5f);
    Graph g = mb.import();
    REQUIRE(g.node_count() == 1);
    Node* lin = g.nodes()[0];
    CHECK(lin->op() == OpKind::Linear);
    const Tensor& w = *lin->input(1)->constant();
    CHECK(w.dims() == std::vector<int64_t>{4, 3});
    for (int64_t o = 0; o < 4; ++o)
      for (int64_t k = 0; k < 3; ++k)
        CHECK(w.data<float>()[o * 3 + k] == 2.f * (tb ? b[size_t(o * 3 + k)] : b[size_t(k * 4 + o)]));
    const Tensor& bias = *lin->input(2)->constant();
    CHECK(bias.span<float>()[3] == 2.f);  // beta · C
    CHECK(lin->output(0)->shape() == Shape({2, 4}));

    // The lowered graph computes the Gemm.
    Session s(g);
    Tensor a = Tensor::from_vector<float>({2, 3}, {1, -2, 3, 0.5f, 4, -1});
    Tensor y = s.run({{"A", a}}).at("Y");
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 4; ++j) {
        float want = 0.5f * c[size_t(j)];
        for (int64_t k = 0; k < 3; ++k)
          want += 2.f * a.data<float>()[i * 3 + k] * (tb ? b[size_t(j * 3 + k)] : b[size_t(k * 4 + j)]);
        CHECK(y.data<float>()[i * 4 + j] == doctest::Approx(want).epsilon(1e-5));
      }
  }
}

TEST_CASE("Gemm with a 2-D C becomes Linear + Add; a non-constant B stays Gemm") {
  {
    ModelBuilder mb;
    mb.input("A", {2, 3});
    mb.initializer("B", {3, 4}, iota(12, 1.f));
    mb.initializer("C", {2, 4}, iota(8, 1.f));
    mb.op("Gemm", {"A", "B", "C"}, "Y");
    Graph g = mb.import();
    CHECK(g.node_count() == 2);
    CHECK(nodes_of(g, OpKind::Linear).size() == 1);
    CHECK(nodes_of(g, OpKind::Add).size() == 1);
    CHECK(nodes_of(g, OpKind::Linear)[0]->input(2) == nullptr);
  }
  {
    ModelBuilder mb;
    mb.input("A", {2, 3});
    mb.input("B", {3, 4});
    mb.op("Gemm", {"A", "B"}, "Y");
    mb.attr_f("alpha", 3.f);
    Graph g = mb.import();
    REQUIRE(g.node_count() == 1);
    CHECK(g.nodes()[0]->op() == OpKind::Gemm);
    CHECK(g.nodes()[0]->attrs().get_float("alpha") == 3.f);
    CHECK(g.nodes()[0]->output(0)->shape() == Shape({2, 4}));
  }
}

TEST_CASE("Gemm transA lowers to Transpose + Linear") {
  ModelBuilder mb;
  mb.input("A", {3, 2});
  mb.initializer("B", {3, 4}, iota(12, 1.f));
  mb.op("Gemm", {"A", "B"}, "Y");
  mb.attr_i("transA", 1);
  Graph g = mb.import();
  CHECK(nodes_of(g, OpKind::Transpose).size() == 1);
  REQUIRE(nodes_of(g, OpKind::Linear).size() == 1);
  CHECK(nodes_of(g, OpKind::Linear)[0]->output(0)->shape() == Shape({2, 4}));
}

TEST_CASE("MatMul with a constant 2-D weight becomes Linear with W = Bᵀ; otherwise MatMul") {
  ModelBuilder mb;
  mb.input("A", {5, 2, 3});
  const std::vector<float> b = iota(12, 0.5f);
  mb.initializer("B", {3, 4}, b);
  mb.op("MatMul", {"A", "B"}, "Y");
  Graph g = mb.import();
  REQUIRE(g.node_count() == 1);
  Node* lin = g.nodes()[0];
  CHECK(lin->op() == OpKind::Linear);
  const Tensor& w = *lin->input(1)->constant();
  CHECK(w.dims() == std::vector<int64_t>{4, 3});
  CHECK(w.data<float>()[1 * 3 + 2] == b[2 * 4 + 1]);
  CHECK(lin->output(0)->shape() == Shape({5, 2, 4}));

  ModelBuilder mb2;
  mb2.input("A", {5, 2, 3});
  mb2.input("B", {5, 3, 4});
  mb2.op("MatMul", {"A", "B"}, "Y");
  Graph g2 = mb2.import();
  REQUIRE(g2.node_count() == 1);
  CHECK(g2.nodes()[0]->op() == OpKind::MatMul);
  CHECK(g2.nodes()[0]->output(0)->shape() == Shape({5, 2, 4}));
}

TEST_CASE("Conv: 2-D maps to Conv2d, 3-D is unsupported") {
  ModelBuilder mb;
  mb.input("X", {1, 2, 5, 5});
  mb.initializer("W", {3, 2, 3, 3}, iota(54, 0.1f));
  mb.op("Conv", {"X", "W"}, "Y");
  Graph g = mb.import();
  REQUIRE(g.node_count() == 1);
  CHECK(g.nodes()[0]->op() == OpKind::Conv2d);
  CHECK(g.nodes()[0]->output(0)->shape() == Shape({1, 3, 3, 3}));

  ModelBuilder m3;
  m3.input("X", {1, 2, 5, 5, 5});
  m3.initializer("W", {3, 2, 3, 3, 3}, iota(162, 0.1f));
  m3.op("Conv", {"X", "W"}, "Y");
  CHECK_THROWS_AS(m3.import(), UnsupportedError);
}

TEST_CASE("BatchNormalization training outputs are rejected") {
  ModelBuilder mb(15);
  mb.input("X", {1, 2, 3, 3});
  for (const char* n : {"s", "b", "m", "v"}) mb.initializer(n, {2}, {1, 1});
  mb.op("BatchNormalization", {"X", "s", "b", "m", "v"}, "Y");
  mb.attr_i("training_mode", 1);
  mb.node->add_output("rm");
  mb.node->add_output("rv");
  CHECK_THROWS_AS(mb.import(), UnsupportedError);
}
