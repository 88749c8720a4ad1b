// Hostile inputs: attributes that would make a kernel write out of bounds, huge constant
// folds, absurd thread counts, a Session shared by threads, NaN through Relu and validation.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <thread>

#include "recurrent_block.h"
#include "engine/api.h"
#include "engine/passes/passes.h"
#include "engine/quantize.h"
#include "random_tensor.h"

using namespace mq;

namespace {

using test::random_tensor;

/// Runs fn; expects an mq::Error whose message names every fragment.
template <class Fn>
void expect_error(Fn&& fn, std::initializer_list<std::string> fragments) {
  try {
    fn();
    FAIL("no error thrown");
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& f : fragments) CHECK_MESSAGE(msg.find(f) != std::string::npos, msg, " lacks ", f);
  }
}

/// x[N,3,8,8] → conv (pads 1) → Relu → MaxPool 2×2 → Flatten → Linear → y.
Graph convnet(std::mt19937& rng) {
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(3), Dim(8), Dim(8)}), {}});
  Attributes a;
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Node* c = g.add_node(OpKind::Conv2d, {.name = "conv",
                                        .inputs = {x, g.add_constant("cw", random_tensor({4, 3, 3, 3}, rng, 0.3f)),
                                                   g.add_constant("cb", random_tensor({4}, rng, 0.1f))},
                                        .attrs = a});
  Node* r = g.add_node(OpKind::Relu, {.name = "relu", .inputs = {c->output(0)}});
  Attributes pa;
  pa.set("kernel_shape", std::vector<int64_t>{2, 2});
  pa.set("strides", std::vector<int64_t>{2, 2});
  Node* p = g.add_node(OpKind::MaxPool, {.name = "pool", .inputs = {r->output(0)}, .attrs = pa});
  Node* f = g.add_node(OpKind::Flatten, {.name = "flat", .inputs = {p->output(0)}});
  Node* fc = g.add_node(OpKind::Linear,
                        {.name = "head",
                         .inputs = {f->output(0), g.add_constant("hw", random_tensor({5, 64}, rng, 0.1f))},
                         .output_names = {"y"}});
  g.add_output(fc->output(0));
  return g;
}

std::vector<TensorMap> batches(const Graph& g, int n, std::mt19937& rng) {
  std::vector<TensorMap> out;
  for (int i = 0; i < n; ++i) {
    TensorMap m;
    for (Value* v : g.inputs()) {
      std::vector<int64_t> dims;
      for (auto& d : v->shape().dims()) dims.push_back(d.is_static() ? d.value : 2);
      m[v->name()] = random_tensor(dims, rng);
    }
    out.push_back(m);
  }
  return out;
}

Graph quantized_convnet(DType activations = DType::u8) {
  std::mt19937 rng(3);
  Graph g = convnet(rng);
  TensorListSource cal(batches(g, 4, rng));
  Calibration c = calibrate(g, cal);
  TensorListSource val(batches(g, 2, rng));
  QuantizeOptions o;
  o.static_float_outputs = true;  // the classifier head as QLinear too
  o.activation_type = activations;
  return static_quantize(g, c, o, &val).graph;
}

Graph dynamic_convnet() {
  std::mt19937 rng(3);
  return dynamic_quantize(convnet(rng)).graph;
}

Graph quantized_lstm() {
  std::mt19937 rng(6);
  Graph g = test::transposed_lstm(Dim::sym("B"));
  std::vector<TensorMap> data;
  for (int i = 0; i < 4; ++i) data.push_back({{"x", random_tensor({2, 6, 5}, rng)}});
  TensorListSource cal(data);
  return static_quantize(g, calibrate(g, cal)).graph;
}

Node* find_op(const Graph& g, OpKind op) {
  for (Node* n : g.nodes())
    if (n->op() == op) return n;
  FAIL("no such op in the graph");
  return nullptr;
}

struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("mq_hardening_" + std::to_string(std::random_device{}()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("pads of 4096 are refused when the node is built, naming the node and attribute") {
  std::mt19937 rng(1);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({1, 3, 8, 8}), {}});
  Attributes big;
  big.set("kernel_shape", std::vector<int64_t>{2, 2});
  big.set("pads", std::vector<int64_t>{4096, 4096, 4096, 4096});
  expect_error([&] { g.add_node(OpKind::MaxPool, {.name = "evil_pool", .inputs = {x}, .attrs = big}); },
               {"evil_pool", "pads"});
  expect_error([&] { g.add_node(OpKind::AveragePool, {.name = "evil_avg", .inputs = {x}, .attrs = big}); },
               {"evil_avg", "pads"});
  Attributes pool_eq;  // ONNX Runtime: pads must be smaller than the kernel
  pool_eq.set("kernel_shape", std::vector<int64_t>{2, 2});
  pool_eq.set("pads", std::vector<int64_t>{2, 0, 0, 0});
  expect_error([&] { g.add_node(OpKind::MaxPool, {.name = "p2", .inputs = {x}, .attrs = pool_eq}); },
               {"p2", "pads"});

  Value* w = g.add_constant("w", random_tensor({4, 3, 3, 3}, rng));
  Attributes conv;
  conv.set("pads", std::vector<int64_t>{4096, 4096, 4096, 4096});
  expect_error(
      [&] {
        g.add_node(OpKind::Conv2d, {.name = "evil_conv", .inputs = {x, w}, .attrs = conv});
      },
      {"evil_conv", "pads"});
  Attributes bad_stride;
  bad_stride.set("strides", std::vector<int64_t>{0, 1});
  expect_error(
      [&] {
        g.add_node(OpKind::Conv2d, {.name = "c0", .inputs = {x, w}, .attrs = bad_stride});
      },
      {"c0", "strides"});
  Attributes bad_group;
  bad_group.set("group", int64_t(3));
  expect_error(
      [&] {
        g.add_node(OpKind::Conv2d, {.name = "cg", .inputs = {x, w}, .attrs = bad_group});
      },
      {"cg", "group"});
  // a 1×1 convolution padded by 1 is legal (a window of padding alone)
  Attributes one;
  one.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  CHECK_NOTHROW(g.add_node(
      OpKind::Conv2d,
      {.name = "c1", .inputs = {x, g.add_constant("w1", random_tensor({2, 3, 1, 1}, rng))}, .attrs = one}));
}

TEST_CASE("a quantized model whose QConv2d or MaxPool attributes were edited is refused on load and by Session") {
  Graph q = quantized_convnet();
  TempDir dir;
  for (OpKind op : {OpKind::QConv2d, OpKind::MaxPool}) {
    for (const char* ext : {".mqm", ".safetensors", ".pt"}) {
      CAPTURE(ext);
      Graph evil = q.clone();
      Node* n = find_op(evil, op);
      const std::string name = n->name();
      n->attrs().set("pads", std::vector<int64_t>{4096, 4096, 4096, 4096});
      const std::string path = (dir.path / (std::string("evil") + ext)).string();
      save_model(evil, path);
      expect_error([&] { load_model(path); }, {name, "pads"});
      // the edited graph handed straight to a Session fails when the plan is compiled or at
      // run, before any kernel
      TensorMap in{{"x", Tensor(DType::f32, {1, 3, 8, 8})}};
      expect_error([&] { Session(evil, {.threads = 1}).run(in); }, {name, "pads"});
      expect_error([&] { Session(evil, {.threads = 1, .optimize = false}).run(in); }, {name, "pads"});
    }
  }
}

TEST_CASE("QLinear and QConv2d check their weight, bias and quantization parameters") {
  Graph q = quantized_convnet();
  Node* ql = find_op(q, OpKind::QLinear);
  // the input features no longer match the weight: inference refuses
  Graph e1 = q.clone();
  Node* c = find_op(e1, OpKind::QConv2d);
  Tensor w(DType::i8, {4, 3, 4, 4});  // a 4×4 kernel gives a 7×7 (then 3×3) map: 36 features, not 64
  QuantParams wq;
  wq.scales.assign(4, 0.01f);
  wq.zero_points.assign(4, 0);
  wq.axis = 0;
  wq.qtype = DType::i8;
  w.set_quant(wq);
  e1.set_input(c, 1, e1.add_constant("w_small", w));
  expect_error([&] { e1.reinfer_all(); }, {ql->name(), "input features"});
  // a per-channel weight with the wrong number of scales
  Graph e2 = q.clone();
  Node* c2 = find_op(e2, OpKind::QConv2d);
  Tensor w2 = c2->input(1)->constant()->clone();
  wq.scales.assign(3, 0.01f);
  wq.zero_points.assign(3, 0);
  w2.set_quant(wq);
  e2.set_input(c2, 1, e2.add_constant("w_bad_scales", w2));
  expect_error([&] { e2.reinfer(c2); }, {c2->name(), "scales"});
}

TEST_CASE("static quantization with fused Relu visits no removed node (ASan use-after-free)") {
  Graph q = quantized_convnet();
  CHECK(find_op(q, OpKind::QConv2d)->attrs().get_string_or("activation", "") == "relu");
}

TEST_CASE("constant folding leaves huge results to run time") {
  Graph g;
  Value* shape = g.add_constant("shape", Tensor::from_vector<int64_t>({3}, {16384, 8192, 4}));
  Node* cos = g.add_node(OpKind::ConstantOfShape, {.name = "big", .inputs = {shape}});
  Node* neg = g.add_node(OpKind::Neg, {.name = "neg", .inputs = {cos->output(0)}, .output_names = {"y"}});
  g.add_output(neg->output(0));
  passes::fold_constants(g);
  bool kept = false;
  for (Node* n : g.nodes()) kept |= n->op() == OpKind::ConstantOfShape;
  CHECK(kept);
  // a small one still folds
  Graph s;
  Value* sh = s.add_constant("shape", Tensor::from_vector<int64_t>({2}, {2, 3}));
  Node* c2 = s.add_node(OpKind::ConstantOfShape, {.name = "small", .inputs = {sh}});
  Node* n2 = s.add_node(OpKind::Neg, {.name = "neg", .inputs = {c2->output(0)}, .output_names = {"y"}});
  s.add_output(n2->output(0));
  passes::fold_constants(s);
  for (Node* n : s.nodes()) CHECK(n->op() != OpKind::ConstantOfShape);
}

TEST_CASE("absurd tensor sizes are an mq::Error, not an overflow or bad_alloc") {
  CHECK_THROWS_AS(Tensor(DType::f32, {int64_t(1) << 40, int64_t(1) << 40}), ShapeError);
  CHECK_THROWS_AS(Tensor(DType::f32, {int64_t(1) << 45}), Error);
  CHECK_THROWS_AS(Tensor(DType::f32, {-1}), ShapeError);
}

TEST_CASE("SessionOptions.threads is capped at 4 × the hardware threads") {
  std::mt19937 rng(2);
  Graph g = convnet(rng);
  expect_error([&] { Session s(g, {.threads = 100000}); }, {"threads"});
  expect_error([&] { Session s(g, {.threads = -1}); }, {"threads"});
  CHECK(max_session_threads() >= 1);
  CHECK(max_session_threads() <= 256);
  CHECK_NOTHROW(Session(g, {.threads = max_session_threads()}));
}

TEST_CASE("a Session shared by threads gives every caller the right outputs") {
  std::mt19937 rng(4);
  // float convnet, int8 convnet (u8, s8 activations), int8 bidirectional LSTM, dynamic int8
  for (int model : {0, 1, 2, 3, 4}) {
    for (int session_threads : {1, 2}) {
      CAPTURE(model);
      CAPTURE(session_threads);
      Graph g = model == 0   ? convnet(rng)
                : model == 1 ? quantized_convnet()
                : model == 2 ? quantized_lstm()
                : model == 3 ? quantized_convnet(DType::i8)
                             : dynamic_convnet();
      if (model == 3) CHECK(find_op(g, OpKind::QConv2d)->input(0)->dtype() == DType::i8);
      if (model == 4) CHECK(find_op(g, OpKind::DynamicQLinear));
      Session s(g, {.threads = session_threads});
      std::vector<TensorMap> ins;
      std::vector<Tensor> want;
      for (int k = 0; k < 4; ++k) {  // each thread its own input (and batch size)
        const int64_t b = 1 + k % 2;
        ins.push_back({{"x", model == 2 ? random_tensor({b, 6, 5}, rng) : random_tensor({b, 3, 8, 8}, rng)}});
        want.push_back(s.run(ins.back()).at("y").clone());
      }
      std::atomic<int> ok{0}, wrong{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
          for (int i = 0; i < 25; ++i) {
            Tensor y = s.run(ins[size_t(t)]).at("y");
            const Tensor& w = want[size_t(t)];
            bool same = y.dims() == w.dims();
            for (int64_t k = 0; same && k < y.numel(); ++k) same = y.data<float>()[k] == w.data<float>()[k];
            (same ? ok : wrong)++;
          }
        });
      for (auto& t : threads) t.join();
      CHECK(wrong == 0);
      CHECK(ok == 100);
    }
  }
}

TEST_CASE("Relu, LeakyRelu and Clip propagate NaN as ONNX Runtime does") {
  for (OpKind op : {OpKind::Relu, OpKind::LeakyRelu, OpKind::Clip}) {
    Graph g;
    Value* x = g.add_input("x", {DType::f32, Shape({4}), {}});
    std::vector<Value*> ins{x};
    if (op == OpKind::Clip) {
      ins.push_back(g.add_constant("lo", Tensor::from_vector<float>({}, {-1.f})));
      ins.push_back(g.add_constant("hi", Tensor::from_vector<float>({}, {1.f})));
    }
    Node* n = g.add_node(op, {.name = "act", .inputs = ins, .output_names = {"y"}});
    g.add_output(n->output(0));
    Session s(g, {.threads = 1});
    Tensor y = s.run({{"x", Tensor::from_vector<float>({4}, {NAN, -2.f, 0.5f, NAN})}}).at("y");
    CAPTURE(op_name(op));
    CHECK(std::isnan(y.data<float>()[0]));
    CHECK(std::isnan(y.data<float>()[3]));
    CHECK(y.data<float>()[2] == 0.5f);
  }
}

TEST_CASE("validation fails on NaN in the float reference or the quantized output, naming it") {
  std::mt19937 rng(5);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(16)}), {}});
  Node* fc = g.add_node(OpKind::Linear, {.name = "fc",
                                         .inputs = {x, g.add_constant("w", random_tensor({8, 16}, rng, 0.3f))},
                                         .output_names = {"y"}});
  g.add_output(fc->output(0));
  // every sample NaN: the float model's output is NaN too
  std::vector<TensorMap> all_nan = batches(g, 2, rng);
  for (auto& m : all_nan) std::fill_n(m["x"].data<float>(), m["x"].numel(), NAN);
  TensorListSource src(all_nan);
  QuantizeOptions o;
  o.mode = QuantMode::dynamic_quant;
  o.on_failure = OnFailure::warn;
  QuantizeResult r = dynamic_quantize(g, o, &src);
  CHECK_FALSE(r.info.passed());
  bool named = false;
  for (auto& p : r.info.problems)
    named |= p.find("output 'y'") != std::string::npos && p.find("NaN") != std::string::npos;
  CHECK_MESSAGE(named, "problems: ", r.info.problems.size());
  o.on_failure = OnFailure::error;
  src.rewind();
  CHECK_THROWS_AS(dynamic_quantize(g, o, &src), ValidationError);
}

TEST_CASE("shape products that overflow int64 are a ShapeError (fuzz: shape-ops-int-overflow)") {
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim(int64_t(1) << 40), Dim(int64_t(1) << 40)}), {}});
  Value* shape = g.add_constant("shape", Tensor::from_vector<int64_t>({1}, {-1}));
  expect_error(
      [&] {
        g.add_node(OpKind::Reshape, {.name = "flat", .inputs = {x, shape}});
      },
      {"flat", "out of range"});
}

TEST_CASE("an LSTM hidden_size near INT64_MAX is a ShapeError, not an overflow (fuzz, UBSan)") {
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim(2), Dim(1), Dim(3)}), {}});
  Value* w = g.add_input("w", {DType::f32, Shape({Dim(1), Dim::sym("G"), Dim(3)}), {}});
  Value* r = g.add_input("r", {DType::f32, Shape({Dim(1), Dim::sym("G"), Dim::sym("H")}), {}});
  Attributes a;
  a.set("hidden_size", std::numeric_limits<int64_t>::max());
  expect_error(
      [&] {
        g.add_node(OpKind::LSTM, {.name = "rnn", .inputs = {x, w, r}, .attrs = a});
      },
      {"rnn", "out of range"});
}

TEST_CASE("NaN, infinite or non-positive scales are refused (fuzz: qgemm-store-nan-to-int)") {
  Graph q = quantized_convnet();
  Node* c = find_op(q, OpKind::QConv2d);
  for (float bad : {std::nanf(""), INFINITY, 0.f, -1.f}) {
    Graph e = q.clone();
    Node* ce = find_op(e, OpKind::QConv2d);
    Tensor w = ce->input(1)->constant()->clone();
    QuantParams wq = *w.quant();
    REQUIRE(!wq.scales.empty());
    wq.scales.back() = bad;
    w.set_quant(wq);
    e.set_input(ce, 1, e.add_constant("w_bad", w));
    INFO("scale ", bad);
    expect_error([&] { e.reinfer(ce); }, {c->name(), "finite and > 0"});
  }
}

TEST_CASE("SessionOptions.max_tensor_bytes refuses a run whose activations exceed it") {
  std::mt19937 rng(3);
  Graph g = convnet(rng);
  TensorMap in{{"x", random_tensor({4, 3, 8, 8}, rng)}};
  Session unlimited(g, {.threads = 1});
  CHECK_NOTHROW(unlimited.run(in));
  Session limited(g, {.threads = 1, .max_tensor_bytes = 1024});  // the conv output is 4 KiB
  expect_error([&] { limited.run(in); }, {"conv", "max_tensor_bytes"});
  expect_error([&] { Session s(g, {.threads = 1, .max_tensor_bytes = -1}); }, {"max_tensor_bytes"});
}
