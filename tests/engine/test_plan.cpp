// The compiled plan's graph rewrites (engine/plan): every fused or re-laid-out graph gives
// the outputs of the same graph run op by op (SessionOptions::optimize = false).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "engine/api.h"
#include "engine/plan/plan.h"
#include "engine/quantize.h"
#include "engine/session.h"
#include "error_text.h"
#include "plan_graphs.h"

using namespace mq;

using namespace mq::plan_test;

TEST_CASE("each activation fuses into the convolution's epilogue and gives the unfused result") {
  std::mt19937 rng(1);
  struct Case {
    OpKind op;
    Attributes attrs;
  };
  Attributes leaky, hsig, gelu_tanh;
  gelu_tanh.set("approximate", std::string("tanh"));
  leaky.set("alpha", 0.2f);
  hsig.set("alpha", 0.3f);
  hsig.set("beta", 0.4f);
  for (const Case& c : std::vector<Case>{{OpKind::Relu, {}},
                                         {OpKind::LeakyRelu, leaky},
                                         {OpKind::Sigmoid, {}},
                                         {OpKind::Tanh, {}},
                                         {OpKind::HardSwish, {}},
                                         {OpKind::HardSigmoid, hsig},
                                         {OpKind::Gelu, {}},
                                         {OpKind::Gelu, gelu_tanh}}) {
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
      y = g.add_node(OpKind::Clip, {.name = "clip",
                                    .inputs = {c, g.add_constant("lo", Tensor::scalar(-0.5f)),
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
  Value* shared = conv(g, r, 8, 8, rng);    // read by two ops: no epilogue
  g.add_output(binary(g, OpKind::Add, unary(g, OpKind::Relu, shared), unary(g, OpKind::Tanh, shared)));
  Graph compiled = g.clone();
  plan::compile(compiled);
  // the two readers and their Add become one elementwise step after the plain convolution
  CHECK(count(compiled, OpKind::Add) == 0);
  CHECK(count(compiled, OpKind::Relu) == 0);
  CHECK(count(compiled, OpKind::FusedElementwise) == 1);
  int plain_convs = 0;
  for (Node* n : compiled.nodes())
    plain_convs += n->op() == OpKind::Conv2d && n->attrs().get_string_or("activation", "").empty() && !n->input(3);
  CHECK(plain_convs == 1);
  check_same(g, rng);
}

TEST_CASE("NHWC: Transposes cancel between convolutions through Concat, Resize, Add of constants and MaxPool") {
  std::mt19937 rng(4);
  Graph g;
  Value* x = input(g);
  Value* a = unary(g, OpKind::Relu, conv(g, x, 8, 8, rng));
  Value* b = conv(g, a, 8, 4, rng, 1);
  Value* cat = g.add_node(OpKind::Concat, {.name = "cat",
                                           .inputs = {a, b},
                                           .attrs =
                                               [] {
                                                 Attributes at;
                                                 at.set("axis", int64_t(1));
                                                 return at;
                                               }()})
                   ->output(0);
  Value* shifted = binary(g, OpKind::Add, cat, g.add_constant("per_channel", random_tensor({12, 1, 1}, rng)));
  Attributes ra;
  ra.set("mode", std::string("nearest"));
  Value* up =
      g.add_node(
           OpKind::Resize,
           {.name = "up",
            .inputs = {shifted, nullptr, g.add_constant("scales", Tensor::from_vector<float>({4}, {1, 1, 2, 2}))},
            .attrs = ra})
          ->output(0);
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
    Value* s1 =
        g.add_node(OpKind::Slice, {.name = "s1",
                                   .inputs = {p, g.add_constant("st", Tensor::from_vector<int64_t>({2}, {2, 0})),
                                              g.add_constant("en", Tensor::from_vector<int64_t>({2}, {6, 100})),
                                              g.add_constant("ax", Tensor::from_vector<int64_t>({2}, {1, -2})),
                                              g.add_constant("sp", Tensor::from_vector<int64_t>({2}, {1, 2}))}})
            ->output(0);
    Value* s2 =
        g.add_node(OpKind::Slice, {.name = "s2",
                                   .inputs = {s1, g.add_constant("st2", Tensor::from_vector<int64_t>({2}, {0, 1})),
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
  Value* r = g.add_node(OpKind::Reshape, {.name = "r", .inputs = {c, shape}})->output(0);
  // a step after the value-dependent one: its types change with the values, not the input dims
  g.add_output(g.add_node(OpKind::Sigmoid, {.name = "s", .inputs = {r}, .output_names = {"y"}})->output(0));
  Session s(g, {.threads = 1});
  for (auto [batch, rows] :
       std::vector<std::pair<int64_t, int64_t>>{{2, 4}, {2, 4}, {2, 8}, {2, 4}, {3, 6}, {2, 4}}) {
    CAPTURE(batch);
    CAPTURE(rows);
    TensorMap out = s.run(
        {{"x", random_tensor({batch, 8, 12, 10}, rng)}, {"shape", Tensor::from_vector<int64_t>({2}, {rows, -1})}});
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
      return g
          .add_node(OpKind::Linear,
                    {.name = g.unique_name("fc"),
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

namespace {

/// Runs g with and without the plan (1 and 2 threads) on `in`: outputs must be bit-identical.
void check_identical(const Graph& g, const TensorMap& in) {
  Session plain(g, {.threads = 1, .optimize = false});
  const TensorMap want = plain.run(in);
  for (int threads : {1, 2}) {
    Session fast(g, {.threads = threads});
    const TensorMap got = fast.run(in);
    for (auto& [name, w] : want) {
      CAPTURE(name);
      CAPTURE(threads);
      const Tensor& t = got.at(name);
      REQUIRE(t.dims() == w.dims());
      REQUIRE(t.dtype() == w.dtype());
      REQUIRE(std::memcmp(t.raw(), w.raw(), w.nbytes()) == 0);
    }
  }
}

}  // namespace

TEST_CASE("a chain of elementwise ops runs as one fused step with the unfused ops' exact results") {
  std::mt19937 rng(11);
  // x + per-channel bias, then Gelu-tanh written out as 10 ops: one step, bit-identical
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(64), Dim(300)}), {}});
  Value* bias = g.add_constant("bias", random_tensor({1, 64, 1}, rng));
  Value* y = gelu_tanh_ops(g, binary(g, OpKind::Add, x, bias));
  g.add_output(y);
  Graph compiled = g.clone();
  plan::compile(compiled);
  CHECK(compiled.node_count() == 1);
  CHECK(count(compiled, OpKind::FusedElementwise) == 1);
  CHECK(compiled.outputs()[0]->name() == y->name());
  TensorMap in{{"x", random_tensor({3, 64, 300}, rng, 4.f)}};
  check_identical(g, in);
  // the rest of the op set, with a scalar on either side, a second full-size operand, Clip's
  // bounds, a row-broadcast operand and every activation the fused kernel evaluates
  Graph h;
  Value* a = h.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(40), Dim(70)}), {}});
  Value* b = h.add_input("b", {DType::f32, Shape({Dim::sym("N"), Dim(40), Dim(70)}), {}});
  Value* row = h.add_constant("row", random_tensor({70}, rng));
  Attributes leaky, hsig, tanh_gelu;
  leaky.set("alpha", 0.1f);
  hsig.set("alpha", 0.25f);
  hsig.set("beta", 0.45f);
  tanh_gelu.set("approximate", std::string("tanh"));
  Value* v = binary(h, OpKind::Sub, scalar(h, 0.25f), a);
  v = binary(h, OpKind::Div, v, binary(h, OpKind::Add, unary(h, OpKind::Abs, b), scalar(h, 1.f)));
  v = binary(h, OpKind::Max, v, binary(h, OpKind::Mul, b, row));
  v = binary(h, OpKind::Min, v, scalar(h, 2.5f));
  v = unary(h, OpKind::LeakyRelu, v, leaky);
  v = unary(h, OpKind::HardSigmoid,
            binary(h, OpKind::Add, unary(h, OpKind::Sigmoid, v), unary(h, OpKind::HardSwish, v)), hsig);
  v = binary(h, OpKind::Add, unary(h, OpKind::Erf, v), unary(h, OpKind::Gelu, v, tanh_gelu));
  v = binary(h, OpKind::Add, unary(h, OpKind::Gelu, v), unary(h, OpKind::Neg, unary(h, OpKind::Relu, v)));
  v = unary(h, OpKind::Exp, unary(h, OpKind::Softplus, v));
  v = unary(h, OpKind::Log, unary(h, OpKind::Sqrt, unary(h, OpKind::Reciprocal, v)));
  v = h.add_node(OpKind::Clip, {.name = "clip", .inputs = {v, scalar(h, -0.3f), scalar(h, 0.9f)}})->output(0);
  v = binary(h, OpKind::Pow, unary(h, OpKind::Relu, v), scalar(h, 1.5f));
  h.add_output(v);
  Graph hc = h.clone();
  plan::compile(hc);
  CHECK(hc.node_count() == 1);
  TensorMap hin{{"x", random_tensor({2, 40, 70}, rng, 3.f)}, {"b", random_tensor({2, 40, 70}, rng, 3.f)}};
  check_identical(h, hin);
}

TEST_CASE("a Cast of bool or 8-bit integers to float joins the chain; before a QuantizeLinear it is one table") {
  std::mt19937 rng(21);
  // one-hot written out: Equal(ids, classes) → Cast → Mul → y, and ids (u8) → Cast → QuantizeLinear → z
  Graph g;
  Value* ids = g.add_input("ids", {DType::i64, Shape({Dim::sym("N"), Dim(50), Dim(1)}), {}});
  Value* bytes = g.add_input("bytes", {DType::u8, Shape({Dim::sym("N"), Dim(70)}), {}});
  std::vector<int64_t> cls(16);
  for (size_t i = 0; i < cls.size(); ++i) cls[i] = int64_t(i);
  Value* eq = binary(g, OpKind::Equal, ids, g.add_constant("classes", Tensor::from_vector<int64_t>({16}, cls)));
  Attributes to_f32;
  to_f32.set("to", int64_t(1));
  Value* hot = unary(g, OpKind::Cast, eq, to_f32);
  g.add_output(binary(g, OpKind::Mul, hot, scalar(g, 0.5f)));
  Value* f = unary(g, OpKind::Cast, bytes, to_f32);
  Value* z = g.add_node(OpKind::QuantizeLinear,
                        {.name = "q",
                         .inputs = {f, g.add_constant("q_scale", Tensor::scalar<float>(1.7f)),
                                    g.add_constant("q_zero_point", Tensor::scalar<uint8_t>(uint8_t(3)))}})
                 ->output(0);
  g.add_output(z);
  Graph compiled = g.clone();
  plan::compile(compiled);
  CHECK(count(compiled, OpKind::Cast) == 0);
  CHECK(count(compiled, OpKind::QuantizeLinear) == 0);
  CHECK(count(compiled, OpKind::FusedElementwise) == 2);
  Tensor id_values(DType::i64, {3, 50, 1});
  Tensor byte_values(DType::u8, {3, 70});
  for (int64_t i = 0; i < id_values.numel(); ++i) id_values.data<int64_t>()[i] = int64_t(rng() % 20);
  for (int64_t i = 0; i < byte_values.numel(); ++i) byte_values.data<uint8_t>()[i] = uint8_t(rng());
  check_identical(g, {{"ids", id_values}, {"bytes", byte_values}});
}

TEST_CASE("a Linear of a Cast bool mask (a one-hot encoding) sums the weight columns each row selects") {
  std::mt19937 rng(23);
  // ids [N, 40, 1] == classes [20] → Cast → Linear (+ bias, Relu) → y; ids out of range give
  // all-zero rows, and a second input gives rows with several ones (x > 0)
  for (bool finite : {true, false}) {
    CAPTURE(finite);
    Graph g;
    Value* ids = g.add_input("ids", {DType::i64, Shape({Dim::sym("N"), Dim(40), Dim(1)}), {}});
    Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(20)}), {}});
    std::vector<int64_t> cls(20);
    for (size_t i = 0; i < cls.size(); ++i) cls[i] = int64_t(i);
    Attributes to_f32;
    to_f32.set("to", int64_t(1));
    Tensor w = random_tensor({24, 20}, rng);
    if (!finite) w.data<float>()[5] = INFINITY;
    Value* wv = g.add_constant("w", w);
    Value* bv = g.add_constant("b", random_tensor({24}, rng));
    auto dense = [&](const std::string& name, Value* mask) {
      Value* lin =
          g.add_node(OpKind::Linear, {.name = name, .inputs = {unary(g, OpKind::Cast, mask, to_f32), wv, bv}})
              ->output(0);
      g.add_output(unary(g, OpKind::Relu, lin));
    };
    dense("one_hot",
          binary(g, OpKind::Equal, ids, g.add_constant("classes", Tensor::from_vector<int64_t>({20}, cls))));
    dense("multi_hot", binary(g, OpKind::Greater, x, scalar(g, 0.f)));
    Graph compiled = g.clone();
    plan::compile(compiled);
    int bool_inputs = 0;
    for (Node* n : compiled.nodes())
      bool_inputs += n->op() == OpKind::Linear && n->input(0)->dtype() == DType::boolean;
    CHECK(bool_inputs == (finite ? 2 : 0));  // an infinite weight keeps the product (0 · inf is NaN)
    if (!finite) continue;
    Tensor id_values(DType::i64, {3, 40, 1});
    for (int64_t i = 0; i < id_values.numel(); ++i) id_values.data<int64_t>()[i] = int64_t(rng() % 24);
    const TensorMap in{{"ids", id_values}, {"x", random_tensor({3, 20}, rng)}};
    const TensorMap want = Session(g, {.threads = 1, .optimize = false}).run(in);
    for (int threads : {1, 2}) {
      const TensorMap got = Session(g, {.threads = threads}).run(in);
      for (auto& [name, t] : want) {
        CAPTURE(name);
        const Tensor& a = got.at(name);
        REQUIRE(a.dims() == t.dims());
        for (int64_t i = 0; i < t.numel(); ++i) {
          const float u = a.data<float>()[i], v = t.data<float>()[i];
          CHECK(std::fabs(u - v) <= 1e-5f * (1.f + std::fabs(v)));
        }
      }
    }
  }
}

TEST_CASE("elementwise fusion keeps values read outside the chain, graph outputs and smaller intermediates") {
  std::mt19937 rng(12);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(16), Dim(50)}), {}});
  Value* mean =
      g.add_node(OpKind::ReduceMean,
                 {.name = "mean", .inputs = {x, g.add_constant("axes", Tensor::from_vector<int64_t>({1}, {2}))}})
          ->output(0);  // [N,16,1]
  // a [N,16,1] chain feeding the full-size chain stays its own step (no recomputation per element)
  Value* inv =
      unary(g, OpKind::Reciprocal, unary(g, OpKind::Sqrt, binary(g, OpKind::Add, mean, scalar(g, 1e-3f))));
  Value* centered = binary(g, OpKind::Sub, x, mean);
  Value* t = unary(g, OpKind::Tanh, centered);  // read twice below: stays inside (both readers fuse)
  Value* s = binary(g, OpKind::Mul, binary(g, OpKind::Mul, t, inv), t);
  Value* side = unary(g, OpKind::Sigmoid, s);  // a graph output and read by the chain
  Value* out = binary(g, OpKind::Add, unary(g, OpKind::Relu, side), x);
  g.add_output(side);
  g.add_output(out);
  Graph compiled = g.clone();
  plan::compile(compiled);
  // [mean+eps → sqrt → reciprocal], [sub → tanh → mul → mul → sigmoid], [relu → add]
  CHECK(count(compiled, OpKind::FusedElementwise) == 3);
  CHECK(count(compiled, OpKind::ReduceMean) == 1);
  CHECK(compiled.node_count() == 4);
  check_identical(g, {{"x", random_tensor({3, 16, 50}, rng)}});
}

TEST_CASE("a FusedElementwise node with a malformed program is refused with the node and field named") {
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim(4)}), {}});
  Node* n = g.add_node(OpKind::FusedElementwise, {.name = "fused", .inputs = {x}});
  n->attrs().set("program", std::vector<int64_t>{0, 2, 0, 5});  // reads slot 5 of 1
  n->attrs().set("program_floats", std::vector<float>{0.f, 0.f, 0.f});
  g.add_output(n->output(0));
  auto build = [&] { Session s(g); };
  std::string msg = test::message_of(build);
  CHECK(test::contains(msg, "'fused'"));
  CHECK(test::contains(msg, "reads slot 5"));
  n->attrs().set("program", std::vector<int64_t>{9, 0, 0, 0});
  CHECK(test::contains(test::message_of(build), "instruction 0 has kind 9"));
  n->attrs().set("program", std::vector<int64_t>{0, 2, 0});
  CHECK(test::contains(test::message_of(build), "'program'"));
}

TEST_CASE(
    "NHWC reaches the classifier: global pools run on NHWC and Flatten/Reshape → Linear reads NHWC with permuted "
    "weights") {
  std::mt19937 rng(13);
  for (int variant = 0; variant < 3;
       ++variant) {  // GlobalAveragePool + Flatten, MaxPool + Flatten, MaxPool + Reshape
    CAPTURE(variant);
    Graph g;
    Value* y = unary(g, OpKind::Relu, conv(g, input(g), 8, 6, rng));
    Attributes pool;
    pool.set("kernel_shape", std::vector<int64_t>{2, 2});
    pool.set("strides", std::vector<int64_t>{2, 2});
    if (variant == 0) y = g.add_node(OpKind::GlobalAveragePool, {.name = "gap", .inputs = {y}})->output(0);
    else y = g.add_node(OpKind::MaxPool, {.name = "pool", .inputs = {y}, .attrs = pool})->output(0);
    const int64_t k = variant == 0 ? 6 : 6 * 6 * 5;
    if (variant == 2) {
      y = g.add_node(OpKind::Reshape,
                     {.name = "flat",
                      .inputs = {y, g.add_constant("shape", Tensor::from_vector<int64_t>({2}, {0, -1}))}})
              ->output(0);
    } else {
      y = g.add_node(OpKind::Flatten, {.name = "flat", .inputs = {y}})->output(0);
    }
    Value* fc = g.add_node(OpKind::Linear, {.name = "fc",
                                            .inputs = {y, g.add_constant("fc_w", random_tensor({5, k}, rng, 0.3f)),
                                                       g.add_constant("fc_b", random_tensor({5}, rng))}})
                    ->output(0);
    g.add_output(fc);
    Graph compiled = g.clone();
    plan::compile(compiled);
    CHECK(count(compiled, OpKind::Transpose) == 1);  // only the input's NCHW → NHWC
    for (Node* n : compiled.nodes())
      if (n->op() == OpKind::GlobalAveragePool || n->op() == OpKind::MaxPool)
        CHECK(n->attrs().get_string_or("layout", "") == "NHWC");
    check_same(g, rng);
  }
}

TEST_CASE(
    "int8 between layers: DequantizeLinear → activation chain → QuantizeLinear runs as one step, bit-identical") {
  std::mt19937 rng(14);
  for (DType q : {DType::u8, DType::i8}) {
    CAPTURE(dtype_name(q));
    Graph g;
    Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(24), Dim(33)}), {}});
    auto zp = [&](const char* name, int v) {
      return q == DType::u8 ? g.add_constant(name, Tensor::scalar(uint8_t(v)))
                            : g.add_constant(name, Tensor::scalar(int8_t(v - 128)));
    };
    Value* s_in = g.add_constant("s_in", Tensor::scalar(0.05f));
    Value* s_out = g.add_constant("s_out", Tensor::scalar(0.02f));
    Value* qx =
        g.add_node(OpKind::QuantizeLinear, {.name = "q_in", .inputs = {x, s_in, zp("zp_in", 131)}})->output(0);
    Value* dq =
        g.add_node(OpKind::DequantizeLinear, {.name = "dq", .inputs = {qx, s_in, zp("zp_in2", 131)}})->output(0);
    Value* silu = binary(g, OpKind::Mul, dq, unary(g, OpKind::Sigmoid, dq));  // SiLU between two int8 layers
    Value* out = g.add_node(OpKind::QuantizeLinear, {.name = "q_out", .inputs = {silu, s_out, zp("zp_out", 17)}})
                     ->output(0);
    g.add_output(out);
    // a second reader: int8 → f32 (a 256-entry f32 table)
    Value* dq2 =
        g.add_node(OpKind::DequantizeLinear, {.name = "dq2", .inputs = {qx, s_in, zp("zp_in3", 131)}})->output(0);
    Value* f = unary(g, OpKind::Tanh, binary(g, OpKind::Mul, dq2, scalar(g, 0.3f)));
    g.add_output(f);
    Graph compiled = g.clone();
    plan::compile(compiled);
    // q_in reads x (a graph input) alone: it stays; dq, Sigmoid, Mul and q_out are one step,
    // dq2, Mul and Tanh another
    CHECK(count(compiled, OpKind::FusedElementwise) == 2);
    CHECK(count(compiled, OpKind::DequantizeLinear) == 0);
    CHECK(count(compiled, OpKind::QuantizeLinear) == 1);
    CHECK(compiled.outputs()[0]->dtype() == q);
    Tensor in = random_tensor({2, 24, 33}, rng, 6.f);
    Session plain(g, {.threads = 1, .optimize = false});
    const TensorMap want = plain.run({{"x", in}});
    for (int threads : {1, 2}) {
      Session fast(g, {.threads = threads});
      const TensorMap got = fast.run({{"x", in}});
      REQUIRE(got.at(out->name()).dtype() == q);
      CHECK(std::memcmp(got.at(out->name()).raw(), want.at(out->name()).raw(),
                        size_t(want.at(out->name()).numel())) == 0);
      CHECK(std::memcmp(got.at(f->name()).raw(), want.at(f->name()).raw(),
                        size_t(want.at(f->name()).numel()) * 4) == 0);
    }
  }
  // a per-channel DequantizeLinear (scale per channel) is not fused into the chain
  Graph h;
  Value* x = h.add_input("x", {DType::u8, Shape({Dim(2), Dim(3)}), {}});
  Attributes axis;
  axis.set("axis", int64_t(1));
  Value* dq =
      h.add_node(OpKind::DequantizeLinear,
                 {.name = "dq", .inputs = {x, h.add_constant("s", random_tensor({3}, rng, 0.1f))}, .attrs = axis})
          ->output(0);
  h.add_output(unary(h, OpKind::Sigmoid, dq));
  plan::compile(h);
  CHECK(count(h, OpKind::DequantizeLinear) == 1);
}

TEST_CASE(
    "int8 between layers: a chain with per-channel constants (a bias) runs as one table per channel, "
    "bit-identical") {
  std::mt19937 rng(15);
  // constants along the last axis, along the channel axis of NCHW ([C,1,1]), and with an axis
  // inside that broadcasts ([C,1,W]: no tables, the chain runs element by element)
  const std::vector<std::vector<int64_t>> const_shapes = {{7}, {6, 1, 1}, {6, 1, 7}};
  for (const auto& cs : const_shapes)
    for (DType q : {DType::u8, DType::i8}) {
      CAPTURE(cs.size());
      CAPTURE(dtype_name(q));
      Graph g;
      Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(6), Dim(5), Dim(7)}), {}});
      auto zp = [&](const char* name, int v) {
        return q == DType::u8 ? g.add_constant(name, Tensor::scalar(uint8_t(v)))
                              : g.add_constant(name, Tensor::scalar(int8_t(v - 128)));
      };
      Value* s_in = g.add_constant("s_in", Tensor::scalar(0.05f));
      Value* qx =
          g.add_node(OpKind::QuantizeLinear, {.name = "q_in", .inputs = {x, s_in, zp("zp_in", 131)}})->output(0);
      Value* dq =
          g.add_node(OpKind::DequantizeLinear, {.name = "dq", .inputs = {qx, s_in, zp("zp_in2", 131)}})->output(0);
      Value* bias = g.add_constant("bias", random_tensor(cs, rng, 2.f));
      Value* gain = g.add_constant("gain", random_tensor(cs, rng, 1.f));
      Value* t = binary(g, OpKind::Mul, unary(g, OpKind::Tanh, binary(g, OpKind::Add, dq, bias)), gain);
      Value* out = g.add_node(OpKind::QuantizeLinear,
                              {.name = "q_out",
                               .inputs = {t, g.add_constant("s_out", Tensor::scalar(0.01f)), zp("zp_out", 120)}})
                       ->output(0);
      g.add_output(out);
      // a second reader with a float result (f32 tables)
      Value* dq2 = g.add_node(OpKind::DequantizeLinear, {.name = "dq2", .inputs = {qx, s_in, zp("zp_in3", 131)}})
                       ->output(0);
      Value* f = unary(g, OpKind::Sigmoid, binary(g, OpKind::Sub, dq2, bias));
      g.add_output(f);
      Graph compiled = g.clone();
      plan::compile(compiled);
      CHECK(count(compiled, OpKind::FusedElementwise) == 2);
      Tensor in = random_tensor({3, 6, 5, 7}, rng, 6.f);
      Session plain(g, {.threads = 1, .optimize = false});
      const TensorMap want = plain.run({{"x", in}});
      for (int threads : {1, 2}) {
        CAPTURE(threads);
        Session fast(g, {.threads = threads});
        const TensorMap got = fast.run({{"x", in}});
        REQUIRE(got.at(out->name()).dtype() == q);
        CHECK(std::memcmp(got.at(out->name()).raw(), want.at(out->name()).raw(),
                          size_t(want.at(out->name()).numel())) == 0);
        CHECK(std::memcmp(got.at(f->name()).raw(), want.at(f->name()).raw(),
                          size_t(want.at(f->name()).numel()) * 4) == 0);
      }
    }
}

TEST_CASE(
    "int8 between layers: a residual Add of two int8 values and its activation runs as one table of byte pairs, "
    "bit-identical") {
  std::mt19937 rng(16);
  // operand types (the second may differ), and the second operand's shape: the output's (the
  // table) or one that broadcasts (the chain runs element by element)
  struct Case {
    DType qa, qb;
    bool broadcast;
  };
  for (const Case& c : std::vector<Case>{{DType::u8, DType::u8, false},
                                         {DType::i8, DType::i8, false},
                                         {DType::u8, DType::i8, false},
                                         {DType::u8, DType::u8, true}}) {
    CAPTURE(dtype_name(c.qa));
    CAPTURE(dtype_name(c.qb));
    CAPTURE(c.broadcast);
    Graph g;  // int8 operands as a layer's outputs are (no QuantizeLinear the chain reads through)
    const std::vector<int64_t> da = {3, 6, 5, 7}, db = {3, 6, c.broadcast ? 1 : 5, 7};
    Value* a = g.add_input("a", {c.qa, Shape({Dim::sym("N"), Dim(6), Dim(5), Dim(7)}), {}});
    Value* b = g.add_input("b", {c.qb, Shape({Dim::sym("N"), Dim(6), Dim(db[2]), Dim(7)}), {}});
    auto zp = [&](DType q, const char* name, int v) {
      return q == DType::u8 ? g.add_constant(name, Tensor::scalar(uint8_t(v)))
                            : g.add_constant(name, Tensor::scalar(int8_t(v - 128)));
    };
    Value* dqa = g.add_node(OpKind::DequantizeLinear,
                            {.name = "dqa",
                             .inputs = {a, g.add_constant("sa", Tensor::scalar(0.05f)), zp(c.qa, "zpa", 131)}})
                     ->output(0);
    Value* dqb = g.add_node(OpKind::DequantizeLinear,
                            {.name = "dqb",
                             .inputs = {b, g.add_constant("sb", Tensor::scalar(0.03f)), zp(c.qb, "zpb", 40)}})
                     ->output(0);
    Value* silu = binary(g, OpKind::Mul, dqb, unary(g, OpKind::Sigmoid, dqb));
    Value* sum = binary(g, OpKind::Mul, binary(g, OpKind::Add, dqa, silu), scalar(g, 0.9f));
    Value* out =
        g.add_node(OpKind::QuantizeLinear,
                   {.name = "q_out",
                    .inputs = {sum, g.add_constant("s_out", Tensor::scalar(0.04f)), zp(c.qa, "zp_out", 100)}})
            ->output(0);
    g.add_output(out);
    Graph compiled = g.clone();
    plan::compile(compiled);
    CHECK(count(compiled, OpKind::FusedElementwise) == (c.broadcast ? 2 : 1));  // SiLU(b) is smaller: its own step
    CHECK(count(compiled, OpKind::DequantizeLinear) == 0);
    auto bytes = [&](DType t, const std::vector<int64_t>& dims) {  // every byte value, in random places
      Tensor r(t, dims);
      auto* p = static_cast<uint8_t*>(r.raw());
      for (int64_t i = 0; i < r.numel(); ++i) p[i] = uint8_t(rng());
      return r;
    };
    const TensorMap in = {{"a", bytes(c.qa, da)}, {"b", bytes(c.qb, db)}};
    Session plain(g, {.threads = 1, .optimize = false});
    const TensorMap want = plain.run(in);
    for (int threads : {1, 2}) {
      CAPTURE(threads);
      Session fast(g, {.threads = threads});
      const TensorMap got = fast.run(in);
      REQUIRE(got.at(out->name()).dtype() == c.qa);
      CHECK(std::memcmp(got.at(out->name()).raw(), want.at(out->name()).raw(),
                        size_t(want.at(out->name()).numel())) == 0);
    }
  }
}

TEST_CASE(
    "a FusedElementwise node whose int8 operand is read as f32, or with a bad output quantization, is refused") {
  Graph g;
  Value* x = g.add_input("x", {DType::u8, Shape({Dim(4)}), {}});
  Node* n = g.add_node(OpKind::FusedElementwise, {.name = "fused", .inputs = {x}});
  n->attrs().set("program", std::vector<int64_t>{1, 2, 0, 0});  // sqrt of the u8 operand
  n->attrs().set("program_floats", std::vector<float>{0.f, 0.f, 0.f});
  g.add_output(n->output(0));
  auto build = [&] { Session s(g); };
  CHECK(test::contains(test::message_of(build), "is not f32"));
  n->attrs().set("program", std::vector<int64_t>{5, 0, 0, 0});  // dequantize
  n->attrs().set("program_floats", std::vector<float>{3.f, 0.5f, 0.f});
  n->attrs().set("output_type", std::string("u8"));
  n->attrs().set("output_scale", -1.f);
  g.reinfer(n);
  CHECK(test::contains(test::message_of(build), "'output_scale'"));
  n->attrs().set("output_scale", 0.25f);
  n->attrs().set("output_zero_point", int64_t(3));
  Session ok(g);
  const Tensor y = ok.run({{"x", Tensor::from_vector<uint8_t>({4}, {3, 4, 5, 7})}}).begin()->second;
  // (q − 3) · 0.5 / 0.25 + 3
  CHECK(std::vector<uint8_t>(y.data<uint8_t>(), y.data<uint8_t>() + 4) == std::vector<uint8_t>{3, 5, 7, 11});
}

TEST_CASE("int8: a convolution's SiLU table runs in the QConv2d, block by block, with the unfused bytes") {
  std::mt19937 rng(17);
  // conv → SiLU → conv → SiLU → conv (1×1) → Sigmoid, quantized: each activation between two
  // layers is a 256-entry table, applied by the QConv2d before it (64 × 72 pixels of 16
  // channels: several blocks of output rows, split across rows with two threads)
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(8), Dim(64), Dim(72)}), {}});
  auto silu = [&](Value* v) { return binary(g, OpKind::Mul, v, unary(g, OpKind::Sigmoid, v)); };
  Value* y = silu(conv(g, x, 8, 16, rng));
  y = silu(conv(g, y, 16, 16, rng));
  g.add_output(unary(g, OpKind::Sigmoid, conv(g, y, 16, 4, rng, 1)));
  std::vector<TensorMap> rows;
  for (int i = 0; i < 3; ++i) rows.push_back({{"x", random_tensor({1, 8, 64, 72}, rng, 2.f)}});
  TensorListSource src(rows);
  const Graph q = static_quantize(g, calibrate(g, src)).graph;
  REQUIRE(count(q, OpKind::QConv2d) == 3);
  Graph qc = q.clone();
  plan::compile(qc);
  int tables = 0;
  for (Node* n : qc.nodes()) tables += n->op() == OpKind::QConv2d && n->attrs().has("output_table");
  CHECK(tables == 2);
  check_identical(q, rows[0]);
  check_identical(q, {{"x", random_tensor({2, 8, 64, 72}, rng, 3.f)}});  // batch 2, values outside calibration
}

TEST_CASE("space-to-depth written as Slices and a Concat runs as one Transpose, NHWC before a convolution") {
  std::mt19937 rng(11);
  auto ints = [](Graph& g, std::vector<int64_t> v) {
    return g.add_constant(g.unique_name("i"), Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
  };
  // variants: 0 YOLOv5's Focus (H then W, nested Slices, W's phase major) into a conv;
  // 1 one Slice per phase on both axes (negative axes, H's phase major), read by Relu (NCHW);
  // 2 phases in an order no Transpose gives: left alone; 3 block 3 into a conv
  for (int variant = 0; variant < 4; ++variant) {
    CAPTURE(variant);
    const int64_t s = variant == 3 ? 3 : 2;
    Graph g;
    Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(3), Dim(12), Dim(s == 3 ? 9 : 10)}), {}});
    std::vector<Value*> parts;
    for (int64_t i = 0; i < s * s; ++i) {
      int64_t dh = i % s, dw = i / s;
      if (variant == 1) std::swap(dh, dw);
      if (variant == 2 && i < 2) std::swap(dh, dw);  // (0,0), (0,1), (0,1)… phases repeat: no rewrite
      if (variant == 1) {
        parts.push_back(g.add_node(OpKind::Slice, {.name = g.unique_name("s"),
                                                   .inputs = {x, ints(g, {dh, dw}), ints(g, {INT64_MAX, 1000}),
                                                              ints(g, {-2, -1}), ints(g, {s, s})}})
                            ->output(0));
        continue;
      }
      Value* rows = g.add_node(OpKind::Slice,
                               {.name = g.unique_name("s"),
                                .inputs = {x, ints(g, {dh}), ints(g, {INT64_MAX}), ints(g, {2}), ints(g, {s})}})
                        ->output(0);
      parts.push_back(g.add_node(OpKind::Slice, {.name = g.unique_name("s"),
                                                 .inputs = {rows, ints(g, {dw}), ints(g, {INT64_MAX}),
                                                            ints(g, {3}), ints(g, {s})}})
                          ->output(0));
    }
    Attributes ca;
    ca.set("axis", int64_t(1));
    Value* cat = g.add_node(OpKind::Concat, {.name = "cat", .inputs = parts, .attrs = ca})->output(0);
    g.add_output(variant == 1 ? unary(g, OpKind::Relu, cat) : conv(g, cat, 3 * s * s, 4, rng));
    Graph compiled = g.clone();
    plan::compile(compiled);
    CHECK(count(compiled, OpKind::Concat) == (variant == 2 ? 1 : 0));
    CHECK(count(compiled, OpKind::Slice) == (variant == 2 ? 8 : 0));
    if (variant == 0 || variant == 3)  // the NHWC Transpose of the input is the space-to-depth's own
      CHECK(count(compiled, OpKind::Transpose) == 2);
    check_same(g, rng, {2, 3, 12, s == 3 ? 9 : 10});
    if (variant == 0) {  // the same on int8 values (the phases of the quantized input), byte for byte
      std::vector<TensorMap> rows;
      for (int i = 0; i < 4; ++i) rows.push_back({{"x", random_tensor({2, 3, 12, 10}, rng)}});
      TensorListSource src(rows);
      const Graph q = static_quantize(g, calibrate(g, src)).graph;
      int int8_slices = 0;
      for (Node* n : q.nodes()) int8_slices += n->op() == OpKind::Slice && n->input(0)->dtype() == DType::u8;
      REQUIRE(int8_slices == 8);
      Graph qc = q.clone();
      plan::compile(qc);
      CHECK(count(qc, OpKind::Slice) == 0);
      CHECK(count(qc, OpKind::Concat) == 0);
      check_identical(q, rows[0]);
    }
  }
}

TEST_CASE("NHWC: a depth-to-space after a convolution (Reshape, Transpose, Reshape) moves the data once") {
  std::mt19937 rng(12);
  auto ints = [](Graph& g, std::vector<int64_t> v) {
    return g.add_constant(g.unique_name("i"), Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
  };
  // CRD (super_resolution's pixel shuffle: channel, then the two phases) and DCR orders; a
  // Reshape that merges dims instead of splitting them is left alone
  struct Variant {
    std::vector<int64_t> split, perm;
    int transposes;
  };
  for (const Variant& v :
       {Variant{{0, 3, 2, 2, 12, 10}, {0, 1, 4, 2, 5, 3}, 2}, Variant{{0, 2, 2, 3, 12, 10}, {0, 3, 4, 1, 5, 2}, 2},
        Variant{{0, 3, 4, 120}, {0, 1, 3, 2}, 3}}) {
    CAPTURE(v.transposes);
    Graph g;
    Value* y = conv(g, input(g), 8, 12, rng);
    Value* r =
        g.add_node(OpKind::Reshape, {.name = g.unique_name("r"), .inputs = {y, ints(g, v.split)}})->output(0);
    Attributes pa;
    pa.set("perm", v.perm);
    Value* t = g.add_node(OpKind::Transpose, {.name = g.unique_name("t"), .inputs = {r}, .attrs = pa})->output(0);
    g.add_output(g.add_node(OpKind::Reshape, {.name = g.unique_name("r"), .inputs = {t, ints(g, {0, 3, 24, 20})}})
                     ->output(0));
    Graph compiled = g.clone();
    plan::compile(compiled);
    CHECK(count(compiled, OpKind::Transpose) == v.transposes);  // NCHW → NHWC at the input, then one copy
    check_same(g, rng);
  }
}

TEST_CASE("a fused SiLU gives the unfused result whether it runs after the convolution or in oneDNN's epilogue") {
  std::mt19937 rng(13);
  // 8 × 12 × 32 outputs: SiLU after the convolution, split over the threads; 8 × 520 × 540
  // (above 2^21 floats): in oneDNN's epilogue; residual added after the SiLU, then before it
  for (int64_t h : {int64_t(12), int64_t(520)}) {
    for (bool residual_first : {false, true}) {
      CAPTURE(h);
      CAPTURE(residual_first);
      Graph g;
      Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(8), Dim(h), Dim(h + 20)}), {}});
      Value* z = unary(g, OpKind::Tanh, x);
      Value* c = conv(g, x, 8, 8, rng);
      Value* pre = residual_first ? binary(g, OpKind::Add, c, z) : c;
      Value* s = binary(g, OpKind::Mul, pre, unary(g, OpKind::Sigmoid, pre));
      g.add_output(residual_first ? s : binary(g, OpKind::Add, z, s));
      Graph compiled = g.clone();
      plan::compile(compiled);
      CHECK(count(compiled, OpKind::Add) == 0);
      CHECK(count(compiled, OpKind::Sigmoid) == 0);
      check_same(g, rng, {1, 8, h, h + 20});
    }
  }
}
