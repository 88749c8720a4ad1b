// How far quantization reaches into the ops that assemble a model's outputs (a detection
// head's Sigmoid / Concat / Reshape / Transpose, a classifier's Softmax): by default they run on
// int8 values as in ONNX Runtime's quantize_static, a Concat keeping each operand's scale per
// channel, while a layer or elementwise op writing an output gives a float result;
// QuantizeOptions::int8_outputs quantizes every output; float_output_assembly keeps the
// assembly float.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "engine/api.h"
#include "engine/quantize.h"
#include "engine/session.h"
#include "head_blocks.h"

using namespace mq;

namespace {

std::vector<TensorMap> rows(int n, uint32_t seed) { return test::head_rows({2, 4, 6, 6}, n, seed); }

bool quantized(const QuantizeResult& q, const std::string& name) {
  for (const LayerReport& l : q.info.layers)
    if (l.name == name) return l.quantized;
  return false;
}

const QuantParams& quant_of(const Value* v) {
  REQUIRE(v);
  REQUIRE(v->type().quant);
  return *v->type().quant;
}

/// SQNR (dB) of channels [c0, c1) of the last axis of `a` against `ref`.
double channel_sqnr(const Tensor& a, const Tensor& ref, int64_t c0, int64_t c1) {
  const int64_t c = ref.dims().back();
  double sig = 0, err = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    if (i % c < c0 || i % c >= c1) continue;
    const double r = ref.data<float>()[i], d = a.data<float>()[i] - r;
    sig += r * r;
    err += d * d;
  }
  return 10 * std::log10(sig / std::max(err, 1e-30));
}

/// `g` quantized with default options and with float_output_assembly, calibrated on 6 rows.
struct DefaultAndFloat {
  QuantizeResult def, flt;
};
DefaultAndFloat default_and_float(const Graph& g, uint32_t seed) {
  TensorListSource src(rows(6, seed));
  const Calibration cal = calibrate(g, src);
  QuantizeOptions fo;
  fo.float_output_assembly = true;
  return {static_quantize(g, cal, {}, &src), static_quantize(g, cal, fo, &src)};
}

}  // namespace

TEST_CASE("output assembly: int8 by default (per-channel Concat), float on request, int8 outputs throughout") {
  Graph g = test::detection_heads();
  TensorListSource src(rows(6, 1));
  const Calibration cal = calibrate(g, src);
  const QuantizeResult def = static_quantize(g, cal, {}, &src);
  QuantizeOptions fo;
  fo.float_output_assembly = true;
  const QuantizeResult flt = static_quantize(g, cal, fo, &src);
  QuantizeOptions o;
  o.int8_outputs = true;
  const QuantizeResult q = static_quantize(g, cal, o, &src);

  for (const char* name : {"score", "cat", "flat", "t", "softmax"}) {
    CAPTURE(name);
    CHECK_FALSE(quantized(flt, name));  // on request the head runs in float
    CHECK(quantized(def, name));
    CHECK(quantized(q, name));
  }
  for (const char* out : {"boxes", "probs"}) {
    CAPTURE(out);
    const Value* f = flt.graph.find_value(out);
    const Value* y = q.graph.find_value(out);
    REQUIRE(f);
    REQUIRE(y);
    CHECK(q.graph.is_output(y));
    CHECK(y->dtype() == DType::f32);
    REQUIRE(y->producer());
    CHECK(y->producer()->op() == OpKind::DequantizeLinear);  // the int8 result, dequantized at the end
    REQUIRE(f->producer());
    CHECK(f->producer()->op() != OpKind::DequantizeLinear);
  }
  // by default the Transpose's int8 result is dequantized; the Softmax reads int8 logits (the
  // classifier's Linear is static) and gives float probabilities itself
  const Value* boxes = def.graph.find_value("boxes");
  const Value* probs = def.graph.find_value("probs");
  REQUIRE(boxes);
  REQUIRE(probs);
  REQUIRE(boxes->producer());
  REQUIRE(probs->producer());
  CHECK(boxes->producer()->op() == OpKind::DequantizeLinear);
  CHECK(probs->producer()->op() != OpKind::DequantizeLinear);
  CHECK(def.graph.find_node("fc")->op() == OpKind::QLinear);
  // the Concat keeps the boxes' and the scores' scales side by side (per channel along its
  // axis); the Transpose moves that axis to the last, where the output is dequantized
  const Node* cat = def.graph.find_node("cat_int8");
  REQUIRE(cat);
  const QuantParams& cq = quant_of(cat->output(0));
  REQUIRE(cq.axis);
  CHECK(*cq.axis == 1);
  REQUIRE(cq.scales.size() == 6);
  CHECK(cq.scales[0] == quant_of(cat->input(0)).scales[0]);
  CHECK(cq.scales[4] == quant_of(cat->input(1)).scales[0]);
  CHECK(cq.scales[0] != cq.scales[4]);
  const QuantParams& oq = quant_of(boxes->producer()->input(0));
  REQUIRE(oq.axis);
  CHECK(*oq.axis == 2);
  CHECK(oq.scales == cq.scales);
  // accuracy: the scores keep their own 8-bit grid (a shared scale would round them to the
  // boxes' coarser steps); one more rounding on each output than the float assembly, close to it
  const TensorMap in = rows(1, 4)[0];
  const TensorMap ref = Session(g).run(in);
  const TensorMap a = Session(def.graph).run(in), b = Session(flt.graph).run(in), c = Session(q.graph).run(in);
  CHECK(channel_sqnr(a.at("boxes"), ref.at("boxes"), 4, 6) >
        channel_sqnr(b.at("boxes"), ref.at("boxes"), 4, 6) - 1);
  CHECK(channel_sqnr(c.at("boxes"), ref.at("boxes"), 4, 6) >
        channel_sqnr(b.at("boxes"), ref.at("boxes"), 4, 6) - 1);
  CHECK(def.info.model_sqnr_db > 20);
  CHECK(def.info.model_sqnr_db <= flt.info.model_sqnr_db + 0.5);
  CHECK(q.info.model_sqnr_db <= def.info.model_sqnr_db + 0.5);
  // the outputs keep their names and types, and a Session runs the model
  for (const char* out : {"boxes", "probs"}) {
    CHECK(a.at(out).dims() == b.at(out).dims());
    CHECK(c.at(out).dims() == b.at(out).dims());
  }
  // dequantize_model gives back float outputs
  for (const QuantizeResult* r : {&def, &q}) {
    Graph back = dequantize_model(r->graph);
    for (const Value* y : back.outputs()) CHECK(y->dtype() == DType::f32);
    const TensorMap d = Session(back).run(in);
    CHECK(d.at("boxes").dims() == ref.at("boxes").dims());
  }
}

TEST_CASE("output assembly: the accuracy-driven fallback returns its ops to float like any other") {
  Graph g = test::detection_heads();
  TensorListSource src(rows(6, 2));
  const Calibration cal = calibrate(g, src);
  QuantizeOptions o;
  o.on_failure = OnFailure::warn;
  const QuantizeResult plain = static_quantize(g, cal, o, &src);
  o.min_sqnr_db = plain.info.model_sqnr_db + 3;
  const QuantizeResult fb = static_quantize(g, cal, o, &src);
  CHECK_FALSE(fb.info.fallback_layers.empty());
  CHECK(fb.info.model_sqnr_db > plain.info.model_sqnr_db);
  const TensorMap in = rows(1, 5)[0];
  const TensorMap a = Session(fb.graph).run(in), ref = Session(g).run(in);
  for (const char* out : {"boxes", "probs"}) CHECK(a.at(out).dims() == ref.at(out).dims());
}

TEST_CASE("output assembly: a float value it reads is not quantized just to be moved") {
  Graph g = test::detection_heads();
  TensorListSource src(rows(6, 3));
  const Calibration cal = calibrate(g, src);
  QuantizeOptions o;
  o.layers.exclude = {"cat"};  // the Concat stays float: the Reshape and Transpose after it too
  const QuantizeResult q = static_quantize(g, cal, o, &src);
  CHECK_FALSE(quantized(q, "cat"));
  CHECK_FALSE(quantized(q, "flat"));
  CHECK_FALSE(quantized(q, "t"));
  for (const Node* n : q.graph.nodes())
    if (n->op() == OpKind::Transpose || n->op() == OpKind::Reshape) CHECK(n->input(0)->dtype() == DType::f32);
}

TEST_CASE("output assembly: levels joined along another axis keep each channel's widest range") {
  Graph g = test::two_level_head();
  const auto [def, flt] = default_and_float(g, 6);
  const Node* levels = def.graph.find_node("levels_int8");
  REQUIRE(levels);
  const QuantParams& lq = quant_of(levels->output(0));
  REQUIRE(lq.axis);
  CHECK(*lq.axis == 1);  // the channel axis of the per-level Concats, kept through their Reshapes
  REQUIRE(lq.scales.size() == 6);
  // each channel's scale holds both levels' ranges; the scores' channels are finer than the boxes'
  for (int l = 0; l < 2; ++l) {
    const QuantParams& cq = quant_of(def.graph.find_node("cat" + std::to_string(l) + "_int8")->output(0));
    REQUIRE(cq.scales.size() == 6);
    for (size_t c = 0; c < 6; ++c) CHECK(lq.scales[c] >= cq.scales[c] * 0.999f);
  }
  CHECK(lq.scales[4] < lq.scales[0]);
  const TensorMap in = rows(1, 7)[0];
  const TensorMap ref = Session(g).run(in), a = Session(def.graph).run(in), b = Session(flt.graph).run(in);
  CHECK(channel_sqnr(a.at("dets"), ref.at("dets"), 4, 6) > channel_sqnr(b.at("dets"), ref.at("dets"), 4, 6) - 1);
  CHECK(channel_sqnr(a.at("dets"), ref.at("dets"), 0, 4) > 25);
}
