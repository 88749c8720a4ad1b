// The matmul pattern: MatMuls between two activations (attention's Q·Kᵀ and attention·V) are
// quantized — QLinearMatMul where an int8 reader takes the product, MatMulInteger and a
// DequantizeLinear of the int32 product where a float op (Softmax) reads it — statically (u8 or
// s8) and dynamically, batched and broadcast; constant-weight products stay the linear
// pattern's; selection, dequantize_model, the SQNR fallback, the .mqm round trip and the
// compiled plan.
#include <doctest/doctest.h>

#include <cstring>
#include <random>

#include "attention_block.h"
#include "engine/api.h"
#include "engine/quantize.h"
#include "engine/quantize/patterns/pattern.h"
#include "engine/session.h"
#include "random_tensor.h"

using namespace mq;

namespace {

using test::attention_block;
using test::random_tensor;

std::vector<TensorMap> inputs(const Graph& g, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<TensorMap> out;
  for (int i = 0; i < n; ++i) {
    TensorMap m;
    for (Value* v : g.inputs()) m[v->name()] = random_tensor(v->shape().values(), rng);
    out.push_back(std::move(m));
  }
  return out;
}

int count(const Graph& g, OpKind op) {
  int n = 0;
  for (Node* node : g.nodes()) n += node->op() == op;
  return n;
}

/// The lowest SQNR of the outputs of `q` against `f` on a fresh batch.
double output_sqnr(const Graph& f, const Graph& q, uint32_t seed) {
  TensorMap in = inputs(f, 1, seed)[0];
  TensorMap a = Session(f).run(in), b = Session(q).run(in);
  double worst = 1e9;
  for (Value* v : f.outputs()) worst = std::min(worst, sqnr_db(a.at(v->name()), b.at(v->name())));
  return worst;
}

const LayerReport* report_of(const QuantizationInfo& info, const std::string& name) {
  for (const LayerReport& l : info.layers)
    if (l.name == name) return &l;
  return nullptr;
}

// The attention block's output projection is the model's last layer: static too (not the
// dynamic form a head takes by default), so attention·V feeds an int8 layer.
QuantizeResult quantize_static(const Graph& g, QuantizeOptions o = {}, uint32_t seed = 1) {
  o.static_float_outputs = true;
  TensorListSource src(inputs(g, 8, seed));
  Calibration cal = calibrate(g, src, {.layers = o.layers});
  return static_quantize(g, cal, o, &src);
}

}  // namespace

TEST_CASE("matmul pattern: a softmax written out (ReduceMax, Sub, Exp, ReduceSum, Div) reads float scores too") {
  Graph g = attention_block(2, 6, 16, 2, true);
  QuantizeResult q = quantize_static(g);
  const Node* scores = q.graph.find_node("scores");
  REQUIRE(scores);
  CHECK(scores->op() == OpKind::MatMulInteger);  // an int32 product, dequantized: no rounding to 8 bits
  CHECK(report_of(q.info, "scores")->scheme == "static a:u8 b:u8 y:f32");
  const Node* exp = q.graph.find_node("exp");
  REQUIRE(exp);
  CHECK(exp->op() == OpKind::Exp);
  REQUIRE(exp->input(0)->producer());
  CHECK(exp->input(0)->producer()->op() != OpKind::DequantizeLinear);
  CHECK(q.graph.find_node("context")->op() == OpKind::QLinearMatMul);
  CHECK(q.info.model_sqnr_db > 25);
}

TEST_CASE("matmul pattern: attention's two activation products run on int8, the Softmax stays float") {
  Graph g = attention_block();
  QuantizeResult q = quantize_static(g);
  // Q·Kᵀ is read by the Softmax (through a Mul): an int32 product, dequantized; attention·V is
  // read by the output projection (through Transpose and Reshape): int8 out
  const Node* scores = q.graph.find_node("scores");
  const Node* context = q.graph.find_node("context");
  REQUIRE(scores);
  REQUIRE(context);
  CHECK(scores->op() == OpKind::MatMulInteger);
  CHECK(context->op() == OpKind::QLinearMatMul);
  CHECK(count(q.graph, OpKind::MatMul) == 0);
  CHECK(count(q.graph, OpKind::QLinear) == 4);  // the constant-weight products stay the linear pattern's
  for (const Node* n : {scores, context})
    for (size_t i : {size_t(0), size_t(n->op() == OpKind::QLinearMatMul ? 3 : 1)})
      CHECK(n->input(i)->dtype() == DType::u8);
  CHECK(context->output(0)->dtype() == DType::u8);
  // the Softmax reads floats; its result is quantized once, as context's first operand
  const Node* softmax = q.graph.find_node("softmax");
  REQUIRE(softmax);
  CHECK(softmax->input(0)->dtype() == DType::f32);
  CHECK(softmax->output(0)->dtype() == DType::f32);
  // the output projection reads context's int8 values without a float round trip
  const Node* out_proj = q.graph.find_node("out_proj");
  REQUIRE(out_proj);
  CHECK(out_proj->op() == OpKind::QLinear);
  CHECK(out_proj->input(0)->dtype() == DType::u8);

  for (const char* name : {"scores", "context"}) {
    const LayerReport* l = report_of(q.info, name);
    REQUIRE(l);
    CHECK(l->pattern == "matmul");
    CHECK(l->type == "MatMul");
    CHECK(l->quantized);
    CHECK(l->has_output_sqnr);
    CHECK(l->output_sqnr_db > 25);
  }
  CHECK(report_of(q.info, "scores")->scheme == "static a:u8 b:u8 y:f32");
  CHECK(report_of(q.info, "context")->scheme == "static a:u8 b:u8 y:u8");
  CHECK(q.info.model_sqnr_db > 25);
  {  // the products alone on held-out data (fresh batches can leave the Linears' calibrated
     // ranges; the products' own error is small)
    QuantizeOptions o;
    o.layers.types = {"matmul"};
    QuantizeResult m = quantize_static(g, o);
    REQUIRE(count(m.graph, OpKind::MatMul) == 0);
    for (uint32_t seed : {9u, 10u, 11u}) CHECK(output_sqnr(g, m.graph, seed) > 25);
  }
  CHECK(q.info.round_trip_ok);  // .mqm save → load → run gives the same bytes

  // the compiled plan gives the bytes of the graph run op by op
  TensorMap in = inputs(g, 1, 3)[0];
  const Tensor want = Session(q.graph, {.threads = 1, .optimize = false}).run(in).at("y");
  for (int threads : {1, 2}) {
    const Tensor got = Session(q.graph, {.threads = threads}).run(in).at("y");
    REQUIRE(got.dims() == want.dims());
    CHECK(std::memcmp(got.raw(), want.raw(), want.nbytes()) == 0);
  }
}

TEST_CASE("matmul pattern: s8 activations when asked") {
  Graph g = attention_block();
  QuantizeOptions o;
  o.activation_type = DType::i8;
  QuantizeResult q = quantize_static(g, o);
  const Node* context = q.graph.find_node("context");
  REQUIRE(context);
  REQUIRE(context->op() == OpKind::QLinearMatMul);
  CHECK(context->input(0)->dtype() == DType::i8);
  CHECK(context->input(3)->dtype() == DType::i8);
  CHECK(context->output(0)->dtype() == DType::i8);
  const Node* scores = q.graph.find_node("scores");
  REQUIRE(scores->op() == OpKind::MatMulInteger);
  CHECK(scores->input(0)->dtype() == DType::i8);
  CHECK(report_of(q.info, "context")->scheme == "static a:i8 b:i8 y:i8");
  CHECK(q.info.model_sqnr_db > 25);
}

TEST_CASE("matmul pattern: batched and broadcast products, int8 and float results") {
  // a [2,3,4,5] · b [5,6] (2-D, not a constant) → y1 (float readers only);
  // c [2,1,4,5] · d [3,5,6] (broadcast to [2,3,4,6]) → Linear → y2 (int8 out)
  Graph g;
  Value* a = g.add_input("a", {DType::f32, Shape{2, 3, 4, 5}, {}});
  Value* b = g.add_input("b", {DType::f32, Shape{5, 6}, {}});
  Value* c = g.add_input("c", {DType::f32, Shape{2, 1, 4, 5}, {}});
  Value* d = g.add_input("d", {DType::f32, Shape{3, 5, 6}, {}});
  Node* m1 = g.add_node(OpKind::MatMul, {.name = "m1", .inputs = {a, b}, .output_names = {"y1"}});
  Node* m2 = g.add_node(OpKind::MatMul, {.name = "m2", .inputs = {c, d}});
  std::mt19937 rng(5);
  Node* fc = g.add_node(OpKind::Linear,
                        {.name = "fc",
                         .inputs = {m2->output(0), g.add_constant("fc.w", random_tensor({4, 6}, rng, 0.4f))},
                         .output_names = {"y2"}});
  g.add_output(m1->output(0));
  g.add_output(fc->output(0));
  QuantizeResult q = quantize_static(g);
  CHECK(q.graph.find_node("m1")->op() == OpKind::MatMulInteger);
  CHECK(q.graph.find_node("m2")->op() == OpKind::QLinearMatMul);
  CHECK(q.graph.find_node("m2")->output(0)->shape() == Shape{2, 3, 4, 6});
  CHECK(q.graph.find_value("y1")->shape() == Shape{2, 3, 4, 6});
  CHECK(output_sqnr(g, q.graph, 11) > 30);
  // the compiled plan and the op-by-op run agree on both forms
  TensorMap in = inputs(g, 1, 12)[0];
  TensorMap want = Session(q.graph, {.threads = 1, .optimize = false}).run(in);
  TensorMap got = Session(q.graph, {.threads = 2}).run(in);
  for (const char* y : {"y1", "y2"})
    CHECK(std::memcmp(got.at(y).raw(), want.at(y).raw(), want.at(y).nbytes()) == 0);
}

TEST_CASE(
    "matmul pattern: a MatMul with a constant operand is not taken (constant weights are the linear pattern's)") {
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape{2, 4, 5}, {}});
  std::mt19937 rng(6);
  // a 3-D constant weight (the importer makes 2-D ones Linear)
  Node* mm = g.add_node(OpKind::MatMul,
                        {.name = "mm", .inputs = {x, g.add_constant("w", random_tensor({2, 5, 3}, rng))}});
  Node* fc =
      g.add_node(OpKind::Linear, {.name = "fc",
                                  .inputs = {mm->output(0), g.add_constant("fc.w", random_tensor({4, 3}, rng))},
                                  .output_names = {"y"}});
  g.add_output(fc->output(0));
  const quant::Pattern* p = quant::pattern_named("matmul");
  REQUIRE(p);
  CHECK(quant::pattern_for(*mm) == p);
  CHECK(p->ineligible(g, *mm).find("constant") != std::string::npos);
  CHECK(quant::pattern_for(*fc) == quant::pattern_named("linear"));
  QuantizeResult q = quantize_static(g);
  CHECK(q.graph.find_node("mm")->op() == OpKind::MatMul);
  CHECK(q.graph.find_node("fc")->op() == OpKind::QLinear);
  CHECK(count(q.graph, OpKind::QLinearMatMul) + count(q.graph, OpKind::MatMulInteger) == 0);
}

TEST_CASE("matmul pattern: dynamic mode quantizes both operands per call") {
  Graph g = attention_block();
  TensorListSource src(inputs(g, 4, 7));
  QuantizeResult q = dynamic_quantize(g, {}, &src);
  CHECK(q.graph.find_node("scores")->op() == OpKind::MatMulInteger);
  CHECK(q.graph.find_node("context")->op() == OpKind::MatMulInteger);
  CHECK(count(q.graph, OpKind::DynamicQuantizeLinear) == 4);
  CHECK(count(q.graph, OpKind::DynamicQLinear) == 4);
  CHECK(count(q.graph, OpKind::MatMul) == 0);
  for (const char* name : {"scores", "context"}) {
    const LayerReport* l = report_of(q.info, name);
    REQUIRE(l);
    CHECK(l->quantized);
    CHECK(l->scheme == "dynamic a:u8/call b:u8/call");
    CHECK(l->output_sqnr_db > 25);
  }
  CHECK(q.info.model_sqnr_db > 25);
  CHECK(q.info.round_trip_ok);
  Graph d = dequantize_model(q.graph);
  CHECK(count(d, OpKind::MatMul) == 2);
  CHECK(count(d, OpKind::MatMulInteger) + count(d, OpKind::DynamicQuantizeLinear) == 0);
}

TEST_CASE("matmul pattern: selection by pattern and by name") {
  Graph g = attention_block();
  QuantizeOptions o;
  o.layers.types = {"linear"};
  QuantizeResult q = quantize_static(g, o);
  CHECK(count(q.graph, OpKind::MatMul) == 2);
  CHECK(count(q.graph, OpKind::QLinear) == 4);
  for (const LayerReport& l : q.info.layers) CHECK(l.pattern == "linear");

  QuantizeOptions only;
  only.layers.types = {"MatMul"};  // names are case-insensitive
  q = quantize_static(g, only);
  CHECK(count(q.graph, OpKind::Linear) == 4);
  CHECK(q.graph.find_node("scores")->op() == OpKind::MatMulInteger);
  // context's result has no int8 reader now (the output projection stays float)
  CHECK(q.graph.find_node("context")->op() == OpKind::MatMulInteger);

  QuantizeOptions ex;
  ex.layers.exclude = {"scores"};
  q = quantize_static(g, ex);
  CHECK(q.graph.find_node("scores")->op() == OpKind::MatMul);
  CHECK(q.graph.find_node("context")->op() == OpKind::QLinearMatMul);
}

TEST_CASE("matmul pattern: dequantize_model and the SQNR fallback return the products to float") {
  Graph g = attention_block();
  QuantizeResult q = quantize_static(g);
  REQUIRE(count(q.graph, OpKind::QLinearMatMul) == 1);
  Graph d = dequantize_model(q.graph);
  for (OpKind op : {OpKind::QLinearMatMul, OpKind::MatMulInteger, OpKind::QLinear, OpKind::QuantizeLinear,
                    OpKind::DequantizeLinear})
    CHECK(count(d, op) == 0);
  CHECK(count(d, OpKind::MatMul) == 2);
  CHECK(d.find_node("scores"));
  CHECK(d.find_node("context"));
  for (Node* n : d.nodes())
    for (Value* v : n->outputs()) CHECK_MESSAGE(v->dtype() == DType::f32, v->name());
  CHECK(output_sqnr(g, d, 13) > 35);  // only the weights' rounding is left

  // an unreachable target returns every layer to float, the products included
  QuantizeOptions o;
  o.min_sqnr_db = 500;
  o.on_failure = OnFailure::warn;
  QuantizeResult f = quantize_static(g, o);
  auto fell = [&](const std::string& n) {
    return std::find(f.info.fallback_layers.begin(), f.info.fallback_layers.end(), n) !=
           f.info.fallback_layers.end();
  };
  CHECK(fell("scores"));
  CHECK(fell("context"));
  CHECK(count(f.graph, OpKind::QLinearMatMul) + count(f.graph, OpKind::MatMulInteger) == 0);
}
