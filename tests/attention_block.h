#pragma once
// A multi-head self-attention block for quantization tests: two MatMuls between activations
// (the scores Q·Kᵀ read by a Softmax, the context attention·V read by the output projection
// through Transpose and Reshape) among four constant-weight Linears.
#include <cmath>
#include <random>
#include <string>

#include "ir/graph.h"
#include "random_tensor.h"

namespace mq::test {

/// x [batch, L, E] → q, k, v projections, split into H heads → scores = q·kᵀ ("scores", [B,H,L,L])
/// → Mul(1/√D) → Softmax → context = attention·v ("context", [B,H,L,D]) → merged heads →
/// output projection → y [batch, L, E]. `written_out`: the Softmax as ReduceMax → Sub → Exp →
/// ReduceSum → Div, as JAX and TensorFlow export it.
inline Graph attention_block(int64_t batch = 2, int64_t L = 6, int64_t E = 16, int64_t H = 2,
                             bool written_out = false) {
  std::mt19937 rng(41);
  const int64_t D = E / H;
  Graph g;
  g.name = "attention";
  Value* x = g.add_input("x", {DType::f32, Shape{batch, L, E}, {}});
  auto shape = [&](const std::string& n, std::vector<int64_t> dims) {
    return g.add_constant(n, Tensor::from_vector<int64_t>({int64_t(dims.size())}, dims));
  };
  auto transpose = [&](Value* v, std::vector<int64_t> perm) {
    Attributes a;
    a.set("perm", perm);
    return g.add_node(OpKind::Transpose, {.inputs = {v}, .attrs = a})->output(0);
  };
  auto linear = [&](const std::string& n, Value* v) {
    return g
        .add_node(OpKind::Linear, {.name = n,
                                   .inputs = {v, g.add_constant(n + ".w", random_tensor({E, E}, rng, 0.3f)),
                                              g.add_constant(n + ".b", random_tensor({E}, rng, 0.1f))}})
        ->output(0);
  };
  Value* heads = shape("heads_shape", {batch, L, H, D});
  auto split = [&](Value* v) { return g.add_node(OpKind::Reshape, {.inputs = {v, heads}})->output(0); };
  Value* q = transpose(split(linear("q_proj", x)), {0, 2, 1, 3});
  Value* kt = transpose(split(linear("k_proj", x)), {0, 2, 3, 1});
  Value* v = transpose(split(linear("v_proj", x)), {0, 2, 1, 3});
  Value* s = g.add_node(OpKind::MatMul, {.name = "scores", .inputs = {q, kt}})->output(0);
  Value* scale = g.add_constant("scale", Tensor::scalar<float>(1.f / std::sqrt(float(D))));
  s = g.add_node(OpKind::Mul, {.inputs = {s, scale}})->output(0);
  Attributes sa;
  sa.set("axis", int64_t(-1));
  Value* p = nullptr;
  if (written_out) {
    Value* last = shape("last_axis", {-1});
    Value* m = g.add_node(OpKind::ReduceMax, {.name = "row_max", .inputs = {s, last}})->output(0);
    Value* e = g.add_node(OpKind::Exp,
                          {.name = "exp", .inputs = {g.add_node(OpKind::Sub, {.inputs = {s, m}})->output(0)}})
                   ->output(0);
    Value* sum = g.add_node(OpKind::ReduceSum, {.name = "row_sum", .inputs = {e, last}})->output(0);
    p = g.add_node(OpKind::Div, {.name = "softmax", .inputs = {e, sum}})->output(0);
  } else {
    p = g.add_node(OpKind::Softmax, {.name = "softmax", .inputs = {s}, .attrs = sa})->output(0);
  }
  Value* c = g.add_node(OpKind::MatMul, {.name = "context", .inputs = {p, v}})->output(0);
  c = transpose(c, {0, 2, 1, 3});
  c = g.add_node(OpKind::Reshape, {.inputs = {c, shape("merged_shape", {batch, L, E})}})->output(0);
  Node* out =
      g.add_node(OpKind::Linear, {.name = "out_proj",
                                  .inputs = {c, g.add_constant("out_proj.w", random_tensor({E, E}, rng, 0.3f)),
                                             g.add_constant("out_proj.b", random_tensor({E}, rng, 0.1f))},
                                  .output_names = {"y"}});
  g.add_output(out->output(0));
  return g;
}

}  // namespace mq::test
