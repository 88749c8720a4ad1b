#pragma once
// A recurrent block for quantization tests: x [B, T, 5] → Transpose (time-major) →
// bidirectional LSTM (hidden 8) → y [T, 2, B, 8].
#include <random>
#include <string>

#include "ir/graph.h"
#include "random_tensor.h"

namespace mq::test {

inline Graph transposed_lstm(Dim batch = Dim(2), uint32_t seed = 21) {
  std::mt19937 rng(seed);
  Graph g;
  const int64_t H = 8;
  Value* x = g.add_input("x", {DType::f32, Shape({batch, Dim(6), Dim(5)}), {}});
  Attributes perm;
  perm.set("perm", std::vector<int64_t>{1, 0, 2});
  Value* t = g.add_node(OpKind::Transpose, {.name = "time_major", .inputs = {x}, .attrs = perm})->output(0);
  Attributes a;
  a.set("hidden_size", H);
  a.set("direction", std::string("bidirectional"));
  Node* l = g.add_node(OpKind::LSTM, {.name = "lstm",
                                      .inputs = {t, g.add_constant("W", random_tensor({2, 4 * H, 5}, rng, 0.5f)),
                                                 g.add_constant("R", random_tensor({2, 4 * H, H}, rng, 0.5f)),
                                                 g.add_constant("B", random_tensor({2, 8 * H}, rng, 0.2f))},
                                      .attrs = a,
                                      .output_names = {"y"}});
  g.add_output(l->output(0));
  return g;
}

}  // namespace mq::test
