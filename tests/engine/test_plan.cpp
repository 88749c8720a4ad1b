// The compiled plan's graph rewrites (engine/plan): every fused or re-laid-out graph gives
// the outputs of the same graph run op by op (SessionOptions::optimize = false).
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "engine/plan/plan.h"
#include "engine/session.h"
#include "random_tensor.h"

using namespace mq;

namespace {

using test::random_tensor;

Value* conv(Graph& g, Value* x, int64_t cin, int64_t cout, std::mt19937& rng, int64_t k = 3, int64_t stride = 1,
            int64_t group = 1) {
  Attributes a;
  a.set("pads", std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2});
  a.set("strides", std::vector<int64_t>{stride, stride});
  a.set("group", group);
  return g.add_node(OpKind::Conv2d, {.name = g.unique_name("conv"),
                                     .inputs = {x, g.add_constant(g.unique_name("w"), random_tensor({cout, cin / group, k, k}, rng, 0.3f)),
                                                g.add_constant(g.unique_name("b"), random_tensor({cout}, rng, 0.1f))},
                                     .attrs = a})
      ->output(0);
}

Value* unary(Graph& g, OpKind op, Value* x, Attributes a = {}) {
  return g.add_node(op, {.name = g.unique_name("act"), .inputs = {x}, .attrs = a})->output(0);
}

Value* binary(Graph& g, OpKind op, Value* a, Value* b) {
  return g.add_node(op, {.name = g.unique_name("bin"), .inputs = {a, b}})->output(0);
}

int count(const Graph& g, OpKind op) {
  int n = 0;
  for (Node* node : g.nodes()) n += node->op() == op;
  return n;
}

/// Runs g with and without the plan on the same input; every output must agree.
void check_same(const Graph& g, std::mt19937& rng, std::vector<int64_t> in_dims = {2, 8, 12, 10}) {
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

Value* input(Graph& g, int64_t c = 8) {
  return g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(c), Dim(12), Dim(10)}), {}});
}

}  // namespace

TEST_CASE("each activation fuses into the convolution's epilogue and gives the unfused result") {
  std::mt19937 rng(1);
  struct Case {
    OpKind op;
    Attributes attrs;
  };
  Attributes leaky, hsig;
  leaky.set("alpha", 0.2f);
  hsig.set("alpha", 0.3f);
  hsig.set("beta", 0.4f);
  for (const Case& c : std::vector<Case>{{OpKind::Relu, {}}, {OpKind::LeakyRelu, leaky}, {OpKind::Sigmoid, {}},
                                         {OpKind::Tanh, {}}, {OpKind::HardSwish, {}}, {OpKind::HardSigmoid, hsig},
                                         {OpKind::Gelu, {}}}) {
    CAPTURE(op_name(c.op));
    Graph g;
    Value* y = unary(g, c.op, conv(g, input(g), 8, 16, rng), c.attrs);
    g.add_output(unary(g, OpKind::Relu, conv(g, y, 16, 4, rng, 1)));
    Graph compiled = g.clone();
    plan::compile(compiled);
    CHECK(count(compiled, c.op) == (c.op == OpKind::Relu ? 0 : 0));
    CHECK(count(compiled, OpKind::Conv2d) == 2);
    check_same(g, rng);
  }
}

TEST_CASE("Clip with constant bounds fuses; SiLU found as x·Sigmoid(x) fuses in either operand order") {
  std::mt19937 rng(2);
  for (int order = 0; order < 3; ++order) {
    Graph g;
    Value* c = conv(g, input(g), 8, 8, rng);
    Value* y;
    if (order == 2) {
      y = g.add_node(OpKind::Clip, {.name = "clip", .inputs = {c, g.add_constant("lo", Tensor::scalar(-0.5f)),
                                                               g.add_constant("hi", Tensor::scalar(0.7f))}})
              ->output(0);
    } else {
      Value* s = unary(g, OpKind::Sigmoid, c);
      y = order == 0 ? binary(g, OpKind::Mul, c, s) : binary(g, OpKind::Mul, s, c);
    }
    g.add_output(y);
    Graph compiled = g.clone();
    plan::compile(compiled);
    CHECK(count(compiled, OpKind::Sigmoid) == 0);
    CHECK(count(compiled, OpKind::Mul) == 0);
    CHECK(count(compiled, OpKind::Clip) == 0);
    CHECK(compiled.outputs().at(0)->name() == y->name());  // the output keeps its name
    check_same(g, rng);
  }
}

TEST_CASE("a residual Add fuses after the activation; an output read twice does not fuse") {
  std::mt19937 rng(3);
  Graph g;
  Value* x = input(g);
  Value* a = unary(g, OpKind::Relu, conv(g, x, 8, 8, rng));
  Value* silu_in = conv(g, a, 8, 8, rng);
  Value* b = binary(g, OpKind::Mul, silu_in, unary(g, OpKind::Sigmoid, silu_in));
  Value* r = binary(g, OpKind::Add, a, b);  // residual: b + a
  Value* shared = conv(g, r, 8, 8, rng);   // read by two ops: stays unfused
  g.add_output(binary(g, OpKind::Add, unary(g, OpKind::Relu, shared), unary(g, OpKind::Tanh, shared)));
  Graph compiled = g.clone();
  plan::compile(compiled);
  CHECK(count(compiled, OpKind::Add) == 1);
  CHECK(count(compiled, OpKind::Relu) == 1);
  check_same(g, rng);
}

TEST_CASE("NHWC: Transposes cancel between convolutions through Concat, Resize, Add of constants and MaxPool") {
  std::mt19937 rng(4);
  Graph g;
  Value* x = input(g);
  Value* a = unary(g, OpKind::Relu, conv(g, x, 8, 8, rng));
  Value* b = conv(g, a, 8, 4, rng, 1);
  Value* cat = g.add_node(OpKind::Concat, {.name = "cat", .inputs = {a, b}, .attrs = [] {
                                             Attributes at;
                                             at.set("axis", int64_t(1));
                                             return at;
                                           }()})->output(0);
  Value* shifted = binary(g, OpKind::Add, cat, g.add_constant("per_channel", random_tensor({12, 1, 1}, rng)));
  Attributes ra;
  ra.set("mode", std::string("nearest"));
  Value* up = g.add_node(OpKind::Resize, {.name = "up", .inputs = {shifted, nullptr,
                                                                   g.add_constant("scales", Tensor::from_vector<float>({4}, {1, 1, 2, 2}))},
                                          .attrs = ra})->output(0);
  Value* d = conv(g, up, 12, 6, rng, 3, 2);
  Attributes pa;
  pa.set("kernel_shape", std::vector<int64_t>{2, 2});
  Value* pooled = g.add_node(OpKind::MaxPool, {.name = "pool", .inputs = {d}, .attrs = pa})->output(0);
  g.add_output(pooled);
  g.add_output(conv(g, d, 6, 3, rng, 3, 1, 3));  // a grouped convolution, read with the pool
  Graph compiled = g.clone();
  plan::compile(compiled);
  // NCHW → NHWC once at the input, back once before MaxPool and once at the last conv's output
  CHECK(count(compiled, OpKind::Transpose) == 3);
  check_same(g, rng);
}

TEST_CASE("a graph without convolutions is unchanged, and taps of fused values are refused with a hint") {
  std::mt19937 rng(5);
  Graph g;
  Value* x = input(g);
  Value* c = conv(g, x, 8, 8, rng);
  g.add_output(unary(g, OpKind::Relu, c));
  Session s(g);
  TensorMap in{{"x", random_tensor({1, 8, 12, 10}, rng)}};
  CHECK_THROWS_WITH_AS(s.run(in, {c->name()}, [](const Value&, const Tensor&) {}),
                       doctest::Contains("optimize = false"), InvalidArgument);
  Session plain(g, {.optimize = false});
  int taps = 0;
  plain.run(in, {c->name()}, [&](const Value&, const Tensor&) { ++taps; });
  CHECK(taps == 1);

  Graph h;
  Value* hx = input(h);
  h.add_output(unary(h, OpKind::Sigmoid, hx));
  Graph compiled = h.clone();
  plan::compile(compiled);
  CHECK(compiled.node_count() == 1);
}

TEST_CASE("an activation after the residual Add fuses too: y = act(conv + z)") {
  std::mt19937 rng(6);
  for (bool silu : {false, true}) {
    Graph g;
    Value* x = input(g);
    Value* z = unary(g, OpKind::Tanh, x);
    Value* sum = binary(g, OpKind::Add, conv(g, x, 8, 8, rng), z);
    Value* y = silu ? binary(g, OpKind::Mul, sum, unary(g, OpKind::Sigmoid, sum)) : unary(g, OpKind::Relu, sum);
    g.add_output(y);
    Graph compiled = g.clone();
    plan::compile(compiled);
    CHECK(count(compiled, OpKind::Add) == 0);
    CHECK(count(compiled, OpKind::Relu) == 0);
    CHECK(count(compiled, OpKind::Sigmoid) == 0);
    check_same(g, rng);
  }
}

TEST_CASE("NHWC: 2-D pools (pads, ceil_mode, count_include_pad) and Slice run on NHWC data") {
  std::mt19937 rng(7);
  for (int variant = 0; variant < 4; ++variant) {
    CAPTURE(variant);
    Graph g;
    Value* a = unary(g, OpKind::Relu, conv(g, input(g), 8, 8, rng));
    Attributes pa;
    pa.set("kernel_shape", std::vector<int64_t>{3, 3});
    pa.set("strides", std::vector<int64_t>{2, 2});
    pa.set("pads", std::vector<int64_t>{1, 0, 1, 1});
    if (variant & 1) pa.set("ceil_mode", int64_t(1));
    if (variant & 2) pa.set("count_include_pad", int64_t(1));
    const OpKind pool = variant < 2 ? OpKind::MaxPool : OpKind::AveragePool;
    Value* p = g.add_node(pool, {.name = "pool", .inputs = {a}, .attrs = pa})->output(0);
    // channels 2..6 and every second row: Slice with axes, then without (starts on N, C)
    Value* s1 = g.add_node(OpKind::Slice, {.name = "s1", .inputs = {p, g.add_constant("st", Tensor::from_vector<int64_t>({2}, {2, 0})),
                                                                    g.add_constant("en", Tensor::from_vector<int64_t>({2}, {6, 100})),
                                                                    g.add_constant("ax", Tensor::from_vector<int64_t>({2}, {1, -2})),
                                                                    g.add_constant("sp", Tensor::from_vector<int64_t>({2}, {1, 2}))}})
                    ->output(0);
    Value* s2 = g.add_node(OpKind::Slice, {.name = "s2", .inputs = {s1, g.add_constant("st2", Tensor::from_vector<int64_t>({2}, {0, 1})),
                                                                    g.add_constant("en2", Tensor::from_vector<int64_t>({2}, {1, 3}))}})
                    ->output(0);
    g.add_output(conv(g, s2, 2, 3, rng, 1));
    Graph compiled = g.clone();
    plan::compile(compiled);
    CHECK(count(compiled, OpKind::Transpose) == 2);  // in at the input, out at the output
    check_same(g, rng);
  }
}

TEST_CASE("a Session re-infers output types when input shapes change, and when a shape operand's values do") {
  std::mt19937 rng(8);
  Graph g;
  Value* x = input(g);
  Value* shape = g.add_input("shape", {DType::i64, Shape({Dim(2)}), {}});
  Value* c = unary(g, OpKind::Relu, conv(g, x, 8, 4, rng));
  g.add_output(g.add_node(OpKind::Reshape, {.name = "r", .inputs = {c, shape}, .output_names = {"y"}})->output(0));
  Session s(g, {.threads = 1});
  for (auto [batch, rows] : std::vector<std::pair<int64_t, int64_t>>{{2, 4}, {2, 8}, {3, 6}, {2, 4}}) {
    CAPTURE(batch);
    CAPTURE(rows);
    TensorMap out = s.run({{"x", random_tensor({batch, 8, 12, 10}, rng)},
                           {"shape", Tensor::from_vector<int64_t>({2}, {rows, -1})}});
    CHECK(out.at("y").dims() == std::vector<int64_t>{rows, batch * 4 * 12 * 10 / rows});
  }
}

TEST_CASE("Linear takes its activation and residual Add into the matmul's epilogue") {
  std::mt19937 rng(9);
  for (OpKind act : {OpKind::Relu, OpKind::Gelu, OpKind::Tanh}) {
    CAPTURE(op_name(act));
    Graph g;
    Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(16)}), {}});
    auto linear = [&](Value* in, int64_t out, int64_t inf) {
      return g.add_node(OpKind::Linear, {.name = g.unique_name("fc"),
                                         .inputs = {in, g.add_constant(g.unique_name("w"), random_tensor({out, inf}, rng, 0.3f)),
                                                    g.add_constant(g.unique_name("b"), random_tensor({out}, rng, 0.1f))}})
          ->output(0);
    };
    Value* h = unary(g, act, linear(x, 16, 16));
    Value* r = binary(g, OpKind::Add, linear(h, 16, 16), x);  // residual
    g.add_output(linear(r, 4, 16));
    Graph compiled = g.clone();
    plan::compile(compiled);
    CHECK(count(compiled, act) == 0);
    CHECK(count(compiled, OpKind::Add) == 0);
    check_same(g, rng, {3, 16});
  }
}
