#pragma once
// Hand-built graphs with If, Loop and Scan nodes (ir/control_flow.h), shared by the IR, engine
// and serialization tests.
#include <memory>

#include "ir/graph.h"

namespace mq::test {

inline ValueType f32_type(std::vector<int64_t> dims) { return {DType::f32, Shape(dims), {}}; }

/// x f32[2,4], c bool[] → If(c) with outer values x, b (a constant of the main graph) and c:
///   then: Linear(x, W1 (the branch's own constant), b) → Relu
///   else: Linear(x, W2, b) = t → a nested If(c) reading t: then Relu(t), else Neg(t)
/// Output "y" f32[2,3]. W1 = 0.1·(i+1) row-major, W2 = −0.05·(i+1), b = {0.5, −1, 2}.
inline Graph make_if_graph() {
  Graph g;
  g.name = "if_model";
  Value* x = g.add_input("x", f32_type({2, 4}));
  Value* c = g.add_input("c", {DType::boolean, Shape(std::vector<int64_t>{}), {}});
  Value* b = g.add_constant("b", Tensor::from_vector<float>({3}, {0.5f, -1.f, 2.f}));
  auto weights = [](float step) {
    std::vector<float> w(12);
    for (size_t i = 0; i < w.size(); ++i) w[i] = step * float(i + 1);
    return Tensor::from_vector<float>({3, 4}, w);
  };
  auto branch_inputs = [&](Graph& s) {
    s.add_input("x", f32_type({2, 4}));
    s.add_input("b", f32_type({3}));
    s.add_input("c", {DType::boolean, Shape(std::vector<int64_t>{}), {}});
  };
  auto then_g = std::make_shared<Graph>();
  branch_inputs(*then_g);
  Value* w1 = then_g->add_constant("W1", weights(0.1f));
  Value* h = then_g
                 ->add_node(OpKind::Linear, {.name = "then_fc",
                                             .inputs = {then_g->value("x"), w1, then_g->value("b")},
                                             .output_names = {"then_fc_out"}})
                 ->output(0);
  then_g->add_output(
      then_g->add_node(OpKind::Relu, {.name = "then_relu", .inputs = {h}, .output_names = {"then_out"}})
          ->output(0));

  auto else_g = std::make_shared<Graph>();
  branch_inputs(*else_g);
  Value* w2 = else_g->add_constant("W2", weights(-0.05f));
  Value* t = else_g
                 ->add_node(OpKind::Linear, {.name = "else_fc",
                                             .inputs = {else_g->value("x"), w2, else_g->value("b")},
                                             .output_names = {"else_fc_out"}})
                 ->output(0);
  auto inner_then = std::make_shared<Graph>();
  Value* it = inner_then->add_input("else_fc_out", f32_type({2, 3}));
  inner_then->add_output(inner_then->add_node(OpKind::Relu, {.name = "inner_relu", .inputs = {it}})->output(0));
  auto inner_else = std::make_shared<Graph>();
  Value* ie = inner_else->add_input("else_fc_out", f32_type({2, 3}));
  inner_else->add_output(inner_else->add_node(OpKind::Neg, {.name = "inner_neg", .inputs = {ie}})->output(0));
  Attributes inner;
  inner.set("then_branch", inner_then);
  inner.set("else_branch", inner_else);
  inner.set("outer_inputs", int64_t(1));
  else_g->add_output(else_g
                         ->add_node(OpKind::If, {.name = "inner_if",
                                                 .inputs = {else_g->value("c"), t},
                                                 .attrs = inner,
                                                 .output_names = {"else_out"}})
                         ->output(0));
  Attributes a;
  a.set("then_branch", then_g);
  a.set("else_branch", else_g);
  a.set("outer_inputs", int64_t(3));
  g.add_output(g.add_node(OpKind::If, {.name = "if", .inputs = {c, x, b, c}, .attrs = a, .output_names = {"y"}})
                   ->output(0));
  return g;
}

/// What make_if_graph computes for x and c (row-major [2,4] → [2,3]).
inline std::vector<float> if_graph_reference(const std::vector<float>& x, bool c) {
  const float b[3] = {0.5f, -1.f, 2.f};
  std::vector<float> y(6);
  for (int r = 0; r < 2; ++r)
    for (int o = 0; o < 3; ++o) {
      float s = b[o];
      for (int i = 0; i < 4; ++i) s += x[size_t(r * 4 + i)] * (c ? 0.1f : -0.05f) * float(o * 4 + i + 1);
      y[size_t(r * 3 + o)] = c ? std::max(s, 0.f) : -s;
    }
  return y;
}

/// x f32[3], m i64[] → Loop(M = m, no cond, v = x) whose body adds the outer constant
/// w = {1, 2, 3} to v and also emits v·2 as a scan output: outputs "v_final" f32[3] and
/// "v_scan" f32[m,3].
inline Graph make_loop_graph() {
  Graph g;
  Value* x = g.add_input("x", f32_type({3}));
  Value* m = g.add_input("m", {DType::i64, Shape(std::vector<int64_t>{}), {}});
  Value* w = g.add_constant("w", Tensor::from_vector<float>({3}, {1, 2, 3}));
  auto body = std::make_shared<Graph>();
  body->add_input("i", {DType::i64, Shape(std::vector<int64_t>{}), {}});
  Value* cond = body->add_input("cond_in", {DType::boolean, Shape(std::vector<int64_t>{}), {}});
  Value* v = body->add_input("v", f32_type({3}));
  Value* bw = body->add_input("w", f32_type({3}));
  Value* two = body->add_constant("two", Tensor::from_vector<float>({1}, {2}));
  body->add_output(body->add_node(OpKind::Identity, {.name = "keep_going", .inputs = {cond}})->output(0));
  body->add_output(
      body->add_node(OpKind::Add, {.name = "step", .inputs = {v, bw}, .output_names = {"v_next"}})->output(0));
  body->add_output(
      body->add_node(OpKind::Mul, {.name = "double", .inputs = {v, two}, .output_names = {"v_twice"}})->output(0));
  Attributes a;
  a.set("body", body);
  a.set("outer_inputs", int64_t(1));
  Node* n = g.add_node(OpKind::Loop, {.name = "loop",
                                      .inputs = {m, nullptr, x, w},
                                      .attrs = a,
                                      .num_outputs = 2,
                                      .output_names = {"v_final", "v_scan"}});
  g.add_output(n->output(0));
  g.add_output(n->output(1));
  return g;
}

/// s f32[2], x f32[T,2] → Scan(state s, scan input x) whose body adds each row to the state
/// and emits the running sum: "sum" f32[2] and "running" f32[T,2]; `reverse` scans x last
/// row first.
inline Graph make_scan_graph(bool reverse) {
  Graph g;
  Value* s = g.add_input("s", f32_type({2}));
  Value* x = g.add_input("x", {DType::f32, Shape(std::vector<Dim>{Dim::sym("T"), Dim(2)}), {}});
  auto body = std::make_shared<Graph>();
  Value* bs = body->add_input("acc", f32_type({2}));
  Value* bx = body->add_input("row", f32_type({2}));
  Value* sum = body->add_node(OpKind::Add, {.name = "acc_add", .inputs = {bs, bx}, .output_names = {"acc_next"}})
                   ->output(0);
  body->add_output(sum);
  body->add_output(
      body->add_node(OpKind::Identity, {.name = "emit", .inputs = {sum}, .output_names = {"acc_out"}})->output(0));
  Attributes a;
  a.set("body", body);
  a.set("num_scan_inputs", int64_t(1));
  a.set("scan_input_directions", std::vector<int64_t>{reverse ? 1 : 0});
  Node* n = g.add_node(
      OpKind::Scan,
      {.name = "scan", .inputs = {s, x}, .attrs = a, .num_outputs = 2, .output_names = {"sum", "running"}});
  g.add_output(n->output(0));
  g.add_output(n->output(1));
  return g;
}

}  // namespace mq::test
