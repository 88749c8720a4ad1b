// calibrate → static_quantize / dynamic_quantize → QuantizationInfo on small hand-built
// graphs: layer selection, activation fusion, on_failure, the SQNR fallback, calibration
// files, dequantize_model and the errors users can cause.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <random>

#include "engine/api.h"
#include "engine/observers/qparams.h"
#include "engine/quantize.h"
#include "engine/session.h"
#include "random_tensor.h"

using namespace mq;

namespace {

using test::random_tensor;

/// x[N,16] → fc1 (16→32) → Relu → fc2 (32→8) → y; and a Conv2d model.
Graph mlp(std::mt19937& rng) {
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(16)}), {}});
  Value* w1 = g.add_constant("w1", random_tensor({32, 16}, rng, 0.3f));
  Value* b1 = g.add_constant("b1", random_tensor({32}, rng, 0.1f));
  Node* fc1 = g.add_node(OpKind::Linear, {.name = "fc1", .inputs = {x, w1, b1}});
  Node* r = g.add_node(OpKind::Relu, {.name = "relu1", .inputs = {fc1->output(0)}});
  Value* w2 = g.add_constant("w2", random_tensor({8, 32}, rng, 0.3f));
  Node* fc2 = g.add_node(OpKind::Linear, {.name = "fc2", .inputs = {r->output(0), w2}, .output_names = {"y"}});
  g.add_output(fc2->output(0));
  return g;
}

Graph convnet(std::mt19937& rng) {
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(3), Dim(8), Dim(8)}), {}});
  Attributes a;
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Node* c1 =
      g.add_node(OpKind::Conv2d, {.name = "conv1",
                                  .inputs = {x, g.add_constant("cw", random_tensor({4, 3, 3, 3}, rng, 0.3f)),
                                             g.add_constant("cb", random_tensor({4}, rng, 0.1f))},
                                  .attrs = a});
  Node* r = g.add_node(OpKind::Relu, {.name = "relu", .inputs = {c1->output(0)}});
  Node* f = g.add_node(OpKind::Flatten, {.name = "flat", .inputs = {r->output(0)}});
  Node* fc = g.add_node(OpKind::Linear,
                        {.name = "head",
                         .inputs = {f->output(0), g.add_constant("hw", random_tensor({5, 256}, rng, 0.1f))},
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
      for (auto& d : v->shape().dims()) dims.push_back(d.is_static() ? d.value : 4);
      m[v->name()] = random_tensor(dims, rng);
    }
    out.push_back(m);
  }
  return out;
}

int count(const Graph& g, OpKind op) {
  int n = 0;
  for (Node* node : g.nodes()) n += node->op() == op;
  return n;
}

}  // namespace

TEST_CASE("static quantization: Linear → Relu → Linear stays int8 end to end, ReLU fused") {
  std::mt19937 rng(1);
  Graph g = mlp(rng);
  TensorListSource src(batches(g, 8, rng));
  Calibration cal = calibrate(g, src);
  CHECK(cal.samples() == 32);
  src.rewind();
  QuantizeOptions o;
  o.static_float_outputs = true;  // fc2 static too (by default it takes the dynamic form)
  QuantizeResult q = static_quantize(g, cal, o, &src);
  CHECK(count(q.graph, OpKind::QLinear) == 2);
  CHECK(count(q.graph, OpKind::QuantizeLinear) == 1);    // once, at the input
  CHECK(count(q.graph, OpKind::DequantizeLinear) == 1);  // once, at the output
  CHECK(count(q.graph, OpKind::Relu) == 0);              // fused
  CHECK(q.graph.find_node("fc1")->attrs().get_string("activation") == "relu");
  CHECK(q.graph.find_node("fc1")->input(1)->dtype() == DType::i8);
  CHECK(q.graph.find_node("fc1")->input(2)->dtype() == DType::i32);
  CHECK(q.graph.outputs()[0]->name() == "y");
  REQUIRE(q.info.layers.size() == 2);
  CHECK(q.info.layers[0].weight_sqnr_db > 30);
  CHECK(q.info.layers[0].has_output_sqnr);
  CHECK(q.info.model_sqnr_db > 25);
  CHECK(q.info.round_trip_ok);
  CHECK(q.info.compression() > 3);
  CHECK(q.info.json().find("\"model_sqnr_db\"") != std::string::npos);
  CHECK(q.info.table().find("fc1") != std::string::npos);
}

TEST_CASE("static quantization: a Linear no quantized layer reads gives a float output, more accurately") {
  std::mt19937 rng(1);
  Graph g = mlp(rng);  // fc1 → Relu → fc2 → y
  TensorListSource src(batches(g, 8, rng));
  Calibration cal = calibrate(g, src);
  src.rewind();
  QuantizeResult q = static_quantize(g, cal, {}, &src);
  // fc1 feeds a quantized layer: static, int8 out with the Relu fused; fc2 is the head
  CHECK(q.graph.find_node("fc1")->op() == OpKind::QLinear);
  CHECK(q.graph.find_node("fc1")->attrs().get_string("activation") == "relu");
  CHECK(q.graph.find_node("fc2")->op() == OpKind::DynamicQLinear);
  CHECK(q.graph.find_node("fc2")->output(0)->dtype() == DType::f32);
  // fc1's u8 output (the Relu fused) is fc2's input as it is: no second rounding per call
  CHECK(q.graph.find_node("fc2")->input(0) == q.graph.find_node("fc1")->output(0));
  REQUIRE(q.info.layers.size() == 2);
  CHECK(q.info.layers[1].scheme.find("float output") != std::string::npos);
  src.rewind();
  QuantizeOptions o;
  o.static_float_outputs = true;
  QuantizeResult all_static = static_quantize(g, cal, o, &src);
  CHECK(all_static.graph.find_node("fc2")->op() == OpKind::QLinear);
  // the head's float output skips one rounding to 8 bits
  CHECK(q.info.model_sqnr_db > all_static.info.model_sqnr_db);
}

TEST_CASE("an activation is fused only when the quantized range represents it exactly") {
  // a log-mel front end: fc → Clip(min 1e-10) → Log; folding the Clip would round its bound to
  // 0 and make every clipped output −inf
  std::mt19937 rng(11);
  auto model = [&](float lo, std::optional<float> hi, OpKind after) {
    Graph g;
    Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(16)}), {}});
    Node* fc = g.add_node(OpKind::Linear,
                          {.name = "fc", .inputs = {x, g.add_constant("w", random_tensor({8, 16}, rng, 0.3f))}});
    Tensor tl(DType::f32, {});
    tl.data<float>()[0] = lo;
    std::vector<Value*> ins{fc->output(0), g.add_constant("lo", tl)};
    if (hi) {
      Tensor th(DType::f32, {});
      th.data<float>()[0] = *hi;
      ins.push_back(g.add_constant("hi", th));
    }
    Node* clip = g.add_node(OpKind::Clip, {.name = "clip", .inputs = ins});
    Node* last = g.add_node(after, {.name = "post", .inputs = {clip->output(0)}, .output_names = {"y"}});
    g.add_output(last->output(0));
    return g;
  };
  {
    Graph g = model(1e-10f, std::nullopt, OpKind::Log);
    TensorListSource src(batches(g, 8, rng));
    Calibration cal = calibrate(g, src);
    src.rewind();
    QuantizeResult q = static_quantize(g, cal, {}, &src);
    CHECK(count(q.graph, OpKind::Clip) == 1);  // kept as a float op
    CHECK_FALSE(q.graph.find_node("fc")->attrs().has("activation"));
    CHECK(q.info.passed());
    CHECK(std::isfinite(q.info.model_sqnr_db));
    CHECK(q.info.model_sqnr_db > 15);
  }
  {
    // ReLU6 on its own range, and Clip(0, +inf): exact, fused
    for (std::optional<float> hi : {std::optional<float>(6.f), std::optional<float>()}) {
      Graph g = model(0.f, hi, OpKind::Tanh);
      std::vector<TensorMap> data = batches(g, 8, rng);
      for (auto& b : data)
        for (float& v : std::span<float>(b.at("x").data<float>(), size_t(b.at("x").numel()))) v *= 20;  // reach 6
      TensorListSource src(data);
      Calibration cal = calibrate(g, src);
      src.rewind();
      QuantizeOptions o;
      o.static_float_outputs = true;  // fc's output range matters only when fc is static
      QuantizeResult q = static_quantize(g, cal, o, &src);
      CHECK(count(q.graph, OpKind::Clip) == 0);
      CHECK(q.graph.find_node("fc")->attrs().get_string("activation") == "clip");
    }
  }
}

TEST_CASE("validation names the node where the quantized model's first NaN or infinity appears") {
  // y = Log(|fc(x) + 1e-4|): a zero input row gives 1e-4 in float but the quantized zero point
  // after the int8 layer, and Log(0) = −inf
  std::mt19937 rng(12);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(16)}), {}});
  Tensor b(DType::f32, {8});
  for (float& v : std::span<float>(b.data<float>(), 8)) v = 1e-4f;
  Node* fc =
      g.add_node(OpKind::Linear,
                 {.name = "fc",
                  .inputs = {x, g.add_constant("w", random_tensor({8, 16}, rng, 0.3f)), g.add_constant("b", b)}});
  Node* abs = g.add_node(OpKind::Abs, {.name = "abs", .inputs = {fc->output(0)}});
  Node* log = g.add_node(OpKind::Log, {.name = "log", .inputs = {abs->output(0)}, .output_names = {"y"}});
  g.add_output(log->output(0));
  std::vector<TensorMap> data = batches(g, 4, rng);
  for (auto& m : data)
    for (int64_t i = 0; i < 16; ++i) m.at("x").data<float>()[i] = 0.f;  // row 0 of each batch
  TensorListSource src(data);
  Calibration cal = calibrate(g, src);
  src.rewind();
  QuantizeOptions o;
  o.on_failure = OnFailure::warn;
  o.static_float_outputs = true;  // the int8 output of fc is what goes wrong
  QuantizeResult q = static_quantize(g, cal, o, &src);
  CHECK_FALSE(q.info.passed());
  bool named = false;
  for (const auto& p : q.info.problems)
    named = named || p.find("the first appears at node 'log' (Log)") != std::string::npos;
  CHECK(named);
}

TEST_CASE("static quantization of a conv net keeps int8 through Flatten") {
  std::mt19937 rng(2);
  Graph g = convnet(rng);
  TensorListSource src(batches(g, 6, rng));
  QuantizeOptions o;
  o.static_float_outputs = true;  // the classifier head static too, reading the int8 Flatten
  QuantizeResult q = static_quantize(g, calibrate(g, src), o, &src);
  CHECK(count(q.graph, OpKind::QConv2d) == 1);
  CHECK(count(q.graph, OpKind::QLinear) == 1);
  CHECK(count(q.graph, OpKind::QuantizeLinear) == 1);
  CHECK(count(q.graph, OpKind::DequantizeLinear) == 1);
  CHECK(q.info.model_sqnr_db > 25);
}

TEST_CASE(
    "a quantized conv net with SiLU and MaxPool between its layers runs the same with the compiled plan (NHWC "
    "int8, layers fused)") {
  for (bool relu : {false, true}) {  // SiLU (an int8 chain: a 256-entry table) or Relu fused into conv1
    CAPTURE(relu);
    std::mt19937 rng(21);
    Graph g;
    Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(3), Dim(12), Dim(12)}), {}});
    Attributes a;
    a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    Value* c1 =
        g.add_node(OpKind::Conv2d, {.name = "conv1",
                                    .inputs = {x, g.add_constant("w1", random_tensor({8, 3, 3, 3}, rng, 0.3f)),
                                               g.add_constant("b1", random_tensor({8}, rng, 0.1f))},
                                    .attrs = a})
            ->output(0);
    Value* silu =
        relu
            ? g.add_node(OpKind::Relu, {.name = "relu", .inputs = {c1}})->output(0)
            : g.add_node(OpKind::Mul,
                         {.name = "silu",
                          .inputs = {c1, g.add_node(OpKind::Sigmoid, {.name = "sig", .inputs = {c1}})->output(0)}})
                  ->output(0);
    Attributes pool;
    pool.set("kernel_shape", std::vector<int64_t>{2, 2});
    pool.set("strides", std::vector<int64_t>{2, 2});
    Value* pooled = g.add_node(OpKind::MaxPool, {.name = "pool", .inputs = {silu}, .attrs = pool})->output(0);
    Value* c2 = g.add_node(OpKind::Conv2d,
                           {.name = "conv2",
                            .inputs = {pooled, g.add_constant("w2", random_tensor({4, 8, 3, 3}, rng, 0.3f)),
                                       g.add_constant("b2", random_tensor({4}, rng, 0.1f))},
                            .attrs = a,
                            .output_names = {"y"}})
                    ->output(0);
    g.add_output(c2);
    TensorListSource src(batches(g, 4, rng));
    QuantizeResult q = static_quantize(g, calibrate(g, src), {}, &src);
    REQUIRE(count(q.graph, OpKind::QConv2d) == 2);
    for (Node* n : q.graph.nodes())
      if (n->op() == OpKind::MaxPool) CHECK(n->input(0)->dtype() == DType::u8);  // pooling int8 data either way
    TensorMap in{{"x", random_tensor({2, 3, 12, 12}, rng)}};
    const Tensor want = Session(q.graph, {.threads = 1, .optimize = false}).run(in).at("y");
    for (int threads : {1, 2}) {
      Session fast(q.graph, {.threads = threads});
      int fused = 0, nhwc = 0, transposes = 0;
      for (Node* n : fast.graph().nodes()) {
        // a float chain as one pass, or as the table a QConv2d applies to its output
        fused += n->op() == OpKind::FusedElementwise || n->attrs().has("output_table");
        nhwc += n->op() == OpKind::QConv2d && n->attrs().get_string_or("layout", "") == "NHWC";
        transposes += n->op() == OpKind::Transpose;
      }
      CHECK((fused >= 1) == !relu);  // the Relu variant has no float chain left
      CHECK(nhwc == 2);              // int8 convolutions (and the int8 MaxPool between them) run NHWC end
      CHECK(transposes <= 2);        // to end: the model's input and output are the only layout changes
      const Tensor got = fast.run(in).at("y");
      REQUIRE(got.dims() == want.dims());
      CHECK(std::memcmp(got.raw(), want.raw(), size_t(want.numel()) * dtype_size(want.dtype())) == 0);
    }
  }
}

TEST_CASE("s8 activations: a conv net quantizes and runs on the int8 kernels with the u8 model's accuracy") {
  std::mt19937 rng(22);
  Graph g = convnet(rng);
  TensorListSource src(batches(g, 6, rng));
  Calibration cal = calibrate(g, src);
  QuantizeOptions o;
  o.activation_type = DType::i8;
  o.static_float_outputs = true;
  QuantizeResult s8 = static_quantize(g, cal, o, &src);
  QuantizeOptions ou;
  ou.static_float_outputs = true;
  QuantizeResult u8 = static_quantize(g, cal, ou, &src);
  CHECK(count(s8.graph, OpKind::QConv2d) == 1);
  CHECK(count(s8.graph, OpKind::QLinear) == 1);
  bool s8_input = false;
  for (Node* n : s8.graph.nodes())
    if (n->op() == OpKind::QConv2d) s8_input = n->input(0)->dtype() == DType::i8;
  CHECK(s8_input);
  CHECK(s8.info.model_sqnr_db > 25);
  CHECK(s8.info.model_sqnr_db > u8.info.model_sqnr_db - 3);
}

TEST_CASE("layer selection by type, by name glob and by exclusion") {
  std::mt19937 rng(3);
  Graph g = convnet(rng);
  TensorListSource src(batches(g, 4, rng));
  Calibration cal = calibrate(g, src);
  QuantizeOptions o;
  o.layers.types = {"linear"};
  QuantizeResult a = static_quantize(g, cal, o, &src);
  CHECK(count(a.graph, OpKind::QConv2d) == 0);
  CHECK(count(a.graph, OpKind::Conv2d) == 1);
  CHECK(count(a.graph, OpKind::DynamicQLinear) == 1);  // the classifier head: no quantized reader
  QuantizeOptions b;
  b.layers.include = {"conv*"};
  QuantizeResult r = static_quantize(g, cal, b, &src);
  CHECK(count(r.graph, OpKind::QConv2d) == 1);
  CHECK(count(r.graph, OpKind::Linear) == 1);
  QuantizeOptions c;
  c.layers.exclude = {"head"};
  QuantizeResult e = static_quantize(g, cal, c, &src);
  CHECK(count(e.graph, OpKind::Linear) == 1);
  const auto head = std::find_if(e.info.layers.begin(), e.info.layers.end(),
                                 [](const LayerReport& l) { return l.name == "head"; });
  REQUIRE(head != e.info.layers.end());
  CHECK(head->scheme == "float (not selected)");
}

TEST_CASE("on_failure: error throws, warn reports, ignore clears") {
  std::mt19937 rng(4);
  Graph g = mlp(rng);
  TensorListSource src(batches(g, 4, rng));
  Calibration cal = calibrate(g, src);
  QuantizeOptions o;
  o.fail_below_sqnr_db = 500;  // impossible
  CHECK_THROWS_AS(static_quantize(g, cal, o, &src), ValidationError);
  o.on_failure = OnFailure::warn;
  QuantizeResult w = static_quantize(g, cal, o, &src);
  CHECK_FALSE(w.info.passed());
  CHECK(w.info.problems.at(0).find("below 500 dB") != std::string::npos);
  o.on_failure = OnFailure::ignore;
  CHECK(static_quantize(g, cal, o, &src).info.passed());
}

TEST_CASE("accuracy-driven fallback returns the worst layers to float until min_sqnr_db is met") {
  std::mt19937 rng(5);
  Graph g = mlp(rng);
  TensorListSource src(batches(g, 4, rng));
  Calibration cal = calibrate(g, src);
  QuantizeOptions o;
  o.on_failure = OnFailure::warn;
  QuantizeResult plain = static_quantize(g, cal, o, &src);
  o.min_sqnr_db = plain.info.model_sqnr_db + 3;  // more than int8 everywhere gives
  QuantizeResult fb = static_quantize(g, cal, o, &src);
  CHECK_FALSE(fb.info.fallback_layers.empty());
  CHECK(fb.info.model_sqnr_db >= *o.min_sqnr_db);
  int fell = 0;
  for (auto& l : fb.info.layers) fell += l.fell_back;
  CHECK(fell == int(fb.info.fallback_layers.size()));
}

TEST_CASE("reduce_range_weights keeps weights within 7 bits") {
  std::mt19937 rng(10);
  Graph g = mlp(rng);
  TensorListSource src(batches(g, 4, rng));
  QuantizeOptions o;
  o.reduce_range_weights = true;
  QuantizeResult q = static_quantize(g, calibrate(g, src), o, &src);
  const Tensor& w = *q.graph.find_node("fc1")->input(1)->constant();
  auto v = w.to_int64();
  CHECK(*std::min_element(v.begin(), v.end()) >= -64);
  CHECK(*std::max_element(v.begin(), v.end()) <= 64);  // |w0| + |w1| ≤ 128: 255·128 fits int16
  CHECK(q.info.model_sqnr_db > 20);
}

TEST_CASE("dynamic quantization: weights int8, activations per call") {
  std::mt19937 rng(6);
  Graph g = mlp(rng);
  TensorListSource src(batches(g, 4, rng));
  QuantizeResult q = dynamic_quantize(g, {}, &src);
  CHECK(count(q.graph, OpKind::DynamicQLinear) == 2);
  CHECK(count(q.graph, OpKind::QuantizeLinear) == 0);
  CHECK(q.info.model_sqnr_db > 25);
  CHECK(q.info.mode == "dynamic");
}

TEST_CASE("calibration saved and loaded gives the same quantized model") {
  std::mt19937 rng(7);
  Graph g = mlp(rng);
  TensorListSource src(batches(g, 4, rng));
  Calibration cal = calibrate(g, src);
  auto path = (std::filesystem::temp_directory_path() / "mq_test_calibration.json").string();
  cal.save(path);
  Calibration back = Calibration::load(path);
  std::filesystem::remove(path);
  QuantizeOptions o;
  o.validate = false;
  QuantizeResult a = static_quantize(g, cal, o), b = static_quantize(g, back, o);
  auto in = batches(g, 1, rng)[0];
  Session sa(a.graph), sb(b.graph);
  Tensor ya = sa.run(in).at("y"), yb = sb.run(in).at("y");
  CHECK(ya == yb);
}

TEST_CASE("dequantize_model gives an fp32 graph close to the int8 one") {
  std::mt19937 rng(8);
  Graph g = convnet(rng);
  TensorListSource src(batches(g, 4, rng));
  QuantizeResult q = static_quantize(g, calibrate(g, src), {}, &src);
  Graph d = dequantize_model(q.graph);
  CHECK(count(d, OpKind::QConv2d) + count(d, OpKind::QLinear) == 0);
  CHECK(count(d, OpKind::Conv2d) == 1);
  auto in = batches(g, 1, rng)[0];
  Session sf(g), sd(d);
  CHECK(sqnr_db(sf.run(in).at("y"), sd.run(in).at("y")) > 25);
}

TEST_CASE("empty calibration data is an error") {
  std::mt19937 rng(9);
  Graph g = mlp(rng);
  TensorListSource empty({});
  CHECK_THROWS_WITH_AS(calibrate(g, empty), "the calibration data is empty: no samples were read",
                       InvalidArgument);
  CHECK_THROWS_AS(FileSource(g, {"/nonexistent/calib"}), IoError);
}
