// Hand-built graphs and graph comparison for the serialization tests.
#include "test_helpers.h"

#include <cstring>

#include "serialization/deflate.h"

namespace mq::test {

Graph make_quantized_mlp() {
  Graph g;
  g.name = "qmlp";
  g.opset = 17;
  g.metadata["producer"] = "test";
  Shape xs(std::vector<Dim>{Dim::sym("batch"), Dim(4)});
  Value* x = g.add_input("x", {DType::f32, xs, std::nullopt});
  std::vector<int8_t> wv;
  for (int i = 0; i < 12; ++i) wv.push_back(int8_t(i * 21 - 127));
  Tensor w = Tensor::from_vector<int8_t>({3, 4}, wv);
  w.set_quant(QuantParams{{0.5f, 0.25f, 0.125f}, {0, 0, 0}, 0, DType::i8});
  Value* wc = g.add_constant("fc.weight", w);
  Value* b = g.add_constant("fc.bias", Tensor::from_vector<float>({3}, {0.1f, -0.2f, 0.3f}));
  Node* lin = g.add_node(OpKind::DynamicQLinear, {"fc", {x, wc, b}, {}, 1, {"h"}});
  lin->output(0)->set_quant(QuantParams{{0.05f}, {128}, std::nullopt, DType::u8});
  Attributes a;
  a.set("note", std::string("relu"));
  a.set("alpha", 0.5f);
  a.set("ints", std::vector<int64_t>{1, -2, 3});
  a.set("floats", std::vector<float>{1.5f, -2.25f});
  a.set("strs", std::vector<std::string>{"a", "b"});
  a.set("count", int64_t(7));
  a.set("t", Tensor::from_vector<int32_t>({2}, {5, -6}));
  Node* relu = g.add_node(OpKind::Relu, {"act", {lin->output(0)}, a, 1, {"y"}});
  g.add_output(relu->output(0));
  return g;
}

Graph make_float_mlp() {
  Graph g;
  g.name = "mlp";
  Value* x = g.add_input("x", {DType::f32, Shape{2, 4}, std::nullopt});
  std::vector<float> wv;
  for (int i = 0; i < 12; ++i) wv.push_back(0.1f * float(i) - 0.5f);
  Value* w = g.add_constant("fc.weight", Tensor::from_vector<float>({3, 4}, wv));
  Value* b = g.add_constant("fc.bias", Tensor::from_vector<float>({3}, {0.1f, -0.2f, 0.3f}));
  Node* lin = g.add_node(OpKind::Linear, {"fc", {x, w, b}, {}, 1, {"h"}});
  Node* relu = g.add_node(OpKind::Relu, {"act", {lin->output(0)}, {}, 1, {"r"}});
  Value* c = g.add_constant("offset", Tensor::from_vector<float>({3}, {1.f, 2.f, 3.f}));
  Node* add = g.add_node(OpKind::Add, {"add", {relu->output(0), c}, {}, 1, {"y"}});
  g.add_output(add->output(0));
  return g;
}

void check_graphs_equal(const Graph& a, const Graph& b) {
  CHECK(a.name == b.name);
  CHECK(a.opset == b.opset);
  CHECK(a.metadata == b.metadata);
  REQUIRE(a.inputs().size() == b.inputs().size());
  for (size_t i = 0; i < a.inputs().size(); ++i) {
    CHECK(a.inputs()[i]->name() == b.inputs()[i]->name());
    CHECK(a.inputs()[i]->type() == b.inputs()[i]->type());
  }
  REQUIRE(a.outputs().size() == b.outputs().size());
  for (size_t i = 0; i < a.outputs().size(); ++i) CHECK(a.outputs()[i]->name() == b.outputs()[i]->name());
  auto na = a.nodes(), nb = b.nodes();
  REQUIRE(na.size() == nb.size());
  for (size_t i = 0; i < na.size(); ++i) {
    CHECK(na[i]->name() == nb[i]->name());
    CHECK(na[i]->op() == nb[i]->op());
    CHECK(na[i]->attrs() == nb[i]->attrs());
    REQUIRE(na[i]->inputs().size() == nb[i]->inputs().size());
    for (size_t k = 0; k < na[i]->inputs().size(); ++k) {
      Value* va = na[i]->inputs()[k];
      Value* vb = nb[i]->inputs()[k];
      REQUIRE((va == nullptr) == (vb == nullptr));
      if (!va) continue;
      CHECK(va->name() == vb->name());
      CHECK(va->type() == vb->type());
      CHECK(va->is_constant() == vb->is_constant());
      if (va->is_constant() && vb->is_constant()) CHECK(*va->constant() == *vb->constant());
    }
    REQUIRE(na[i]->outputs().size() == nb[i]->outputs().size());
    for (size_t k = 0; k < na[i]->outputs().size(); ++k) {
      CHECK(na[i]->outputs()[k]->name() == nb[i]->outputs()[k]->name());
      CHECK(na[i]->outputs()[k]->type() == nb[i]->outputs()[k]->type());
    }
  }
}

std::vector<std::byte> mqm_as_version1(const std::vector<std::byte>& v2) {
  uint64_t stored, fb_size;
  std::memcpy(&stored, v2.data() + 8, 8);
  std::memcpy(&fb_size, v2.data() + 16, 8);
  const auto fb = serialization::inflate_raw(std::span(v2).subspan(24, size_t(stored)), fb_size, "test");
  const size_t data_v1 = (16 + fb.size() + 63) / 64 * 64, data_v2 = (24 + size_t(stored) + 63) / 64 * 64;
  std::vector<std::byte> v1(data_v1 + (v2.size() - data_v2));
  std::memcpy(v1.data(), v2.data(), 4);  // magic
  const uint32_t version = 1;
  std::memcpy(v1.data() + 4, &version, 4);
  std::memcpy(v1.data() + 8, &fb_size, 8);
  std::memcpy(v1.data() + 16, fb.data(), fb.size());
  std::memcpy(v1.data() + data_v1, v2.data() + data_v2, v2.size() - data_v2);
  return v1;
}

}  // namespace mq::test
