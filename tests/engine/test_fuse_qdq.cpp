// QDQ models (DequantizeLinear → Conv → [Relu] → QuantizeLinear) run as QConv2d with the
// file's scales and zero points, and give what the QDQ graph run op by op gives.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "engine/api.h"
#include "engine/passes/passes.h"
#include "engine/quantize.h"
#include "engine/session.h"
#include "csp_block.h"
#include "random_tensor.h"
#include "serialization/test_helpers.h"

using namespace mq;

namespace {

struct QdqConv {
  DType act = DType::u8;  ///< activation type (u8 or s8 zero points)
  bool per_channel = true;
  bool relu = true;
  bool int32_bias = true;
  int64_t weight_zero_point = 0;
};

Value* scalar(Graph& g, const std::string& name, float v) {
  return g.add_constant(name, Tensor::scalar<float>(v));
}
Value* zero_point(Graph& g, const std::string& name, DType t, int32_t v) {
  return t == DType::i8 ? g.add_constant(name, Tensor::scalar<int8_t>(int8_t(v)))
                        : g.add_constant(name, Tensor::scalar<uint8_t>(uint8_t(v)));
}

/// x f32 [N,4,6,6] → Q → DQ → Conv(DQ(w s8), bias) → [Relu] → Q → DQ → y.
Graph qdq_conv(const QdqConv& o) {
  std::mt19937 rng(11);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(4), Dim(6), Dim(6)}), {}});
  const int32_t xz = o.act == DType::u8 ? 128 : 0;
  Value* xs = scalar(g, "xs", 0.02f);
  Value* q = g.add_node(OpKind::QuantizeLinear, {.name = "qx", .inputs = {x, xs, zero_point(g, "xz", o.act, xz)}})
                 ->output(0);
  Value* dq =
      g.add_node(OpKind::DequantizeLinear, {.name = "dqx", .inputs = {q, xs, zero_point(g, "xz2", o.act, xz)}})
          ->output(0);
  Tensor w(DType::i8, {3, 4, 3, 3});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = int8_t(int(rng() % 255) - 127);
  Tensor ws =
      o.per_channel ? Tensor::from_vector<float>({3}, {0.004f, 0.007f, 0.003f}) : Tensor::scalar<float>(0.005f);
  Tensor wz = o.per_channel ? Tensor::from_vector<int8_t>({3}, {0, int8_t(o.weight_zero_point), 0})
                            : Tensor::scalar<int8_t>(int8_t(o.weight_zero_point));
  Attributes axis0;
  axis0.set("axis", int64_t(0));
  Value* wv = g.add_node(OpKind::DequantizeLinear,
                         {.name = "dqw",
                          .inputs = {g.add_constant("w", w), g.add_constant("ws", ws), g.add_constant("wz", wz)},
                          .attrs = axis0})
                  ->output(0);
  Value* b = nullptr;
  if (o.int32_bias) {
    std::vector<float> bs;
    for (float s : ws.to_float()) bs.push_back(0.02f * s);
    if (!o.per_channel) bs.assign(3, 0.02f * 0.005f);
    b = g.add_node(OpKind::DequantizeLinear,
                   {.name = "dqb",
                    .inputs = {g.add_constant("b", Tensor::from_vector<int32_t>({3}, {40, -300, 7})),
                               g.add_constant("bs", Tensor::from_vector<float>({3}, bs))},
                    .attrs = axis0})
            ->output(0);
  } else {
    b = g.add_constant("b", Tensor::from_vector<float>({3}, {0.05f, -0.1f, 0.02f}));
  }
  Attributes pads;
  pads.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value* y = g.add_node(OpKind::Conv2d, {.name = "conv", .inputs = {dq, wv, b}, .attrs = pads})->output(0);
  if (o.relu) y = g.add_node(OpKind::Relu, {.name = "relu", .inputs = {y}})->output(0);
  const int32_t yz = o.act == DType::u8 ? (o.relu ? 0 : 120) : (o.relu ? -128 : 0);
  Value* ys = scalar(g, "ys", 0.03f);
  Value* yq = g.add_node(OpKind::QuantizeLinear, {.name = "qy", .inputs = {y, ys, zero_point(g, "yz", o.act, yz)}})
                  ->output(0);
  Value* out =
      g.add_node(OpKind::DequantizeLinear,
                 {.name = "dqy", .inputs = {yq, ys, zero_point(g, "yz2", o.act, yz)}, .output_names = {"y"}})
          ->output(0);
  g.add_output(out);
  return g;
}

int count(const Graph& g, OpKind op) {
  int n = 0;
  for (Node* node : g.nodes()) n += node->op() == op;
  return n;
}

}  // namespace

TEST_CASE("a QDQ convolution runs as QConv2d with the file's parameters and the QDQ graph's results") {
  for (DType act : {DType::u8, DType::i8})
    for (bool per_channel : {true, false})
      for (bool relu : {true, false})
        for (bool int32_bias : {true, false}) {
          CAPTURE(dtype_name(act));
          CAPTURE(per_channel);
          CAPTURE(relu);
          CAPTURE(int32_bias);
          Graph g = qdq_conv({act, per_channel, relu, int32_bias});
          Graph f = g.clone();
          CHECK(passes::fuse_qdq(f) == 1);
          REQUIRE(count(f, OpKind::QConv2d) == 1);
          CHECK(count(f, OpKind::Conv2d) == 0);
          std::mt19937 rng(3);
          TensorMap in{{"x", test::random_tensor({2, 4, 6, 6}, rng, 1.5f)}};
          const Tensor want = Session(g, {.optimize = false}).run(in).at("y");
          const Tensor got = Session(f, {.optimize = false}).run(in).at("y");
          REQUIRE(got.dims() == want.dims());
          // the same integer result up to one output step where float rounding of the
          // QDQ graph's conv lands on the other side of a rounding boundary
          int64_t off = 0;
          for (int64_t i = 0; i < want.numel(); ++i) {
            const float d = std::fabs(got.data<float>()[i] - want.data<float>()[i]);
            CHECK(d <= 0.03f * 1.001f);
            off += d > 0.f;
          }
          CHECK(off <= want.numel() / 50);
        }
}

TEST_CASE("QDQ convolutions the int8 kernels cannot run exactly stay as they are") {
  Graph g = qdq_conv({DType::u8, true, true, true, /*weight_zero_point=*/3});  // asymmetric weights
  CHECK(passes::fuse_qdq(g) == 0);
  CHECK(count(g, OpKind::Conv2d) == 1);
}

TEST_CASE("load_model fuses the QDQ convolutions of an ONNX file") {
  Graph g = qdq_conv({});
  optimize_graph(g);
  CHECK(count(g, OpKind::QConv2d) == 1);
}

TEST_CASE(
    "monoquant's own QDQ export (u8 weights, zero point 128) comes back as int8 layers with the same outputs") {
  for (bool averages : {false, true}) {  // csp_block, or AveragePool / Resize linear / GlobalAveragePool
    CAPTURE(averages);
    Graph f = averages ? test::average_block() : test::csp_block();
    const int convs = averages ? 3 : 4;
    std::mt19937 rng(5);
    std::vector<TensorMap> data;
    for (int i = 0; i < 4; ++i) data.push_back({{"x", test::random_tensor({2, 3, 8, 8}, rng, 1.f)}});
    TensorListSource src(data);
    QuantizeResult q = static_quantize(f, calibrate(f, src));
    REQUIRE(count(q.graph, OpKind::QConv2d) == convs);
    test::TempDir dir;
    save_model(q.graph, dir / "csp.onnx");
    Graph back = load_model(dir / "csp.onnx");
    CHECK(count(back, OpKind::QConv2d) == convs);
    CHECK(count(back, OpKind::Conv2d) == 0);
    for (Node* n : back.nodes())  // the averages run on int8 values again
      if (n->op() == OpKind::AveragePool || n->op() == OpKind::GlobalAveragePool || n->op() == OpKind::Resize)
        CHECK(n->input(0)->dtype() == DType::u8);
    const Tensor want = Session(q.graph).run(data[0]).at("y");
    const Tensor got = Session(back).run(data[0]).at("y");
    REQUIRE(got.dims() == want.dims());
    CHECK(std::memcmp(got.raw(), want.raw(), want.nbytes()) == 0);
  }
}

TEST_CASE("a QDQ MatMul with a bias Add and a QDQ Gemm run as QLinear") {
  for (bool gemm : {false, true}) {
    CAPTURE(gemm);
    std::mt19937 rng(13);
    Graph g;
    Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(6)}), {}});
    Value* xs = scalar(g, "xs", 0.02f);
    Value* q =
        g.add_node(OpKind::QuantizeLinear, {.inputs = {x, xs, zero_point(g, "xz", DType::u8, 128)}})->output(0);
    Value* dq =
        g.add_node(OpKind::DequantizeLinear, {.inputs = {q, xs, zero_point(g, "xz2", DType::u8, 128)}})->output(0);
    // MatMul: W [K=6, N=4], channels on axis 1; Gemm (transB): W [N=4, K=6], channels on axis 0
    Tensor w(DType::i8, gemm ? std::vector<int64_t>{4, 6} : std::vector<int64_t>{6, 4});
    for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = int8_t(int(rng() % 255) - 127);
    Attributes axis;
    axis.set("axis", int64_t(gemm ? 0 : 1));
    Value* wv =
        g.add_node(
             OpKind::DequantizeLinear,
             {.inputs = {g.add_constant("w", w),
                         g.add_constant("ws", Tensor::from_vector<float>({4}, {0.004f, 0.006f, 0.002f, 0.005f})),
                         g.add_constant("wz", Tensor::from_vector<int8_t>({4}, {0, 0, 0, 0}))},
              .attrs = axis})
            ->output(0);
    Value* bias = g.add_constant("b", Tensor::from_vector<float>({4}, {0.1f, -0.2f, 0.05f, 0.f}));
    Value* y = nullptr;
    if (gemm) {
      Attributes t;
      t.set("transB", int64_t(1));
      y = g.add_node(OpKind::Gemm, {.inputs = {dq, wv, bias}, .attrs = t})->output(0);
    } else {
      y = g.add_node(OpKind::MatMul, {.inputs = {dq, wv}})->output(0);
      y = g.add_node(OpKind::Add, {.inputs = {y, bias}})->output(0);
    }
    Value* ys = scalar(g, "ys", 0.01f);
    Value* yq =
        g.add_node(OpKind::QuantizeLinear, {.inputs = {y, ys, zero_point(g, "yz", DType::u8, 100)}})->output(0);
    g.add_output(g.add_node(OpKind::DequantizeLinear,
                            {.inputs = {yq, ys, zero_point(g, "yz2", DType::u8, 100)}, .output_names = {"y"}})
                     ->output(0));
    Graph f = g.clone();
    CHECK(passes::fuse_qdq(f) == 1);
    CHECK(count(f, OpKind::QLinear) == 1);
    TensorMap in{{"x", test::random_tensor({5, 6}, rng, 2.f)}};
    const Tensor want = Session(g, {.optimize = false}).run(in).at("y");
    const Tensor got = Session(f, {.optimize = false}).run(in).at("y");
    for (int64_t i = 0; i < want.numel(); ++i)
      CHECK(std::fabs(got.data<float>()[i] - want.data<float>()[i]) <= 0.01f * 1.001f);
  }
}

TEST_CASE("a QDQ MatMul whose weight is reshaped or transposed after its DequantizeLinear runs as QLinear") {
  for (int variant = 0; variant < 2; ++variant) {  // Reshape [3,2,4] → [6,4]; Transpose [4,6] → [6,4]
    CAPTURE(variant);
    std::mt19937 rng(17);
    Graph g;
    Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(6)}), {}});
    Value* xs = scalar(g, "xs", 0.02f);
    Value* q =
        g.add_node(OpKind::QuantizeLinear, {.inputs = {x, xs, zero_point(g, "xz", DType::u8, 128)}})->output(0);
    Value* dq =
        g.add_node(OpKind::DequantizeLinear, {.inputs = {q, xs, zero_point(g, "xz2", DType::u8, 128)}})->output(0);
    Tensor w(DType::i8, variant == 0 ? std::vector<int64_t>{3, 2, 4} : std::vector<int64_t>{4, 6});
    for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = int8_t(int(rng() % 255) - 127);
    Attributes axis;  // the 4 output channels: the last axis of [3,2,4], the first of [4,6]
    axis.set("axis", int64_t(variant == 0 ? 2 : 0));
    Value* wv =
        g.add_node(
             OpKind::DequantizeLinear,
             {.inputs = {g.add_constant("w", w),
                         g.add_constant("ws", Tensor::from_vector<float>({4}, {0.004f, 0.006f, 0.002f, 0.005f})),
                         g.add_constant("wz", Tensor::from_vector<int8_t>({4}, {0, 0, 0, 0}))},
              .attrs = axis})
            ->output(0);
    if (variant == 0) {
      wv = g.add_node(OpKind::Reshape,
                      {.inputs = {wv, g.add_constant("shape", Tensor::from_vector<int64_t>({2}, {6, 4}))}})
               ->output(0);
    } else {
      Attributes perm;
      perm.set("perm", std::vector<int64_t>{1, 0});
      wv = g.add_node(OpKind::Transpose, {.inputs = {wv}, .attrs = perm})->output(0);
    }
    Value* y = g.add_node(OpKind::MatMul, {.inputs = {dq, wv}})->output(0);
    Value* ys = scalar(g, "ys", 0.01f);
    Value* yq =
        g.add_node(OpKind::QuantizeLinear, {.inputs = {y, ys, zero_point(g, "yz", DType::u8, 100)}})->output(0);
    g.add_output(g.add_node(OpKind::DequantizeLinear,
                            {.inputs = {yq, ys, zero_point(g, "yz2", DType::u8, 100)}, .output_names = {"y"}})
                     ->output(0));
    Graph f = g.clone();
    CHECK(passes::fuse_qdq(f) == 2);  // the weight's shape op, then the layer
    CHECK(count(f, OpKind::QLinear) == 1);
    CHECK(count(f, OpKind::Reshape) + count(f, OpKind::Transpose) == 0);
    TensorMap in{{"x", test::random_tensor({5, 6}, rng, 2.f)}};
    const Tensor want = Session(g, {.optimize = false}).run(in).at("y");
    const Tensor got = Session(f, {.optimize = false}).run(in).at("y");
    for (int64_t i = 0; i < want.numel(); ++i)
      CHECK(std::fabs(got.data<float>()[i] - want.data<float>()[i]) <= 0.01f * 1.001f);
  }
}

TEST_CASE("a QDQ MatMul of two activations runs as QLinearMatMul; without a QuantizeLinear after it it stays") {
  for (bool quantized_out : {true, false}) {
    CAPTURE(quantized_out);
    // a [N,2,3,5] (u8) · b [2,5,4] (s8, broadcast) → Q(u8) → DQ → y
    Graph g;
    Value* a = g.add_input("a", {DType::f32, Shape({Dim::sym("N"), Dim(2), Dim(3), Dim(5)}), {}});
    Value* b = g.add_input("b", {DType::f32, Shape{2, 5, 4}, {}});
    auto qdq = [&](Value* v, const std::string& n, float s, DType t, int32_t z) {
      Value* sv = scalar(g, n + "s", s);
      Value* q = g.add_node(OpKind::QuantizeLinear, {.inputs = {v, sv, zero_point(g, n + "z", t, z)}})->output(0);
      return g.add_node(OpKind::DequantizeLinear, {.inputs = {q, sv, zero_point(g, n + "z2", t, z)}})->output(0);
    };
    Value* y = g.add_node(OpKind::MatMul,
                          {.name = "mm",
                           .inputs = {qdq(a, "a", 0.02f, DType::u8, 120), qdq(b, "b", 0.03f, DType::i8, 0)}})
                   ->output(0);
    if (quantized_out) y = qdq(y, "y", 0.05f, DType::u8, 110);
    g.add_output(y);
    Graph f = g.clone();
    CHECK(passes::fuse_qdq(f) == int(quantized_out));
    CHECK(count(f, OpKind::QLinearMatMul) == int(quantized_out));
    CHECK(count(f, OpKind::MatMul) == int(!quantized_out));
    if (quantized_out) CHECK(f.find_node("mm")->op() == OpKind::QLinearMatMul);
    std::mt19937 rng(17);
    TensorMap in{{"a", test::random_tensor({3, 2, 3, 5}, rng, 1.f)},
                 {"b", test::random_tensor({2, 5, 4}, rng, 1.f)}};
    const Tensor want = Session(g, {.optimize = false}).run(in).at(y->name());
    const Tensor got = Session(f, {.optimize = false}).run(in).at(y->name());
    REQUIRE(got.dims() == want.dims());
    // the integer product requantized once gives the QDQ graph's values (one step at most apart
    // where the float sum lands on a rounding boundary)
    for (int64_t i = 0; i < want.numel(); ++i)
      CHECK(std::fabs(got.data<float>()[i] - want.data<float>()[i]) <= 0.05f * 1.001f);
  }
}

TEST_CASE(
    "a QDQ SiLU (Sigmoid's result quantized and read back) is one int8 pass in the compiled plan, bit for bit") {
  Graph g;
  Value* x = g.add_input("x", {DType::u8, Shape({Dim(2), Dim(3), Dim(5), Dim(7)}), {}});
  auto dq = [&](Value* v, float s, int z) {
    return g
        .add_node(OpKind::DequantizeLinear, {.inputs = {v, scalar(g, g.unique_name("s"), s),
                                                        zero_point(g, g.unique_name("z"), DType::u8, z)}})
        ->output(0);
  };
  auto qz = [&](Value* v, float s, int z) {
    return g
        .add_node(OpKind::QuantizeLinear, {.inputs = {v, scalar(g, g.unique_name("s"), s),
                                                      zero_point(g, g.unique_name("z"), DType::u8, z)}})
        ->output(0);
  };
  Value* sig = g.add_node(OpKind::Sigmoid, {.inputs = {dq(x, 0.05f, 100)}})->output(0);
  Value* mul =
      g.add_node(OpKind::Mul, {.inputs = {dq(x, 0.05f, 100), dq(qz(sig, 1.f / 255, 0), 1.f / 255, 0)}})->output(0);
  Value* y = qz(mul, 0.04f, 10);
  g.rename_value(y, "y");
  g.add_output(y);
  Tensor in(DType::u8, {2, 3, 5, 7});
  for (int64_t i = 0; i < in.numel(); ++i) in.data<uint8_t>()[i] = uint8_t(i * 37);
  const Tensor want = Session(g, {.optimize = false}).run({{"x", in}}).at("y");
  Session fast(g);
  CHECK(count(fast.graph(), OpKind::FusedElementwise) == 1);
  CHECK(count(fast.graph(), OpKind::QuantizeLinear) == 0);
  CHECK(count(fast.graph(), OpKind::Sigmoid) == 0);
  const Tensor got = fast.run({{"x", in}}).at("y");
  CHECK(std::memcmp(got.raw(), want.raw(), want.nbytes()) == 0);
}

TEST_CASE(
    "ops that only move values between DequantizeLinear and QuantizeLinear run on the int8 values, exactly") {
  Graph g;
  Value* a = g.add_input("a", {DType::u8, Shape({Dim(1), Dim(2), Dim(4), Dim(4)}), {}});
  Value* b = g.add_input("b", {DType::u8, Shape({Dim(1), Dim(3), Dim(4), Dim(4)}), {}});
  auto dq = [&](Value* v, float s, int z) {
    return g
        .add_node(OpKind::DequantizeLinear, {.inputs = {v, scalar(g, g.unique_name("s"), s),
                                                        zero_point(g, g.unique_name("z"), DType::u8, z)}})
        ->output(0);
  };
  auto qz = [&](Value* v, float s, int z) {
    return g
        .add_node(OpKind::QuantizeLinear, {.inputs = {v, scalar(g, g.unique_name("s"), s),
                                                      zero_point(g, g.unique_name("z"), DType::u8, z)}})
        ->output(0);
  };
  Attributes axis1;
  axis1.set("axis", int64_t(1));
  // operands at two scales: b is requantized to the output's
  Value* c = qz(
      g.add_node(OpKind::Concat, {.name = "concat", .inputs = {dq(a, 0.1f, 10), dq(b, 0.07f, 3)}, .attrs = axis1})
          ->output(0),
      0.1f, 10);
  Attributes pool;
  pool.set("kernel_shape", std::vector<int64_t>{2, 2});
  pool.set("strides", std::vector<int64_t>{2, 2});
  Value* p =
      qz(g.add_node(OpKind::MaxPool, {.name = "pool", .inputs = {dq(c, 0.1f, 10)}, .attrs = pool})->output(0),
         0.1f, 10);
  Value* y = dq(p, 0.1f, 10);
  g.rename_value(y, "y");
  g.add_output(y);
  Graph f = g.clone();
  CHECK(passes::fuse_qdq(f) == 2);
  for (Node* n : f.nodes())
    if (n->op() == OpKind::Concat || n->op() == OpKind::MaxPool) CHECK(n->output(0)->dtype() == DType::u8);
  Tensor ta(DType::u8, {1, 2, 4, 4}), tb(DType::u8, {1, 3, 4, 4});
  for (int64_t i = 0; i < ta.numel(); ++i) ta.data<uint8_t>()[i] = uint8_t(i * 29);
  for (int64_t i = 0; i < tb.numel(); ++i) tb.data<uint8_t>()[i] = uint8_t(i * 53);
  TensorMap in{{"a", ta}, {"b", tb}};
  const Tensor want = Session(g, {.optimize = false}).run(in).at("y");
  for (bool optimize : {false, true}) {
    const Tensor got = Session(f, {.optimize = optimize}).run(in).at("y");
    CHECK(std::memcmp(got.raw(), want.raw(), want.nbytes()) == 0);
  }
}
