// QDQ ONNX export of monoquant's quantized layers: models quantized by monoquant, saved as
// .onnx and run by onnxruntime (tests/interop/check_onnx_qdq.py) must match monoquant's own
// int8 outputs.
//
// Each case writes <case>.onnx, expect/<case>.in.<input>.npy and expect/<case>.out.<output>.npy
// (monoquant's outputs) and an entry in cases.json saying how close ORT must be:
//   "atol": static int8 outputs: 2 × the final layer's output scale (two quantization steps);
//   "rtol": dynamic int8 Linear (same u8 input, same weights; float vs int32 accumulation);
//   "sqnr_db": the LSTMs (ONNX has no int8 LSTM: the recurrence runs in float);
//   "top1": fraction of rows whose argmax agrees.
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <random>

#include "engine/api.h"
#include "engine/quantize.h"
#include "attention_block.h"
#include "csp_block.h"
#include "head_blocks.h"
#include "interop_util.h"
#include "serialization/npy.h"
#include "serialization/serialization.h"

using namespace mq;

namespace {

Tensor random_tensor(std::vector<int64_t> dims, std::mt19937& rng, float lo, float hi) {
  Tensor t(DType::f32, dims);
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

Value* weight(Graph& g, const std::string& name, std::vector<int64_t> dims, std::mt19937& rng, float amp) {
  return g.add_constant(name, random_tensor(std::move(dims), rng, -amp, amp));
}

// x[8,1,8,8] → Conv2d(4, 3×3, pad 1) → Relu → MaxPool(2×2) → Flatten → Linear(16) → Relu → Linear(10)
Graph make_cnn(std::mt19937& rng) {
  Graph g;
  g.name = "cnn";
  Value* x = g.add_input("x", {DType::f32, Shape{8, 1, 8, 8}, std::nullopt});
  Attributes ca;
  ca.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  ca.set("strides", std::vector<int64_t>{1, 1});
  Node* conv = g.add_node(
      OpKind::Conv2d,
      {"conv", {x, weight(g, "conv.w", {4, 1, 3, 3}, rng, 0.5f), weight(g, "conv.b", {4}, rng, 0.1f)}, ca});
  Node* r1 = g.add_node(OpKind::Relu, {"relu1", {conv->output(0)}});
  Attributes pa;
  pa.set("kernel_shape", std::vector<int64_t>{2, 2});
  pa.set("strides", std::vector<int64_t>{2, 2});
  Node* pool = g.add_node(OpKind::MaxPool, {"pool", {r1->output(0)}, pa});
  Attributes fa;
  fa.set("axis", int64_t(1));
  Node* flat = g.add_node(OpKind::Flatten, {"flat", {pool->output(0)}, fa});
  Node* fc1 = g.add_node(
      OpKind::Linear,
      {"fc1", {flat->output(0), weight(g, "fc1.w", {16, 64}, rng, 0.2f), weight(g, "fc1.b", {16}, rng, 0.1f)}});
  Node* r2 = g.add_node(OpKind::Relu, {"relu2", {fc1->output(0)}});
  Node* fc2 =
      g.add_node(OpKind::Linear,
                 {"fc2",
                  {r2->output(0), weight(g, "fc2.w", {10, 16}, rng, 0.4f), weight(g, "fc2.b", {10}, rng, 0.1f)},
                  {},
                  1,
                  {"y"}});
  g.add_output(fc2->output(0));
  return g;
}

// x[2,5,12] (rank 3: MatMul + Add) → Linear(8) → Clip(0, 1.5) → Linear(4)
Graph make_linear(std::mt19937& rng) {
  Graph g;
  g.name = "linear";
  Value* x = g.add_input("x", {DType::f32, Shape{2, 5, 12}, std::nullopt});
  Node* fc1 = g.add_node(OpKind::Linear,
                         {"fc1", {x, weight(g, "fc1.w", {8, 12}, rng, 0.4f), weight(g, "fc1.b", {8}, rng, 0.2f)}});
  Value* lo = g.add_constant("clip.min", Tensor::scalar<float>(0.f));
  Value* hi = g.add_constant("clip.max", Tensor::scalar<float>(1.5f));
  Node* clip = g.add_node(OpKind::Clip, {"clip", {fc1->output(0), lo, hi}});
  Node* fc2 = g.add_node(OpKind::Linear,
                         {"fc2", {clip->output(0), weight(g, "fc2.w", {4, 8}, rng, 0.5f), nullptr}, {}, 1, {"y"}});
  g.add_output(fc2->output(0));
  return g;
}

// x[6,2,5] → LSTM(hidden 8, forward) → Y [6,1,2,8], Y_h [1,2,8]
Graph make_lstm(std::mt19937& rng, const std::string& direction) {
  Graph g;
  g.name = "lstm";
  const int64_t D = direction == "bidirectional" ? 2 : 1, H = 8;
  Value* x = g.add_input("x", {DType::f32, Shape{6, 2, 5}, std::nullopt});
  Attributes a;
  a.set("hidden_size", H);
  a.set("direction", direction);
  Node* l = g.add_node(
      OpKind::LSTM, {"lstm",
                     {x, weight(g, "lstm.W", {D, 4 * H, 5}, rng, 0.5f),
                      weight(g, "lstm.R", {D, 4 * H, H}, rng, 0.5f), weight(g, "lstm.B", {D, 8 * H}, rng, 0.2f)},
                     a,
                     2,
                     {"Y", "Y_h"}});
  g.add_output(l->output(0));
  g.add_output(l->output(1));
  return g;
}

TensorListSource random_source(const Graph& g, std::mt19937& rng, int batches, float lo, float hi) {
  std::vector<TensorMap> b;
  Value* x = g.inputs()[0];
  for (int i = 0; i < batches; ++i) b.push_back({{x->name(), random_tensor(x->shape().values(), rng, lo, hi)}});
  return TensorListSource(std::move(b));
}

// The output scale of the DequantizeLinear that produces a static int8 graph's output.
float output_scale(const Graph& q, size_t i = 0) {
  Node* p = q.outputs()[i]->producer();
  REQUIRE(p);
  REQUIRE(p->op() == OpKind::DequantizeLinear);
  return p->input(1)->constant()->to_float().at(0);
}

struct Cases {
  const test::TempDir& dir;
  nlohmann::json list = nlohmann::json::array();

  // Saves `q` as <name>.onnx and monoquant's outputs on `inputs`; `check` is the bound.
  void add(const std::string& name, const Graph& q, const TensorMap& inputs, nlohmann::json check) {
    save_model(q, dir / (name + ".onnx"));
    Session s(q);
    TensorMap out = s.run(inputs);
    nlohmann::json c = {
        {"name", name}, {"inputs", nlohmann::json::object()}, {"outputs", nlohmann::json::array()}};
    for (auto& [k, t] : inputs) {
      test::expect_npy(dir, name + ".in." + k, t);
      c["inputs"][k] = name + ".in." + k;
    }
    for (Value* v : q.outputs()) {
      test::expect_npy(dir, name + ".out." + v->name(), out.at(v->name()));
      c["outputs"].push_back(name + ".out." + v->name());
    }
    c["check"] = std::move(check);
    list.push_back(std::move(c));
  }
  void write() const { std::ofstream(dir / "cases.json") << list.dump(2); }
};

size_t count_op(const Graph& g, OpKind op) {
  size_t n = 0;
  for (Node* x : g.nodes()) n += x->op() == op;
  return n;
}

}  // namespace

TEST_CASE("onnx export: monoquant's quantized layers in QDQ form (structure)") {
  std::mt19937 rng(7);
  Graph f = make_cnn(rng);
  auto src = random_source(f, rng, 4, 0.f, 1.f);
  Calibration cal = calibrate(f, src);
  QuantizeOptions all_static;
  all_static.static_float_outputs = true;
  QuantizeResult q = static_quantize(f, cal, all_static);
  REQUIRE(count_op(q.graph, OpKind::QConv2d) == 1);
  REQUIRE(count_op(q.graph, OpKind::QLinear) == 2);
  test::TempDir dir;
  save_model(q.graph, dir / "cnn.onnx");  // used to fail: "no ONNX form for ... (QLinear)"
  auto b = serialization::read_file(dir / "cnn.onnx");
  std::string s(reinterpret_cast<const char*>(b.data()), b.size());
  for (const char* op : {"Conv", "Gemm", "MaxPool", "Flatten", "QuantizeLinear", "DequantizeLinear", "Relu"})
    CHECK_MESSAGE(s.find(op) != std::string::npos, op);
  CHECK(s.find("QConv2d") == std::string::npos);
  serialization::OnnxExportOptions keep_int8;
  keep_int8.int8_weights_as_uint8 = false;
  serialization::export_onnx(q.graph, dir / "cnn_s8.onnx", keep_int8);
  CHECK(std::filesystem::file_size(dir / "cnn_s8.onnx") > 0);
}

TEST_CASE("onnx export: a product of two int8 activations as DequantizeLinear → MatMul → QuantizeLinear") {
  std::mt19937 rng(8);
  Graph f = test::attention_block();
  auto src = random_source(f, rng, 4, -1.f, 1.f);
  QuantizeOptions all_static;  // the output projection static, reading attention·V as int8
  all_static.static_float_outputs = true;
  QuantizeResult q = static_quantize(f, calibrate(f, src), all_static);
  REQUIRE(count_op(q.graph, OpKind::QLinearMatMul) == 1);
  test::TempDir dir;
  save_model(q.graph, dir / "attention.onnx");
  auto b = serialization::read_file(dir / "attention.onnx");
  std::string s(reinterpret_cast<const char*>(b.data()), b.size());
  CHECK(s.find("QLinearMatMul") == std::string::npos);
  CHECK(s.find("MatMulInteger") != std::string::npos);  // Q·Kᵀ: standard ops written as they are
  // read back, the group is a QLinearMatMul again (the import's QDQ fusion) with the same outputs
  Graph back = load_model(dir / "attention.onnx");
  const Node* context = back.find_node("context");
  REQUIRE(context);
  CHECK(context->op() == OpKind::QLinearMatMul);
  CHECK(count_op(back, OpKind::MatMul) == 0);
  TensorMap in{{"x", random_tensor({2, 6, 16}, rng, -1.f, 1.f)}};
  const Tensor want = Session(q.graph).run(in).at("y"), got = Session(back).run(in).at("y");
  REQUIRE(got.dims() == want.dims());
  CHECK(std::memcmp(got.raw(), want.raw(), want.nbytes()) == 0);
}

TEST_CASE("interop: onnxruntime runs monoquant's int8 models exported as QDQ ONNX") {
  MQ_REQUIRE_INTEROP_PYTHON(python);
  test::TempDir dir;
  Cases cases{dir};
  std::mt19937 rng(2024);
  {  // Conv2d → Relu → MaxPool → Flatten → Linear → Relu → Linear, static
    Graph f = make_cnn(rng);
    auto src = random_source(f, rng, 8, 0.f, 1.f);
    QuantizeOptions all_static;
    all_static.static_float_outputs = true;
    QuantizeResult q = static_quantize(f, calibrate(f, src), all_static);
    REQUIRE(count_op(q.graph, OpKind::QConv2d) == 1);
    REQUIRE(count_op(q.graph, OpKind::QLinear) == 2);
    cases.add("cnn", q.graph, {{"x", random_tensor({8, 1, 8, 8}, rng, 0.f, 1.f)}},
              {{"atol", 2.0 * output_scale(q.graph)}});
  }
  {  // rank-3 Linear → Clip → Linear: static (MatMul path, clip fused) and dynamic
    Graph f = make_linear(rng);
    auto src = random_source(f, rng, 8, -1.f, 1.f);
    QuantizeOptions all_static;
    all_static.static_float_outputs = true;
    QuantizeResult q = static_quantize(f, calibrate(f, src), all_static);
    REQUIRE(count_op(q.graph, OpKind::QLinear) == 2);
    TensorMap in{{"x", random_tensor({2, 5, 12}, rng, -1.f, 1.f)}};
    cases.add("linear", q.graph, in, {{"atol", 2.0 * output_scale(q.graph)}});
    QuantizeResult d = dynamic_quantize(f);
    REQUIRE(count_op(d.graph, OpKind::DynamicQLinear) == 2);
    cases.add("linear_dynamic", d.graph, in, {{"rtol", 1e-3}});
  }
  for (std::string dir_attr : {"forward", "bidirectional"}) {  // LSTM, static and dynamic
    Graph f = make_lstm(rng, dir_attr);
    auto src = random_source(f, rng, 8, -1.f, 1.f);
    QuantizeResult q = static_quantize(f, calibrate(f, src));
    REQUIRE(count_op(q.graph, OpKind::QLSTM) == 1);
    TensorMap in{{"x", random_tensor({6, 2, 5}, rng, -1.f, 1.f)}};
    cases.add("lstm_" + dir_attr, q.graph, in, {{"sqnr_db", 30.0}});
    QuantizeResult d = dynamic_quantize(f);
    REQUIRE(count_op(d.graph, OpKind::DynamicQLSTM) == 1);
    cases.add("lstm_dynamic_" + dir_attr, d.graph, in, {{"sqnr_db", 30.0}});
  }
  {  // int8 between the layers: SiLU chains, residual Add, Concat, MaxPool, Resize (QDQ around each)
    Graph f = test::csp_block(Dim(2));
    auto src = random_source(f, rng, 8, -1.f, 1.f);
    QuantizeResult q = static_quantize(f, calibrate(f, src));
    REQUIRE(count_op(q.graph, OpKind::QConv2d) == 4);
    REQUIRE(count_op(q.graph, OpKind::Concat) == 1);
    cases.add("csp_block", q.graph, {{"x", random_tensor({2, 3, 8, 8}, rng, -1.f, 1.f)}}, {{"sqnr_db", 30.0}});
  }
  {  // int8 AveragePool, linear Resize, GlobalAveragePool (DequantizeLinear → op → QuantizeLinear)
    Graph f = test::average_block(Dim(2));
    auto src = random_source(f, rng, 8, -1.f, 1.f);
    QuantizeResult q = static_quantize(f, calibrate(f, src));
    REQUIRE(count_op(q.graph, OpKind::QConv2d) == 3);
    for (Node* n : q.graph.nodes())
      if (n->op() == OpKind::AveragePool || n->op() == OpKind::GlobalAveragePool || n->op() == OpKind::Resize)
        REQUIRE(n->input(0)->dtype() == DType::u8);
    cases.add("average_block", q.graph, {{"x", random_tensor({2, 3, 8, 8}, rng, -1.f, 1.f)}}, {{"sqnr_db", 30.0}});
  }
  {  // int8 GlobalMaxPool (DequantizeLinear → op → QuantizeLinear), a LayerNorm written out on
     // int8 values, and a float-output head reading its u8 input (MatMulInteger at its scale)
    Graph f = test::normalized_head(Dim(2));
    auto src = random_source(f, rng, 8, -1.f, 1.f);
    QuantizeResult q = static_quantize(f, calibrate(f, src));
    REQUIRE(count_op(q.graph, OpKind::DynamicQLinear) == 1);
    for (Node* n : q.graph.nodes())
      if (n->op() == OpKind::GlobalMaxPool || n->op() == OpKind::DynamicQLinear)
        REQUIRE(n->input(0)->dtype() == DType::u8);
    cases.add("normalized_head", q.graph, {{"x", random_tensor({2, 8, 6, 6}, rng, -1.f, 1.f)}},
              {{"sqnr_db", 30.0}});
  }
  {  // a detection head's Sigmoid / Concat / Reshape / Transpose and a Softmax on int8: by default
     // (the Concat per channel: DequantizeLinear with an axis at the output) and with --int8-outputs
    Graph f = test::detection_heads(Dim(2));
    auto src = random_source(f, rng, 8, -1.f, 1.f);
    const Calibration cal = calibrate(f, src);
    QuantizeResult d = static_quantize(f, cal);
    bool per_channel_output = false;
    for (const Value* y : d.graph.outputs())
      per_channel_output |= y->producer()->op() == OpKind::DequantizeLinear && y->producer()->attrs().has("axis");
    REQUIRE(per_channel_output);
    cases.add("output_assembly", d.graph, {{"x", random_tensor({2, 4, 6, 6}, rng, -1.f, 1.f)}},
              {{"sqnr_db", 30.0}});
    QuantizeOptions o;
    o.int8_outputs = true;
    QuantizeResult q = static_quantize(f, cal, o);
    cases.add("int8_outputs", q.graph, {{"x", random_tensor({2, 4, 6, 6}, rng, -1.f, 1.f)}}, {{"sqnr_db", 30.0}});
    // two levels joined along the cells' axis: per-channel requantization to each channel's widest range
    Graph l = test::two_level_head(Dim(2));
    auto lsrc = random_source(l, rng, 8, -1.f, 1.f);
    QuantizeResult lq = static_quantize(l, calibrate(l, lsrc));
    cases.add("output_levels", lq.graph, {{"x", random_tensor({2, 4, 6, 6}, rng, -1.f, 1.f)}},
              {{"sqnr_db", 30.0}});
  }
  {  // attention: Q·Kᵀ as MatMulInteger → DequantizeLinear (int32), attention·V as QLinearMatMul
     // (written DequantizeLinear → MatMul → QuantizeLinear); static and dynamic
    Graph f = test::attention_block();
    auto src = random_source(f, rng, 8, -1.f, 1.f);
    QuantizeOptions all_static;
    all_static.static_float_outputs = true;
    QuantizeResult q = static_quantize(f, calibrate(f, src), all_static);
    REQUIRE(count_op(q.graph, OpKind::QLinearMatMul) == 1);
    REQUIRE(count_op(q.graph, OpKind::MatMulInteger) == 1);
    TensorMap in{{"x", random_tensor({2, 6, 16}, rng, -1.f, 1.f)}};
    cases.add("attention", q.graph, in, {{"atol", 2.0 * output_scale(q.graph)}});
    QuantizeResult d = dynamic_quantize(f);
    REQUIRE(count_op(d.graph, OpKind::MatMulInteger) == 2);
    cases.add("attention_dynamic", d.graph, in, {{"rtol", 1e-3}});
  }
  {  // the bundled Fashion-MNIST CNN, calibrated on examples/data, 256 test images
    std::string ex = std::string(MQ_SOURCE_DIR) + "/examples/";
    Graph g = load_model(ex + "models/cnn.onnx");
    FileSource calib(g, {ex + "data/calib_images.npy"});
    QuantizeResult q = static_quantize(g, calibrate(g, calib, {.max_samples = 256}));
    REQUIRE(count_op(q.graph, OpKind::QConv2d) >= 1);
    Tensor images = serialization::load_npy(ex + "data/test_images_u8.npy");
    const int64_t n = 256;
    Tensor x(DType::f32, {n, 1, 28, 28});
    for (int64_t i = 0; i < n * 784; ++i) x.data<float>()[i] = float(images.data<uint8_t>()[i]) / 255.f;
    cases.add("example_cnn", q.graph, {{g.inputs()[0]->name(), x}},
              {{"top1", 0.99}, {"sqnr_db", 40.0}});  // its classifier head: DynamicQLinear, a float output
  }
  cases.write();
  MQ_RUN_INTEROP(python, "check_onnx_qdq.py", dir);
}
