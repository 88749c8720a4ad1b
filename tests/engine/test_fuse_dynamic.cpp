// Dynamically quantized MatMuls as ONNX Runtime's quantize_dynamic writes them
// (DynamicQuantizeLinear → MatMulInteger → Cast → Mul by the scales' product → Add bias) run
// as one DynamicQLinear and give exactly what the chain run op by op gives.
#include <doctest/doctest.h>

#include <cstring>
#include <random>

#include "engine/passes/passes.h"
#include "engine/session.h"
#include "random_tensor.h"

using namespace mq;

namespace {

struct DynamicMatMul {
  DType weight = DType::i8;  ///< i8 (zero point 0) or u8 (zero point 128)
  bool per_column = false;
  bool bias = true;
  bool bias_first = false;        ///< Add(bias, y) instead of Add(y, bias)
  int weight_zero_point = 0;      ///< added to the symmetric zero point (non-zero: not fusable)
  bool scale_read_twice = false;  ///< the scales' product has a second reader (not fusable)
};

/// x f32 [N, 3, 5] → DynamicQuantizeLinear → MatMulInteger(W [5, 4]) → Cast → Mul(xs · ws) →
/// [Add bias] → y, and the DynamicQuantizeLinear's u8 output as a second graph output "xq".
Graph dynamic_matmul(const DynamicMatMul& o) {
  std::mt19937 rng(5);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(3), Dim(5)}), {}});
  Node* dql = g.add_node(OpKind::DynamicQuantizeLinear,
                         {.name = "dql", .inputs = {x}, .output_names = {"x_q", "x_scale", "x_zero_point"}});
  const bool u8 = o.weight == DType::u8;
  Tensor w(o.weight, {5, 4});
  for (int64_t i = 0; i < w.numel(); ++i) {
    const int v = int(rng() % 255) - 127;
    if (u8) w.data<uint8_t>()[i] = uint8_t(v + 128);
    else w.data<int8_t>()[i] = int8_t(v);
  }
  const int zp = (u8 ? 128 : 0) + o.weight_zero_point;
  Tensor wz = u8 ? Tensor::scalar<uint8_t>(uint8_t(zp)) : Tensor::scalar<int8_t>(int8_t(zp));
  Tensor ws = o.per_column ? Tensor::from_vector<float>({4}, {0.004f, 0.009f, 0.002f, 0.006f})
                           : Tensor::scalar<float>(0.005f);
  Value* acc =
      g.add_node(OpKind::MatMulInteger,
                 {.name = "mm",
                  .inputs = {dql->output(0), g.add_constant("w", w), dql->output(2), g.add_constant("wz", wz)}})
          ->output(0);
  Attributes to_float;
  to_float.set("to", int64_t(1));
  Value* f = g.add_node(OpKind::Cast, {.name = "cast", .inputs = {acc}, .attrs = to_float})->output(0);
  Value* s =
      g.add_node(OpKind::Mul, {.name = "scales", .inputs = {dql->output(1), g.add_constant("ws", ws)}})->output(0);
  Value* y = g.add_node(OpKind::Mul, {.name = "scale_out", .inputs = {f, s}})->output(0);
  if (o.bias) {
    Value* b = g.add_constant("b", Tensor::from_vector<float>({4}, {0.25f, -0.5f, 0.125f, 1.f}));
    y = g.add_node(OpKind::Add, {.name = "bias",
                                 .inputs = o.bias_first ? std::vector<Value*>{b, y} : std::vector<Value*>{y, b}})
            ->output(0);
  }
  g.add_node(OpKind::Identity, {.name = "out", .inputs = {y}, .output_names = {"y"}});
  g.add_output(g.value("y"));
  if (o.scale_read_twice) {
    g.add_node(OpKind::Identity, {.name = "scale_copy", .inputs = {s}, .output_names = {"s"}});
    g.add_output(g.value("s"));
  }
  g.add_node(OpKind::Identity, {.name = "xq_copy", .inputs = {dql->output(0)}, .output_names = {"xq"}});
  g.add_output(g.value("xq"));
  return g;
}

int count(const Graph& g, OpKind op) {
  int n = 0;
  for (Node* node : g.nodes()) n += node->op() == op;
  return n;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dims() == b.dims() && a.dtype() == b.dtype() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

}  // namespace

TEST_CASE("ONNX Runtime's dynamically quantized MatMul runs as DynamicQLinear with the chain's exact results") {
  for (DType weight : {DType::i8, DType::u8})
    for (bool per_column : {false, true})
      for (bool bias : {true, false})
        for (bool bias_first : {false, true}) {
          if (!bias && bias_first) continue;
          CAPTURE(dtype_name(weight));
          CAPTURE(per_column);
          CAPTURE(bias);
          CAPTURE(bias_first);
          Graph g = dynamic_matmul({weight, per_column, bias, bias_first});
          Graph f = g.clone();
          CHECK(passes::fuse_dynamic_matmul(f) == 1);
          CHECK(count(f, OpKind::DynamicQLinear) == 1);
          CHECK(count(f, OpKind::MatMulInteger) == 0);
          CHECK(count(f, OpKind::Cast) == 0);
          CHECK(count(f, OpKind::Mul) == 0);
          CHECK(count(f, OpKind::Add) == 0);
          // the quantized input still has a reader: its DynamicQuantizeLinear stays
          CHECK(count(f, OpKind::DynamicQuantizeLinear) == 1);
          std::mt19937 rng(9);
          for (int64_t n : {1, 4}) {
            TensorMap in{{"x", test::random_tensor({n, 3, 5}, rng, 2.f)}};
            const TensorMap want = Session(g, {.optimize = false}).run(in);
            const TensorMap got = Session(f, {.optimize = false}).run(in);
            CHECK(same_bits(got.at("y"), want.at("y")));
            CHECK(same_bits(got.at("xq"), want.at("xq")));
          }
        }
}

TEST_CASE("a dynamically quantized MatMul that is not symmetric or shares its scales stays as it is") {
  SUBCASE("weight zero point not symmetric") {
    Graph g = dynamic_matmul({.weight_zero_point = 3});
    CHECK(passes::fuse_dynamic_matmul(g) == 0);
    CHECK(count(g, OpKind::MatMulInteger) == 1);
  }
  SUBCASE("u8 weight with zero point 0") {
    Graph g = dynamic_matmul({.weight = DType::u8, .weight_zero_point = -128});
    CHECK(passes::fuse_dynamic_matmul(g) == 0);
  }
  SUBCASE("the scales' product has another reader") {
    Graph g = dynamic_matmul({.scale_read_twice = true});
    CHECK(passes::fuse_dynamic_matmul(g) == 0);
    CHECK(count(g, OpKind::Cast) == 1);
  }
}
