#pragma once
// Small graphs for the compiled plan's tests (engine/plan): layers, elementwise ops, and the
// check that a planned run gives the op-by-op run's outputs.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "engine/session.h"
#include "random_tensor.h"

namespace mq::plan_test {

using test::random_tensor;

inline Value* conv(Graph& g, Value* x, int64_t cin, int64_t cout, std::mt19937& rng, int64_t k = 3,
                   int64_t stride = 1, int64_t group = 1) {
  Attributes a;
  a.set("pads", std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2});
  a.set("strides", std::vector<int64_t>{stride, stride});
  a.set("group", group);
  return g
      .add_node(
          OpKind::Conv2d,
          {.name = g.unique_name("conv"),
           .inputs = {x, g.add_constant(g.unique_name("w"), random_tensor({cout, cin / group, k, k}, rng, 0.3f)),
                      g.add_constant(g.unique_name("b"), random_tensor({cout}, rng, 0.1f))},
           .attrs = a})
      ->output(0);
}

/// A convolution with a kh × kw kernel ("same" padding, stride 1), without a bias when `bias`
/// is false: [1, k] kernels on an H = 1 input are 1-D convolutions as the importer writes them.
inline Value* conv_hw(Graph& g, Value* x, int64_t cin, int64_t cout, std::mt19937& rng, int64_t kh, int64_t kw,
                      bool bias = true) {
  Attributes a;
  a.set("pads", std::vector<int64_t>{kh / 2, kw / 2, kh / 2, kw / 2});
  a.set("kernel_shape", std::vector<int64_t>{kh, kw});
  std::vector<Value*> ins = {x, g.add_constant(g.unique_name("w"), random_tensor({cout, cin, kh, kw}, rng, 0.3f))};
  if (bias) ins.push_back(g.add_constant(g.unique_name("b"), random_tensor({cout}, rng, 0.1f)));
  return g.add_node(OpKind::Conv2d, {.name = g.unique_name("conv"), .inputs = ins, .attrs = a})->output(0);
}

inline Value* unary(Graph& g, OpKind op, Value* x, Attributes a = {}) {
  return g.add_node(op, {.name = g.unique_name("act"), .inputs = {x}, .attrs = a})->output(0);
}

inline Value* binary(Graph& g, OpKind op, Value* a, Value* b) {
  return g.add_node(op, {.name = g.unique_name("bin"), .inputs = {a, b}})->output(0);
}

inline int count(const Graph& g, OpKind op) {
  int n = 0;
  for (Node* node : g.nodes()) n += node->op() == op;
  return n;
}

/// Runs g with and without the plan on the same input; every output must agree.
inline void check_same(const Graph& g, std::mt19937& rng, std::vector<int64_t> in_dims = {2, 8, 12, 10}) {
  TensorMap in{{"x", random_tensor(in_dims, rng)}};
  Session plain(g, {.threads = 1, .optimize = false});
  for (int threads : {1, 2}) {
    Session fast(g, {.threads = threads});
    TensorMap want = plain.run(in), got = fast.run(in);
    REQUIRE(got.size() == want.size());
    for (auto& [name, w] : want) {
      CAPTURE(name);
      const Tensor& t = got.at(name);
      REQUIRE(t.dims() == w.dims());
      for (int64_t i = 0; i < w.numel(); ++i) {
        const float a = t.data<float>()[i], b = w.data<float>()[i];
        if (std::isnan(b)) {
          CHECK(std::isnan(a));
          continue;
        }
        if (!(std::fabs(a - b) <= 1e-4f + 1e-4f * std::fabs(b))) {
          FAIL_CHECK("element " << i << ": " << a << " vs " << b);
          return;
        }
      }
    }
  }
}

inline Value* input(Graph& g, int64_t c = 8) {
  return g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(c), Dim(12), Dim(10)}), {}});
}

inline Value* scalar(Graph& g, float v) { return g.add_constant(g.unique_name("s"), Tensor::scalar(v)); }

/// Gelu's tanh approximation written out as exporters write it (0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))).
inline Value* gelu_tanh_ops(Graph& g, Value* x) {
  Value* x3 = binary(g, OpKind::Mul, binary(g, OpKind::Mul, x, x), x);
  Value* inner = binary(g, OpKind::Add, x, binary(g, OpKind::Mul, scalar(g, 0.044715f), x3));
  Value* t = unary(g, OpKind::Tanh, binary(g, OpKind::Mul, inner, scalar(g, 0.7978845608f)));
  Value* half_x = binary(g, OpKind::Mul, scalar(g, 0.5f), x);
  return binary(g, OpKind::Mul, half_x, binary(g, OpKind::Add, scalar(g, 1.f), t));
}

}  // namespace mq::plan_test
