// The session's thread count changes how work is split, never the result beyond rounding.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "engine/quantize.h"
#include "engine/session.h"
#include "random_tensor.h"

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
  Node* lin = g.add_node(
      OpKind::Linear,
      {.name = "fc", .inputs = {xv, g.add_constant("w", w), g.add_constant("b", b)}, .output_names = {"y"}});
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

TEST_CASE("elementwise steps split over two threads give bit-identical results") {
  // [2,64,33,31] (131k elements, odd inner sizes so chunk edges fall mid-row): a broadcast Add
  // of a per-channel bias, Tanh, Relu, Clip, Sqrt(|x|) and a variadic Max; each splits over
  // the threads once it is large enough
  std::mt19937 rng(4);
  std::normal_distribution<float> d(0.f, 1.f);
  Tensor x(DType::f32, {2, 64, 33, 31}), bias(DType::f32, {64, 1, 1}), lo(DType::f32, {}), hi(DType::f32, {});
  for (auto* t : {&x, &bias})
    for (int64_t i = 0; i < t->numel(); ++i) t->data<float>()[i] = d(rng);
  lo.data<float>()[0] = -0.5f;
  hi.data<float>()[0] = 0.75f;
  Graph g;
  Value* xv = g.add_input("x", {DType::f32, Shape({Dim::sym("n"), Dim(64), Dim(33), Dim(31)}), {}});
  Node* add = g.add_node(OpKind::Add, {.name = "add", .inputs = {xv, g.add_constant("bias", bias)}});
  Node* tanh = g.add_node(OpKind::Tanh, {.name = "tanh", .inputs = {add->output(0)}, .output_names = {"t"}});
  Node* relu = g.add_node(OpKind::Relu, {.name = "relu", .inputs = {add->output(0)}, .output_names = {"r"}});
  Node* clip =
      g.add_node(OpKind::Clip, {.name = "clip",
                                .inputs = {add->output(0), g.add_constant("lo", lo), g.add_constant("hi", hi)},
                                .output_names = {"c"}});
  Node* abs = g.add_node(OpKind::Abs, {.name = "abs", .inputs = {add->output(0)}});
  Node* sq = g.add_node(OpKind::Sqrt, {.name = "sqrt", .inputs = {abs->output(0)}, .output_names = {"s"}});
  Node* mx = g.add_node(
      OpKind::Max,
      {.name = "max", .inputs = {tanh->output(0), clip->output(0), sq->output(0)}, .output_names = {"m"}});
  for (Node* n : {tanh, relu, clip, sq, mx}) g.add_output(n->output(0));
  Session one(g, {.threads = 1}), two(g, {.threads = 2});
  TensorMap y1 = one.run({{"x", x}}), y2 = two.run({{"x", x}});
  for (const char* name : {"t", "r", "c", "s", "m"}) {
    CAPTURE(name);
    REQUIRE(y1.at(name).numel() == x.numel());
    CHECK(y1.at(name) == y2.at(name));
  }
  // the broadcast Add itself: x + bias per channel
  const float* t = y1.at("r").data<float>();
  for (int64_t i : {int64_t(0), int64_t(70000), x.numel() - 1}) {
    const float ref = std::max(0.f, x.data<float>()[i] + bias.data<float>()[(i / (33 * 31)) % 64]);
    CHECK(t[i] == ref);
  }
}

TEST_CASE("QuantizeLinear, DequantizeLinear and Concat split over two threads give bit-identical results") {
  // [1,48,40,41] (78k elements): per-tensor u8 and s8 quantization, dequantization and a
  // Concat of both along the last axis (rows split over the threads)
  std::mt19937 rng(5);
  std::normal_distribution<float> d(0.f, 2.f);
  Tensor x(DType::f32, {1, 48, 40, 41});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = d(rng);
  Graph g;
  Value* xv = g.add_input("x", {DType::f32, Shape({Dim::sym("n"), Dim(48), Dim(40), Dim(41)}), {}});
  Value* scale = g.add_constant("scale", Tensor::scalar(0.031f));
  Value* zp_u8 = g.add_constant("zp_u8", Tensor::scalar(uint8_t(121)));
  Value* zp_s8 = g.add_constant("zp_s8", Tensor::scalar(int8_t(-3)));
  Node* qu =
      g.add_node(OpKind::QuantizeLinear, {.name = "qu", .inputs = {xv, scale, zp_u8}, .output_names = {"qu"}});
  Node* qs =
      g.add_node(OpKind::QuantizeLinear, {.name = "qs", .inputs = {xv, scale, zp_s8}, .output_names = {"qs"}});
  Node* du = g.add_node(OpKind::DequantizeLinear, {.name = "du", .inputs = {qu->output(0), scale, zp_u8}});
  Node* ds = g.add_node(OpKind::DequantizeLinear, {.name = "ds", .inputs = {qs->output(0), scale, zp_s8}});
  Attributes axis;
  axis.set("axis", int64_t(3));  // 1920 rows of 3 blocks
  Node* cat = g.add_node(
      OpKind::Concat,
      {.name = "cat", .inputs = {du->output(0), xv, ds->output(0)}, .attrs = axis, .output_names = {"cat"}});
  for (Node* n : {qu, qs, cat}) g.add_output(n->output(0));
  Session one(g, {.threads = 1}), two(g, {.threads = 2});
  TensorMap a = one.run({{"x", x}}), b = two.run({{"x", x}});
  for (const char* name : {"qu", "qs", "cat"}) {
    CAPTURE(name);
    const Tensor& ta = a.at(name);
    const Tensor& tb = b.at(name);
    REQUIRE(ta.dims() == tb.dims());
    CHECK(std::memcmp(ta.raw(), tb.raw(), size_t(ta.numel()) * dtype_size(ta.dtype())) == 0);
  }
  // the Concat's middle block of every row is x's row
  const Tensor& c = a.at("cat");
  REQUIRE(c.dims() == std::vector<int64_t>{1, 48, 40, 123});
  size_t wrong = 0;
  for (int64_t row = 0; row < 48 * 40; ++row)
    wrong += std::memcmp(c.data<float>() + row * 123 + 41, x.data<float>() + row * 41, 41 * 4) != 0;
  CHECK(wrong == 0);
}

TEST_CASE("an int8 bidirectional LSTM runs its directions on two threads with one thread's bits") {
  std::mt19937 rng(9);
  std::normal_distribution<float> d(0.f, 0.4f);
  const int64_t T = 7, B = 2, I = 5, H = 16, D = 2;
  auto tensor = [&](std::vector<int64_t> dims) {
    Tensor t(DType::f32, std::move(dims));
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
    return t;
  };
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim(T), Dim(B), Dim(I)}), {}});
  Attributes a;
  a.set("hidden_size", H);
  a.set("direction", std::string("bidirectional"));
  Node* l = g.add_node(OpKind::LSTM, {.name = "lstm",
                                      .inputs = {x, g.add_constant("W", tensor({D, 4 * H, I})),
                                                 g.add_constant("R", tensor({D, 4 * H, H})),
                                                 g.add_constant("B", tensor({D, 8 * H}))},
                                      .attrs = a,
                                      .num_outputs = 3,
                                      .output_names = {"y", "y_h", "y_c"}});
  for (Value* o : l->outputs()) g.add_output(o);
  const QuantizeResult q = dynamic_quantize(g);
  REQUIRE(q.graph.find_node("lstm")->op() == OpKind::DynamicQLSTM);
  const Tensor in = tensor({T, B, I});
  Session one(q.graph, {.threads = 1}), two(q.graph, {.threads = 2});
  const TensorMap a1 = one.run({{"x", in}}), a2 = two.run({{"x", in}});
  for (const char* name : {"y", "y_h", "y_c"}) {
    CAPTURE(name);
    REQUIRE(a1.at(name).dims() == a2.at(name).dims());
    CHECK(std::memcmp(a1.at(name).raw(), a2.at(name).raw(), size_t(a1.at(name).numel()) * 4) == 0);
  }
  // and the directions differ (the reverse one really ran backwards on its own weights)
  const float* y = a1.at("y").data<float>();
  CHECK(std::memcmp(y, y + B * H, size_t(B * H) * 4) != 0);
}

TEST_CASE("Equal, Cast, GlobalMaxPool and views of reused buffers give one thread's bits on two, run after run") {
  // an i32 byte stream compared with 257 values (an embedding's one-hot, as Magika builds it),
  // cast to f32; a GlobalMaxPool over 64 channels of 2048; a Reshape (a view: the buffer
  // allocated for it goes back to the pool) between two Relus. Each run gets other inputs,
  // so a buffer handed out while still in use would show as a wrong value.
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> byte(0, 256);
  std::normal_distribution<float> d(0.f, 1.f);
  Tensor codes(DType::i32, {1, 1, 257});
  for (int32_t i = 0; i < 257; ++i) codes.data<int32_t>()[i] = i;
  Attributes to;
  to.set("to", int64_t(DType::f32));
  Graph g;
  Value* bv = g.add_input("b", {DType::i32, Shape({Dim(1), Dim(2048), Dim(1)}), {}});
  Value* xv = g.add_input("x", {DType::f32, Shape({Dim(1), Dim(64), Dim(2048)}), {}});
  Node* eq = g.add_node(OpKind::Equal, {.name = "eq", .inputs = {bv, g.add_constant("codes", codes)}});
  Node* cast =
      g.add_node(OpKind::Cast, {.name = "cast", .inputs = {eq->output(0)}, .attrs = to, .output_names = {"c"}});
  Node* gmp = g.add_node(OpKind::GlobalMaxPool, {.name = "gmp", .inputs = {xv}, .output_names = {"g"}});
  Node* r1 = g.add_node(OpKind::Relu, {.name = "r1", .inputs = {xv}});
  Node* rs = g.add_node(
      OpKind::Reshape,
      {.name = "rs",
       .inputs = {r1->output(0), g.add_constant("shape", Tensor::from_vector<int64_t>({2}, {128, 1024}))}});
  Node* r2 = g.add_node(OpKind::Neg, {.name = "neg", .inputs = {rs->output(0)}, .output_names = {"n"}});
  for (Node* n : {cast, gmp, r2}) g.add_output(n->output(0));
  Session one(g, {.threads = 1}), two(g, {.threads = 2});
  for (int run = 0; run < 4; ++run) {
    CAPTURE(run);
    Tensor b(DType::i32, {1, 2048, 1}), x(DType::f32, {1, 64, 2048});
    for (int64_t i = 0; i < b.numel(); ++i) b.data<int32_t>()[i] = byte(rng);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = d(rng);
    TensorMap y1 = one.run({{"b", b}, {"x", x}}), y2 = two.run({{"b", b}, {"x", x}});
    for (const char* name : {"c", "g", "n"}) {
      CAPTURE(name);
      CHECK(y1.at(name) == y2.at(name));
    }
    const float* c = y1.at("c").data<float>();
    const float* n = y1.at("n").data<float>();
    bool ok = true;
    for (int64_t i = 0; i < 2048; ++i)
      for (int64_t v = 0; v < 257; ++v) ok = ok && c[i * 257 + v] == (b.data<int32_t>()[i] == v ? 1.f : 0.f);
    for (int64_t i = 0; i < x.numel(); ++i) ok = ok && n[i] == -std::max(0.f, x.data<float>()[i]);
    for (int64_t ch = 0; ch < 64; ++ch) {
      float m = x.data<float>()[ch * 2048];
      for (int64_t i = 1; i < 2048; ++i) m = std::max(m, x.data<float>()[ch * 2048 + i]);
      ok = ok && y1.at("g").data<float>()[ch] == m;
    }
    CHECK(ok);
  }
}

TEST_CASE("a Linear of many rows runs in row blocks over two threads: one thread's result, with its epilogue") {
  // 1000 rows: blocks of rows on the pool, each one oneDNN call; the fused residual Add and
  // Relu apply within every block
  std::mt19937 rng(6);
  std::normal_distribution<float> d(0.f, 1.f);
  const int64_t m = 1000, k = 200, n = 130;
  Tensor w(DType::f32, {n, k}), b(DType::f32, {n}), x(DType::f32, {m, k}), r(DType::f32, {m, n});
  for (auto* t : {&w, &b, &x, &r})
    for (int64_t i = 0; i < t->numel(); ++i) t->data<float>()[i] = d(rng);
  Graph g;
  Value* xv = g.add_input("x", {DType::f32, Shape({Dim::sym("m"), Dim(k)}), {}});
  Value* rv = g.add_input("r", {DType::f32, Shape({Dim::sym("m"), Dim(n)}), {}});
  Node* lin =
      g.add_node(OpKind::Linear, {.name = "fc", .inputs = {xv, g.add_constant("w", w), g.add_constant("b", b)}});
  Node* add = g.add_node(OpKind::Add, {.name = "add", .inputs = {lin->output(0), rv}});
  Node* relu = g.add_node(OpKind::Relu, {.name = "relu", .inputs = {add->output(0)}, .output_names = {"y"}});
  g.add_output(relu->output(0));
  Session one(g, {.threads = 1}), two(g, {.threads = 2});
  for (int run = 0; run < 2; ++run) {
    Tensor y1 = one.run({{"x", x}, {"r", r}}).at("y"), y2 = two.run({{"x", x}, {"r", r}}).at("y");
    REQUIRE(y2.dims() == std::vector<int64_t>{m, n});
    double worst = 0, apart = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double ref = double(b.data<float>()[j]) + r.data<float>()[i * n + j];
        for (int64_t q = 0; q < k; ++q) ref += double(x.data<float>()[i * k + q]) * w.data<float>()[j * k + q];
        ref = std::max(0.0, ref);
        worst = std::max(worst, std::fabs(ref - y2.data<float>()[i * n + j]));
        apart = std::max(apart, double(std::fabs(y1.data<float>()[i * n + j] - y2.data<float>()[i * n + j])));
      }
    CHECK(worst < 1e-3);
    CHECK(apart <= 1e-4);
  }
}

TEST_CASE("steps after a two-thread oneDNN convolution run on its OpenMP team and match one thread") {
  // the convolution (75 MFLOP: oneDNN on two threads) leaves its libgomp workers spinning, so
  // the SiLU after it and the elementwise steps that follow run their chunks on that team:
  // one thread's values, run after run
  std::mt19937 rng(9);
  const int64_t C = 32, M = 32, H = 64, W = 64;
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim(1), Dim(C), Dim(H), Dim(W)}), {}});
  Attributes a;
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value* conv =
      g.add_node(OpKind::Conv2d, {.name = "conv",
                                  .inputs = {x, g.add_constant("w", test::random_tensor({M, C, 3, 3}, rng, 0.2f)),
                                             g.add_constant("b", test::random_tensor({M}, rng, 0.1f))},
                                  .attrs = a})
          ->output(0);
  Value* s = g.add_node(OpKind::Sigmoid, {.inputs = {conv}})->output(0);
  Value* silu = g.add_node(OpKind::Mul, {.inputs = {conv, s}})->output(0);
  Value* t = g.add_node(OpKind::Tanh, {.inputs = {silu}})->output(0);
  Value* y = g.add_node(OpKind::Mul, {.inputs = {t, g.add_constant("k", test::random_tensor({M, 1, 1}, rng, 1.f))},
                                      .output_names = {"y"}})
                 ->output(0);
  g.add_output(y);
  Session one(g, {.threads = 1}), two(g, {.threads = 2});
  TensorMap in{{"x", test::random_tensor({1, C, H, W}, rng, 1.f)}};
  const Tensor y1 = one.run(in).at("y");
  const Tensor first = two.run(in).at("y");
  REQUIRE(y1.dims() == first.dims());
  float worst = 0;
  for (int64_t i = 0; i < y1.numel(); ++i)
    worst = std::max(worst, std::fabs(y1.data<float>()[i] - first.data<float>()[i]));
  CHECK(worst <= 1e-5f);
  for (int run = 0; run < 20; ++run) CHECK(two.run(in).at("y") == first);
}
