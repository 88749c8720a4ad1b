// The channels-last layout of the compiled plan beyond 4-D chains: 1-D convolutions (3-D
// tensors), rank changes that drop or add spatial dims of 1, broadcasting constants,
// reductions, and the epilogue fusions that must still apply after the rewrite. Every planned
// graph gives the op-by-op run's outputs.
#include <doctest/doctest.h>

#include <random>

#include "engine/plan/plan.h"
#include "plan_graphs.h"

using namespace mq;
using namespace mq::plan_test;

namespace {

Value* ints(Graph& g, std::vector<int64_t> v) {
  return g.add_constant(g.unique_name("i"), Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
}

/// Squeeze, Unsqueeze, a reduction or Reshape with its axes (or shape) operand.
Value* with_ints(Graph& g, OpKind op, Value* x, std::vector<int64_t> v, Attributes a = {}) {
  return g.add_node(op, {.name = g.unique_name("op"), .inputs = {x, ints(g, std::move(v))}, .attrs = a})
      ->output(0);
}

Value* constant(Graph& g, std::vector<int64_t> dims, std::mt19937& rng) {
  return g.add_constant(g.unique_name("c"), random_tensor(std::move(dims), rng));
}

Attributes keepdims(int64_t k) {
  Attributes a;
  a.set("keepdims", k);
  return a;
}

Attributes axis(int64_t k) {
  Attributes a;
  a.set("axis", k);
  return a;
}

/// The Conv2d nodes of a compiled graph: all NHWC, each with a bias.
void check_convs(const Graph& g, int n) {
  CHECK(count(g, OpKind::Conv2d) == n);
  for (Node* c : g.nodes()) {
    if (c->op() != OpKind::Conv2d) continue;
    CHECK(c->attrs().get_string_or("layout", "NCHW") == "NHWC");
    CHECK(c->input(2));
  }
}

}  // namespace

TEST_CASE("NHWC: 1-D convolutions run channels-last through Squeeze, bias Add, activations, reductions") {
  std::mt19937 rng(21);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(8), Dim(30)}), {}});
  // as the importer writes a 1-D Conv: Unsqueeze H, Conv2d with a [1, k] kernel, Squeeze H
  Value* a = with_ints(g, OpKind::Squeeze,
                       conv_hw(g, with_ints(g, OpKind::Unsqueeze, x, {2}), 8, 16, rng, 1, 3, false), {2});
  a = unary(g, OpKind::Relu, binary(g, OpKind::Add, a, constant(g, {16, 1}, rng)));  // bias [C, 1]
  Value* b =
      with_ints(g, OpKind::Squeeze, conv_hw(g, with_ints(g, OpKind::Unsqueeze, a, {-2}), 16, 12, rng, 1, 5), {-2});
  b = binary(g, OpKind::Mul, constant(g, {1, 12, 1}, rng), b);
  b = binary(g, OpKind::Sub, b, constant(g, {30}, rng));  // one value per position
  b = binary(g, OpKind::Add, b, constant(g, {}, rng));
  g.add_output(g.add_node(OpKind::GlobalMaxPool, {.name = "gmp", .inputs = {b}})->output(0));
  g.add_output(with_ints(g, OpKind::ReduceMean, b, {2}, keepdims(0)));     // [N, C]: no Transpose
  g.add_output(with_ints(g, OpKind::ReduceSum, b, {1}, keepdims(0)));      // [N, W]: no Transpose
  g.add_output(with_ints(g, OpKind::ReduceMax, b, {0, -1}, keepdims(0)));  // [C]
  g.add_output(with_ints(g, OpKind::ReduceL2, b, {2}));                    // [N, C, 1]
  Attributes arg_attrs = keepdims(0);
  arg_attrs.set("axis", int64_t(1));
  Value* arg =
      g.add_node(OpKind::ArgMax, {.name = "arg", .inputs = {b}, .attrs = arg_attrs})->output(0);  // [N, W]
  Attributes to_f32;
  to_f32.set("to", int64_t(DType::f32));
  g.add_output(g.add_node(OpKind::Cast, {.name = "arg_f32", .inputs = {arg}, .attrs = to_f32})->output(0));
  g.add_output(g.add_node(OpKind::Softmax, {.name = "softmax", .inputs = {b}, .attrs = axis(1)})->output(0));
  Graph compiled = g.clone();
  plan::compile(compiled);
  check_convs(compiled, 2);
  CHECK(count(compiled, OpKind::Relu) == 0);  // in the first convolution's epilogue, with the bias
  // to NHWC at the input; back for the pool's, ReduceL2's and Softmax's [N, C, W] results
  CHECK(count(compiled, OpKind::Transpose) == 4);
  check_same(g, rng, {2, 8, 30});
}

TEST_CASE("NHWC: Conv2d, Slice, Squeeze, bias Add, tanh-GELU, GlobalMaxPool, Squeeze move no data between ops") {
  std::mt19937 rng(22);
  for (bool back_to_4d : {false, true}) {
    CAPTURE(back_to_4d);
    Graph g;
    Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(8), Dim(20), Dim(1)}), {}});
    Value* y = conv_hw(g, x, 8, 16, rng, 3, 1, false);
    // a Slice of every axis that keeps everything but the last W (a no-op here), then the H one
    y = g.add_node(OpKind::Slice, {.name = "s",
                                   .inputs = {y, ints(g, {0, 0, 0, 0}), ints(g, {INT64_MAX, INT64_MAX, 19, 1}),
                                              ints(g, {0, 1, 2, 3})}})
            ->output(0);
    y = with_ints(g, OpKind::Squeeze, y, {3});
    y = gelu_tanh_ops(g, binary(g, OpKind::Add, y, constant(g, {1, 16, 1}, rng)));
    if (back_to_4d) {
      g.add_output(conv_hw(g, with_ints(g, OpKind::Unsqueeze, y, {3}), 16, 4, rng, 3, 1));
    } else {
      Value* p = g.add_node(OpKind::GlobalMaxPool, {.name = "gmp", .inputs = {y}})->output(0);
      g.add_output(with_ints(g, OpKind::Squeeze, p, {2}));
    }
    Graph compiled = g.clone();
    plan::compile(compiled);
    check_convs(compiled, back_to_4d ? 2 : 1);
    CHECK(count(compiled, OpKind::Add) == 0);  // the bias and the GELU in the convolution's epilogue
    CHECK(count(compiled, OpKind::FusedElementwise) == 0);
    CHECK(count(compiled, OpKind::Transpose) == (back_to_4d ? 2 : 1));
    check_same(g, rng, {2, 8, 20, 1});
  }
}

TEST_CASE("NHWC: a Reshape that only drops or adds spatial dims of 1 keeps the data channels-last") {
  std::mt19937 rng(23);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(8), Dim(1), Dim(20)}), {}});
  Value* y = with_ints(g, OpKind::Reshape, conv_hw(g, x, 8, 16, rng, 1, 3), {0, 16, 20});  // [N, 16, 20]
  y = unary(g, OpKind::Sigmoid, binary(g, OpKind::Mul, y, constant(g, {16, 1}, rng)));
  y = with_ints(g, OpKind::Reshape, y, {-1, 16, 20, 1});  // [?, 16, 20, 1]
  Value* z = conv_hw(g, y, 16, 6, rng, 3, 1);             // [N, 6, 20, 1]
  g.add_output(z);
  g.add_output(with_ints(g, OpKind::Reshape, z, {0, 120}));  // not a unit-dim Reshape: NCHW order
  Graph compiled = g.clone();
  plan::compile(compiled);
  check_convs(compiled, 2);
  CHECK(count(compiled, OpKind::Reshape) == 1);
  CHECK(count(compiled, OpKind::Transpose) == 2);  // in at the input, out at the last conv
  check_same(g, rng, {2, 8, 1, 20});
}

TEST_CASE("NHWC: constants of every rank broadcast against channels-last 3-D and 4-D tensors") {
  std::mt19937 rng(24);
  const std::vector<std::vector<int64_t>> shapes = {{},        {1},        {10},    {6, 1},
                                                    {1, 6, 1}, {1, 1, 10}, {6, 10}, {1, 6, 10}};
  for (bool rank3 : {true, false}) {
    CAPTURE(rank3);
    Graph g;
    Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(4), Dim(1), Dim(10)}), {}});
    Value* y = conv_hw(g, x, 4, 6, rng, 1, 3);
    if (rank3) y = with_ints(g, OpKind::Squeeze, y, {2});
    const OpKind ops[] = {OpKind::Add, OpKind::Mul, OpKind::Sub, OpKind::Max, OpKind::Min};
    for (size_t i = 0; i < shapes.size(); ++i) {
      Value* c = constant(g, shapes[i], rng);
      const OpKind op = ops[i % 5];
      y = i % 2 ? binary(g, op, c, y) : binary(g, op, y, c);  // the constant on either side
    }
    if (rank3) y = with_ints(g, OpKind::Unsqueeze, y, {2});
    g.add_output(conv_hw(g, y, 6, 3, rng, 1, 3));
    Graph compiled = g.clone();
    plan::compile(compiled);
    CHECK(count(compiled, OpKind::Transpose) == 2);
    check_same(g, rng, {2, 4, 1, 10});
  }
}

TEST_CASE("a per-output Add after Linear becomes its bias; a per-position one, or one read twice, does not") {
  std::mt19937 rng(25);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(5), Dim(12)}), {}});
  auto linear = [&](Value* in, int64_t k, int64_t n) {
    return g
        .add_node(OpKind::Linear, {.name = g.unique_name("fc"),
                                   .inputs = {in, g.add_constant(g.unique_name("w"), random_tensor({n, k}, rng))}})
        ->output(0);
  };
  Value* a = unary(g, OpKind::Relu, binary(g, OpKind::Add, constant(g, {1, 1, 7}, rng), linear(x, 12, 7)));
  Value* b = binary(g, OpKind::Add, linear(a, 7, 7), constant(g, {5, 1}, rng));  // per position: stays
  Value* c = linear(b, 7, 3);
  g.add_output(binary(g, OpKind::Add, c, constant(g, {3}, rng)));
  g.add_output(c);  // c is read twice: its Add stays
  Graph compiled = g.clone();
  plan::compile(compiled);
  CHECK(count(compiled, OpKind::Relu) == 0);
  CHECK(count(compiled, OpKind::Add) == 2);
  check_same(g, rng, {2, 5, 12});
}

TEST_CASE("NHWC: global pools of a convolution run on its channels-last data") {
  std::mt19937 rng(26);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(3), Dim(40), Dim(40)}), {}});
  Value* y = conv_hw(g, x, 3, 40, rng, 3, 3);
  g.add_output(g.add_node(OpKind::GlobalMaxPool, {.name = "gmp", .inputs = {y}})->output(0));
  g.add_output(g.add_node(OpKind::GlobalAveragePool, {.name = "gap", .inputs = {y}})->output(0));
  Graph compiled = g.clone();
  plan::compile(compiled);
  for (Node* n : compiled.nodes())
    if (n->op() == OpKind::GlobalMaxPool || n->op() == OpKind::GlobalAveragePool)
      CHECK(n->attrs().get_string_or("layout", "NCHW") == "NHWC");
  check_same(g, rng, {2, 3, 40, 40});
}

namespace {

/// Whether the compiled graph's first convolution took GELU's tanh approximation.
bool conv_gelu_tanh(const Graph& g) {
  for (Node* n : g.nodes())
    if (n->op() == OpKind::Conv2d) return n->attrs().get_string_or("activation", "") == "GeluTanh";
  return false;
}

Value* input8(Graph& g) {
  return g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(8), Dim(12), Dim(10)}), {}});
}

}  // namespace

TEST_CASE("GELU's tanh approximation written out in any order fuses into the convolution's epilogue") {
  std::mt19937 rng(27);
  // y ↦ the GELU of y as some exporter writes it, or almost it (a wrong constant; an
  // intermediate read by another op)
  for (int variant = 0; variant < 5; ++variant) {
    CAPTURE(variant);
    Graph g;
    Value* y = conv_hw(g, input8(g), 8, 8, rng, 3, 3);
    Value* out = nullptr;
    Value* tap = nullptr;
    if (variant == 0) {
      out = gelu_tanh_ops(g, y);                // 0.5·y · (1 + tanh(...)), y³ as y·y·y
    } else if (variant == 1 || variant == 3) {  // (y · (tanh(...) + 1)) · 0.5, y³ as Pow, √(2/π) distributed
      Value* y3 = binary(g, OpKind::Pow, y, scalar(g, 3.f));
      const float c = variant == 1 ? 0.044715f : 0.04f;
      Value* inner = binary(g, OpKind::Add, binary(g, OpKind::Mul, y, scalar(g, 0.7978845608f)),
                            binary(g, OpKind::Mul, y3, scalar(g, 0.7978845608f * c)));
      Value* t = binary(g, OpKind::Add, unary(g, OpKind::Tanh, inner), scalar(g, 1.f));
      out = binary(g, OpKind::Mul, binary(g, OpKind::Mul, y, t), scalar(g, 0.5f));
    } else {  // y · (0.5 · (1 + tanh(√(2/π) · (y + y·(y·(0.044715·y)))))), as jax2tf writes it
      Value* cube =
          binary(g, OpKind::Mul, y, binary(g, OpKind::Mul, y, binary(g, OpKind::Mul, scalar(g, 0.044715f), y)));
      Value* inner = binary(g, OpKind::Mul, scalar(g, 0.7978846f), binary(g, OpKind::Add, y, cube));
      Value* half = binary(g, OpKind::Mul, scalar(g, 0.5f),
                           binary(g, OpKind::Add, scalar(g, 1.f), unary(g, OpKind::Tanh, inner)));
      out = binary(g, OpKind::Mul, y, half);
      if (variant == 4) tap = inner;
    }
    g.add_output(out);
    if (tap) g.add_output(tap);
    Graph compiled = g.clone();
    plan::compile(compiled);
    CHECK(conv_gelu_tanh(compiled) == (variant != 3 && variant != 4));
    check_same(g, rng);
  }
}

TEST_CASE("NHWC: a Squeeze without axes of a static shape drops the spatial dims of 1 channels-last") {
  std::mt19937 rng(28);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim(2), Dim(8), Dim(1), Dim(20)}), {}});
  Value* y = g.add_node(OpKind::Squeeze, {.name = "sq", .inputs = {conv_hw(g, x, 8, 16, rng, 1, 3)}})->output(0);
  y = binary(g, OpKind::Add, y, constant(g, {16, 20}, rng));  // [2, 16, 20]
  g.add_output(
      with_ints(g, OpKind::Squeeze, conv_hw(g, with_ints(g, OpKind::Unsqueeze, y, {2}), 16, 4, rng, 1, 3), {2}));
  Graph compiled = g.clone();
  plan::compile(compiled);
  CHECK(count(compiled, OpKind::Transpose) == 2);  // in at the input, out at the output
  check_same(g, rng, {2, 8, 1, 20});
}

TEST_CASE("NHWC: 1-D pools between 1-D convolutions run as 1 × k pools on the channels-last data") {
  std::mt19937 rng(29);
  for (int variant = 0; variant < 4; ++variant) {
    CAPTURE(variant);
    Graph g;
    Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(6), Dim(31)}), {}});
    Value* y =
        with_ints(g, OpKind::Squeeze, conv_hw(g, with_ints(g, OpKind::Unsqueeze, x, {2}), 6, 8, rng, 1, 3), {2});
    Attributes pa;
    pa.set("kernel_shape", std::vector<int64_t>{3});
    pa.set("strides", std::vector<int64_t>{2});
    pa.set("pads", std::vector<int64_t>{1, 0});
    if (variant & 1) pa.set("ceil_mode", int64_t(1));
    if (variant & 2) pa.set("count_include_pad", int64_t(1));
    const OpKind pool = variant < 2 ? OpKind::MaxPool : OpKind::AveragePool;
    y = g.add_node(pool, {.name = "pool", .inputs = {y}, .attrs = pa})->output(0);
    g.add_output(
        with_ints(g, OpKind::Squeeze, conv_hw(g, with_ints(g, OpKind::Unsqueeze, y, {2}), 8, 4, rng, 1, 3), {2}));
    Graph compiled = g.clone();
    plan::compile(compiled);
    CHECK(count(compiled, OpKind::Transpose) == 2);  // in at the input, out at the output
    for (Node* n : compiled.nodes())
      if (n->op() == pool) CHECK(n->attrs().get_string_or("layout", "NCHW") == "NHWC");
    check_same(g, rng, {2, 6, 31});
  }
}
