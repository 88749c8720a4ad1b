#pragma once
// Model ends for quantization tests: a LayerNorm written out between a global max pool and a
// float-output Linear (normalized_head), and a detection head's Sigmoid / Concat / Reshape /
// Transpose beside a classifier's Softmax (detection_heads), and two detection levels joined
// along the cells' axis (two_level_head).
#include <random>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "random_tensor.h"

namespace mq::test {

inline Value* head_node(Graph& g, OpKind op, const std::string& name, std::vector<Value*> ins, Attributes a = {}) {
  return g.add_node(op, {.name = name, .inputs = std::move(ins), .attrs = std::move(a)})->output(0);
}

/// A 3×3 convolution (pads 1) of x with `cin` channels to `cout`, random weights and bias of
/// the given scales.
inline Value* head_conv(Graph& g, const std::string& name, Value* x, int64_t cin, int64_t cout, std::mt19937& rng,
                        float w_scale, float b_scale) {
  Attributes pads;
  pads.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  return head_node(g, OpKind::Conv2d, name,
                   {x, g.add_constant(name + "_w", random_tensor({cout, cin, 3, 3}, rng, w_scale)),
                    g.add_constant(name + "_b", random_tensor({cout}, rng, b_scale))},
                   pads);
}

/// `n` random inputs "x" of shape `dims`.
inline std::vector<TensorMap> head_rows(const std::vector<int64_t>& dims, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<TensorMap> out;
  for (int i = 0; i < n; ++i) out.push_back({{"x", random_tensor(dims, rng)}});
  return out;
}

/// x [N, 8, 6, 6] → Conv (3×3, 16 channels) → Relu → GlobalMaxPool → Flatten → LayerNorm written
/// out (ReduceSum · 1/C, x − mean, square, ReduceSum · 1/C, + eps, Sqrt, Reciprocal, · γ, + β)
/// → Linear → y (a float output)
inline Graph normalized_head(Dim batch = Dim::sym("N")) {
  std::mt19937 rng(11);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({batch, Dim(8), Dim(6), Dim(6)}), {}});
  Value* c = head_conv(g, "conv", x, 8, 16, rng, 0.3f, 0.1f);
  c = head_node(g, OpKind::Relu, "relu", {c});
  c = head_node(g, OpKind::GlobalMaxPool, "pool", {c});
  Attributes flat;
  flat.set("axis", int64_t(1));
  Value* h = head_node(g, OpKind::Flatten, "flatten", {c}, flat);
  Value* axes = g.add_constant("axes", Tensor::from_vector<int64_t>({1}, {-1}));
  Value* inv_c = g.add_constant("inv_c", Tensor::scalar<float>(1.f / 16));
  Value* mean = head_node(g, OpKind::Mul, "mean", {head_node(g, OpKind::ReduceSum, "sum", {h, axes}), inv_c});
  Value* d = head_node(g, OpKind::Sub, "centered", {h, mean});
  Value* var = head_node(
      g, OpKind::Mul, "var",
      {head_node(g, OpKind::ReduceSum, "sum_sq", {head_node(g, OpKind::Mul, "sq", {d, d}), axes}), inv_c});
  Value* r = head_node(
      g, OpKind::Reciprocal, "rstd",
      {head_node(g, OpKind::Sqrt, "std",
                 {head_node(g, OpKind::Add, "eps", {var, g.add_constant("e", Tensor::scalar<float>(1e-5f))})})});
  Value* n = head_node(g, OpKind::Mul, "normalized", {d, r});
  n = head_node(g, OpKind::Mul, "gamma", {n, g.add_constant("g", random_tensor({16}, rng, 1.f))});
  n = head_node(g, OpKind::Add, "beta", {n, g.add_constant("bt", random_tensor({16}, rng, 0.2f))});
  Value* y = g.add_node(OpKind::Linear, {.name = "head",
                                         .inputs = {n, g.add_constant("hw", random_tensor({5, 16}, rng, 0.4f)),
                                                    g.add_constant("hb", random_tensor({5}, rng, 0.1f))},
                                         .output_names = {"y"}})
                 ->output(0);
  g.add_output(y);
  return g;
}

/// A detection head: x → Conv (boxes, 4 ch) and Conv → Sigmoid (scores, 2 ch) → Concat →
/// Reshape [N, 6, 36] → Transpose [N, 36, 6] → "boxes"; and a classifier: Flatten → Linear →
/// Softmax → "probs".
inline Graph detection_heads(Dim batch = Dim::sym("N")) {
  std::mt19937 rng(3);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({batch, Dim(4), Dim(6), Dim(6)}), {}});
  Value* box = head_conv(g, "box", x, 4, 4, rng, 0.4f, 0.2f);
  Value* score = head_node(g, OpKind::Sigmoid, "score", {head_conv(g, "cls", x, 4, 2, rng, 0.4f, 0.2f)});
  Attributes axis1;
  axis1.set("axis", int64_t(1));
  Value* cat = head_node(g, OpKind::Concat, "cat", {box, score}, axis1);
  Value* r = head_node(g, OpKind::Reshape, "flat",
                       {cat, g.add_constant("shape", Tensor::from_vector<int64_t>({3}, {0, 6, -1}))});
  Attributes perm;
  perm.set("perm", std::vector<int64_t>{0, 2, 1});
  g.add_output(
      g.add_node(OpKind::Transpose, {.name = "t", .inputs = {r}, .attrs = perm, .output_names = {"boxes"}})
          ->output(0));
  Value* f = head_node(g, OpKind::Flatten, "flatten", {box}, axis1);
  Value* logits = head_node(g, OpKind::Linear, "fc",
                            {f, g.add_constant("fc_w", random_tensor({5, 144}, rng, 0.1f)),
                             g.add_constant("fc_b", random_tensor({5}, rng))});
  g.add_output(g.add_node(OpKind::Softmax,
                          {.name = "softmax", .inputs = {logits}, .attrs = axis1, .output_names = {"probs"}})
                   ->output(0));
  return g;
}

/// Two detection levels (the second at half resolution) joined like a YOLO head: per level a
/// box Conv (4 ch) and a Sigmoid Conv (2 ch) → Concat (axis 1) → Reshape [N, 6, cells]; then
/// Concat of the levels (axis 2) → Transpose → "dets" [N, cells, 6].
inline Graph two_level_head(Dim batch = Dim::sym("N")) {
  std::mt19937 rng(9);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({batch, Dim(4), Dim(6), Dim(6)}), {}});
  Attributes pool;
  pool.set("kernel_shape", std::vector<int64_t>{2, 2});
  pool.set("strides", std::vector<int64_t>{2, 2});
  Value* x2 = head_node(g, OpKind::MaxPool, "pool", {x}, pool);
  Attributes axis1, axis2, perm;
  axis1.set("axis", int64_t(1));
  axis2.set("axis", int64_t(2));
  perm.set("perm", std::vector<int64_t>{0, 2, 1});
  std::vector<Value*> levels;
  for (int l = 0; l < 2; ++l) {
    const std::string s = std::to_string(l);
    Value* in = l ? x2 : x;
    Value* box = head_conv(g, "box" + s, in, 4, 4, rng, l ? 1.2f : 0.4f, 0.2f);  // different ranges
    Value* score =
        head_node(g, OpKind::Sigmoid, "score" + s, {head_conv(g, "cls" + s, in, 4, 2, rng, 0.4f, 0.2f)});
    Value* cat = head_node(g, OpKind::Concat, "cat" + s, {box, score}, axis1);
    levels.push_back(head_node(g, OpKind::Reshape, "flat" + s,
                               {cat, g.add_constant("shape" + s, Tensor::from_vector<int64_t>({3}, {0, 6, -1}))}));
  }
  Value* all = head_node(g, OpKind::Concat, "levels", levels, axis2);
  g.add_output(
      g.add_node(OpKind::Transpose, {.name = "t", .inputs = {all}, .attrs = perm, .output_names = {"dets"}})
          ->output(0));
  return g;
}

}  // namespace mq::test
