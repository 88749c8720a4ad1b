// The quantization-pattern registry: int8 values between quantized layers through residual
// Adds, SiLU chains, Concat, MaxPool and Resize, selection by pattern, dequantize_model, and
// the compiled plan running the result without a float round trip.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>

#include "engine/api.h"
#include "engine/quantize.h"
#include "engine/quantize/patterns/pattern.h"
#include "engine/session.h"
#include "csp_block.h"
#include "graph_queries.h"
#include "recurrent_block.h"
#include "random_tensor.h"

using namespace mq;

namespace {

using test::count_op;
using test::csp_block;
using test::find_op;
using test::random_tensor;

std::vector<TensorMap> batches(const Graph& g, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<TensorMap> out;
  for (int i = 0; i < n; ++i) out.push_back({{"x", random_tensor({4, 3, 8, 8}, rng)}});
  return out;
  (void)g;
}

}  // namespace

TEST_CASE("every pattern has its own name, found again by name; unknown names are errors naming the choices") {
  std::set<std::string> names;
  for (const quant::Pattern* p : quant::patterns()) {
    CHECK(names.insert(std::string(p->name())).second);
    CHECK(quant::pattern_named(p->name()) == p);
    CHECK_FALSE(p->summary().empty());
    CHECK(quant::pattern_names().find(std::string(p->name())) != std::string::npos);
  }
  CHECK(quant::pattern_named("Conv") == quant::pattern_named("conv2d"));
  CHECK(quant::pattern_named("nope") == nullptr);
  Graph g = csp_block();
  TensorListSource src(batches(g, 2, 1));
  Calibration cal = calibrate(g, src);
  QuantizeOptions o;
  o.layers.types = {"conv2d", "softmax"};
  try {
    static_quantize(g, cal, o);
    FAIL("an unknown pattern name was accepted");
  } catch (const InvalidArgument& e) {
    CHECK(std::string(e.what()).find("unknown layer type 'softmax'") != std::string::npos);
    CHECK(std::string(e.what()).find("concat") != std::string::npos);
  }
}

TEST_CASE(
    "int8 stays int8 between convolutions: residual Add, SiLU, Concat, MaxPool and Resize run on int8 values") {
  Graph g = csp_block();
  TensorListSource src(batches(g, 6, 2));
  QuantizeResult q = static_quantize(g, calibrate(g, src), {}, &src);
  REQUIRE(count_op(q.graph, OpKind::QConv2d) == 4);
  CHECK(q.info.model_sqnr_db > 25);
  // the Concat, MaxPool and Resize move u8 values; the Add's result is quantized once
  for (OpKind op : {OpKind::Concat, OpKind::MaxPool, OpKind::Resize}) {
    const Node* n = find_op(q.graph, op);
    REQUIRE(n);
    CHECK(n->output(0)->dtype() == DType::u8);
  }
  std::map<std::string, int> quantized;  // pattern → quantized nodes in the report
  for (const LayerReport& l : q.info.layers) quantized[l.pattern] += l.quantized;
  CHECK(quantized["conv2d"] == 4);
  CHECK(quantized["add"] == 1);
  CHECK(quantized["mul"] == 3);
  CHECK(quantized["activation"] == 3);  // each Sigmoid inside its SiLU chain
  CHECK(quantized["concat"] == 1);
  CHECK(quantized["data_movement"] == 2);
  for (const LayerReport& l : q.info.layers)
    if (l.pattern == "add" || l.pattern == "concat") CHECK(l.has_output_sqnr);

  // the compiled plan: one int8 pass per SiLU or Add, no float tensor between the convolutions,
  // the same bytes as the graph run op by op
  TensorMap in = batches(g, 1, 3)[0];
  const Tensor want = Session(q.graph, {.threads = 1, .optimize = false}).run(in).at("y");
  for (int threads : {1, 2}) {
    Session fast(q.graph, {.threads = threads});
    int fused = 0;
    for (Node* n : fast.graph().nodes()) {  // a pass of its own, or the table a QConv2d applies
      if (n->op() != OpKind::FusedElementwise && !n->attrs().has("output_table")) continue;
      ++fused;
      CHECK(n->output(0)->dtype() == DType::u8);
    }
    CHECK(fused >= 3);  // the SiLUs; the residual Add takes conv2's SiLU into its pass
    const Tensor got = fast.run(in).at("y");
    REQUIRE(got.dims() == want.dims());
    CHECK(std::memcmp(got.raw(), want.raw(), want.nbytes()) == 0);
  }
}

TEST_CASE("selecting only the convolutions keeps the ops between them float") {
  Graph g = csp_block();
  TensorListSource src(batches(g, 4, 4));
  QuantizeOptions o;
  o.layers.types = {"conv2d"};
  QuantizeResult q = static_quantize(g, calibrate(g, src, {.layers = o.layers}), o, &src);
  CHECK(count_op(q.graph, OpKind::QConv2d) == 4);
  for (OpKind op : {OpKind::Concat, OpKind::MaxPool, OpKind::Resize})
    CHECK(find_op(q.graph, op)->output(0)->dtype() == DType::f32);
  for (const LayerReport& l : q.info.layers) CHECK(l.pattern == "conv2d");
}

TEST_CASE("dequantize_model returns every pattern's nodes to float") {
  Graph g = csp_block();
  TensorListSource src(batches(g, 4, 5));
  QuantizeResult q = static_quantize(g, calibrate(g, src), {}, &src);
  Graph d = dequantize_model(q.graph);
  for (OpKind op : {OpKind::QConv2d, OpKind::QuantizeLinear, OpKind::DequantizeLinear})
    CHECK(count_op(d, op) == 0);
  for (Node* n : d.nodes())
    for (Value* v : n->outputs()) CHECK_MESSAGE(v->dtype() == DType::f32, v->name());
  TensorMap in = batches(g, 1, 6)[0];
  CHECK(sqnr_db(Session(g).run(in).at("y"), Session(d).run(in).at("y")) > 25);
}

TEST_CASE("a Reshape / Transpose after the last int8 layer moves the bytes; the DequantizeLinear follows it") {
  // x → Conv2d → Reshape [N, 2, 2, 8, 8] → Transpose → y (a depth-to-space tail before a float output)
  std::mt19937 rng(7);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(3), Dim(8), Dim(8)}), {}});
  Attributes pads;
  pads.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value* c = g.add_node(OpKind::Conv2d, {.name = "conv",
                                         .inputs = {x, g.add_constant("w", random_tensor({4, 3, 3, 3}, rng, 0.3f)),
                                                    g.add_constant("b", random_tensor({4}, rng, 0.1f))},
                                         .attrs = pads})
                 ->output(0);
  Value* r =
      g.add_node(OpKind::Reshape,
                 {.name = "reshape",
                  .inputs = {c, g.add_constant("shape", Tensor::from_vector<int64_t>({5}, {-1, 2, 2, 8, 8}))}})
          ->output(0);
  Attributes perm;
  perm.set("perm", std::vector<int64_t>{0, 3, 1, 4, 2});
  Value* y =
      g.add_node(OpKind::Transpose, {.name = "transpose", .inputs = {r}, .attrs = perm, .output_names = {"y"}})
          ->output(0);
  g.add_output(y);
  TensorListSource src(batches(g, 4, 3));
  Calibration cal = calibrate(g, src);
  QuantizeResult q = static_quantize(g, cal, {}, &src);
  const Node* t = find_op(q.graph, OpKind::Transpose);
  REQUIRE(t);
  CHECK(t->input(0)->dtype() == DType::u8);  // moves bytes
  REQUIRE(q.graph.outputs()[0]->producer());
  CHECK(q.graph.outputs()[0]->producer()->op() == OpKind::DequantizeLinear);
  CHECK(q.graph.outputs()[0]->name() == "y");
  // the same values as running the tail on floats (the pattern not selected)
  QuantizeOptions only_conv;
  only_conv.layers.types = {"conv2d"};
  QuantizeResult f = static_quantize(g, cal, only_conv, &src);
  CHECK(find_op(f.graph, OpKind::Transpose)->input(0)->dtype() == DType::f32);
  const TensorMap in = batches(g, 1, 9)[0];
  const Tensor a = Session(q.graph).run(in).at("y"), b = Session(f.graph).run(in).at("y");
  REQUIRE(a.dims() == b.dims());
  CHECK(std::memcmp(a.raw(), b.raw(), size_t(a.numel()) * 4) == 0);
}

TEST_CASE("AveragePool, linear Resize and GlobalAveragePool run on int8 values at their input's scale") {
  Graph g = test::average_block();
  TensorListSource src(batches(g, 6, 8));
  QuantizeResult q = static_quantize(g, calibrate(g, src), {}, &src);
  REQUIRE(count_op(q.graph, OpKind::QConv2d) == 3);
  for (OpKind op : {OpKind::AveragePool, OpKind::Resize, OpKind::GlobalAveragePool}) {
    CAPTURE(op_name(op));
    const Node* n = find_op(q.graph, op);
    REQUIRE(n);
    CHECK(n->input(0)->dtype() == DType::u8);
    CHECK(n->output(0)->dtype() == DType::u8);
    CHECK(n->output(0)->type().quant == n->input(0)->type().quant);
  }
  int averages = 0;
  for (const LayerReport& l : q.info.layers) averages += l.pattern == "average" && l.quantized;
  CHECK(averages == 3);
  CHECK(q.info.model_sqnr_db > 25);

  // the compiled plan (NHWC between the convolutions) gives the bytes of the op-by-op NCHW run
  TensorMap in = batches(g, 1, 9)[0];
  const Tensor want = Session(q.graph, {.threads = 1, .optimize = false}).run(in).at("y");
  for (int threads : {1, 2}) {
    Session fast(q.graph, {.threads = threads});
    for (OpKind op : {OpKind::AveragePool, OpKind::GlobalAveragePool})  // no transposes around them
      CHECK(find_op(fast.graph(), op)->attrs().get_string_or("layout", "NCHW") == "NHWC");
    const Tensor got = fast.run(in).at("y");
    REQUIRE(got.dims() == want.dims());
    CHECK(std::memcmp(got.raw(), want.raw(), want.nbytes()) == 0);
  }
  // and dequantize_model brings them back to float
  Graph d = dequantize_model(q.graph);
  for (Node* n : d.nodes())
    for (Value* v : n->outputs()) CHECK_MESSAGE(v->dtype() == DType::f32, v->name());
}

TEST_CASE("a static int8 LSTM reads its X as u8 where an int8 form made it, with the same results") {
  // x [B, T, I] → Transpose (time-major) → LSTM: the Transpose moves u8 bytes, the LSTM reads them
  Graph g = test::transposed_lstm();
  std::mt19937 rng(22);
  std::vector<TensorMap> data;
  for (int i = 0; i < 4; ++i) data.push_back({{"x", random_tensor({2, 6, 5}, rng, 1.f)}});
  TensorListSource src(data);
  const Calibration cal = calibrate(g, src);
  QuantizeResult q = static_quantize(g, cal);
  const Node* ql = find_op(q.graph, OpKind::QLSTM);
  REQUIRE(ql);
  CHECK(ql->input(0)->dtype() == DType::u8);
  // the LSTM alone quantizes the float X itself, at the same range: the same bits
  QuantizeOptions lstm_only;
  lstm_only.layers.types = {"lstm"};
  QuantizeResult f = static_quantize(g, cal, lstm_only);
  REQUIRE(find_op(f.graph, OpKind::QLSTM));
  CHECK(find_op(f.graph, OpKind::QLSTM)->input(0)->dtype() == DType::f32);
  const Tensor want = Session(f.graph).run(data[0]).at("y");
  for (int threads : {1, 2}) {
    const Tensor got = Session(q.graph, {.threads = threads}).run(data[0]).at("y");
    REQUIRE(got.dims() == want.dims());
    CHECK(std::memcmp(got.raw(), want.raw(), want.nbytes()) == 0);
  }
  // dequantize_model reads the u8 X through a DequantizeLinear
  CHECK(sqnr_db(Session(g).run(data[0]).at("y"), Session(dequantize_model(q.graph)).run(data[0]).at("y")) > 30);
}
