#pragma once
// Conv blocks for quantization tests: int8 values between their convolutions go through SiLU
// chains, a residual Add, a Concat, MaxPool and Resize (csp_block), or averaging ops
// (average_block).
#include <random>
#include <string>

#include "ir/graph.h"
#include "random_tensor.h"

namespace mq::test {

/// Adds 3×3 convolutions (pads 1) and SiLU chains to a graph.
struct CspBuilder {
  Graph g;
  std::mt19937 rng{31};
  int convs = 0;
  Value* conv(Value* x, int64_t cin, int64_t cout) {
    Attributes a;
    a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    const std::string n = "conv" + std::to_string(++convs);
    return g
        .add_node(OpKind::Conv2d,
                  {.name = n,
                   .inputs = {x, g.add_constant(n + "_w", random_tensor({cout, cin, 3, 3}, rng, 0.3f)),
                              g.add_constant(n + "_b", random_tensor({cout}, rng, 0.1f))},
                   .attrs = a})
        ->output(0);
  }
  Value* silu(Value* x) {
    Value* s = g.add_node(OpKind::Sigmoid, {.inputs = {x}})->output(0);
    return g.add_node(OpKind::Mul, {.inputs = {x, s}})->output(0);
  }
};

/// A CSP-style block, input x [N,3,8,8], output y [N,5,8,8]: conv → SiLU → (conv → SiLU) + residual → Concat with
/// a second branch → MaxPool → Resize ×2 (nearest) → conv → y.
inline Graph csp_block(Dim batch = Dim::sym("N")) {
  CspBuilder b;
  Value* x = b.g.add_input("x", {DType::f32, Shape({batch, Dim(3), Dim(8), Dim(8)}), {}});
  Value* a = b.silu(b.conv(x, 3, 8));
  Value* r = b.g.add_node(OpKind::Add, {.name = "residual", .inputs = {a, b.silu(b.conv(a, 8, 8))}})->output(0);
  Value* c = b.g.add_node(OpKind::Concat, {.name = "concat",
                                           .inputs = {r, b.silu(b.conv(a, 8, 4))},
                                           .attrs =
                                               [] {
                                                 Attributes t;
                                                 t.set("axis", int64_t(1));
                                                 return t;
                                               }()})
                 ->output(0);
  Attributes pool;
  pool.set("kernel_shape", std::vector<int64_t>{2, 2});
  pool.set("strides", std::vector<int64_t>{2, 2});
  Value* p = b.g.add_node(OpKind::MaxPool, {.name = "pool", .inputs = {c}, .attrs = pool})->output(0);
  Value* scales = b.g.add_constant("scales", Tensor::from_vector<float>({4}, {1.f, 1.f, 2.f, 2.f}));
  Value* up = b.g.add_node(OpKind::Resize, {.name = "up", .inputs = {p, nullptr, scales}})->output(0);
  Value* y = b.conv(up, 12, 5);
  b.g.rename_value(y, "y");
  b.g.add_output(y);
  return std::move(b.g);
}

/// Averaging ops between convolutions, input x [N,3,8,8], output y [N,4,1,1]: conv →
/// AveragePool 3×3 (pads 1) → Resize ×2 (linear) → conv → GlobalAveragePool → conv → y.
inline Graph average_block(Dim batch = Dim::sym("N")) {
  CspBuilder b;
  Value* x = b.g.add_input("x", {DType::f32, Shape({batch, Dim(3), Dim(8), Dim(8)}), {}});
  Attributes pool;
  pool.set("kernel_shape", std::vector<int64_t>{3, 3});
  pool.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value* a =
      b.g.add_node(OpKind::AveragePool, {.name = "avg", .inputs = {b.conv(x, 3, 8)}, .attrs = pool})->output(0);
  Attributes linear;
  linear.set("mode", std::string("linear"));
  Value* scales = b.g.add_constant("scales", Tensor::from_vector<float>({4}, {1.f, 1.f, 2.f, 2.f}));
  Value* up =
      b.g.add_node(OpKind::Resize, {.name = "up", .inputs = {a, nullptr, scales}, .attrs = linear})->output(0);
  Value* gap = b.g.add_node(OpKind::GlobalAveragePool, {.name = "gap", .inputs = {b.conv(up, 8, 6)}})->output(0);
  Value* y = b.conv(gap, 6, 4);
  b.g.rename_value(y, "y");
  b.g.add_output(y);
  return std::move(b.g);
}

}  // namespace mq::test
