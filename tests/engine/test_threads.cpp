// The session's thread count changes how work is split, never the result beyond rounding.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "engine/session.h"

using namespace mq;

TEST_CASE("Linear split over two threads matches one thread and a naive product") {
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.f, 1.f);
  const int64_t m = 96, k = 200, n = 130;
  Tensor w(DType::f32, {n, k}), b(DType::f32, {n}), x(DType::f32, {m, k});
  for (auto* t : {&w, &b, &x})
    for (int64_t i = 0; i < t->numel(); ++i) t->data<float>()[i] = d(rng);
  Graph g;
  Value* xv = g.add_input("x", {DType::f32, Shape({Dim::sym("m"), Dim(k)}), {}});
  Node* lin = g.add_node(OpKind::Linear, {.name = "fc", .inputs = {xv, g.add_constant("w", w), g.add_constant("b", b)},
                                          .output_names = {"y"}});
  g.add_output(lin->output(0));
  Session one(g, {.threads = 1}), two(g, {.threads = 2});
  Tensor y1 = one.run({{"x", x}}).at("y"), y2 = two.run({{"x", x}}).at("y");
  REQUIRE(y1.dims() == std::vector<int64_t>{m, n});
  double worst = 0;
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double ref = b.data<float>()[c];
      for (int64_t i = 0; i < k; ++i) ref += double(x.data<float>()[r * k + i]) * w.data<float>()[c * k + i];
      worst = std::max(worst, std::fabs(ref - y1.data<float>()[r * n + c]));
      CHECK(std::fabs(y1.data<float>()[r * n + c] - y2.data<float>()[r * n + c]) <= 1e-4f);
    }
  CHECK(worst < 1e-3);
}
