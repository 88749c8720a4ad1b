// QuantizeOptions::int8_outputs: quantizing through to the model's outputs, as ONNX Runtime's
// quantize_static does (a detection head's Sigmoid / Concat / Reshape / Transpose, a
// classifier's Softmax on int8 values), against the default, which keeps the last layers'
// results float.
#include <doctest/doctest.h>

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

}  // namespace

TEST_CASE("int8 outputs: the head's Sigmoid, Concat, Reshape, Transpose and Softmax run on int8 values") {
  Graph g = test::detection_heads();
  TensorListSource src(rows(6, 1));
  const Calibration cal = calibrate(g, src);
  const QuantizeResult def = static_quantize(g, cal, {}, &src);
  QuantizeOptions o;
  o.int8_outputs = true;
  const QuantizeResult q = static_quantize(g, cal, o, &src);

  for (const char* name : {"score", "cat", "flat", "t", "softmax"}) {
    CAPTURE(name);
    CHECK_FALSE(quantized(def, name));  // by default the head runs in float
    CHECK(quantized(q, name));
  }
  for (const char* out : {"boxes", "probs"}) {
    CAPTURE(out);
    const Value* d = def.graph.find_value(out);
    const Value* y = q.graph.find_value(out);
    REQUIRE(d);
    REQUIRE(y);
    CHECK(q.graph.is_output(y));
    CHECK(y->dtype() == DType::f32);
    REQUIRE(y->producer());
    CHECK(y->producer()->op() == OpKind::DequantizeLinear);  // the int8 result, dequantized at the end
    REQUIRE(d->producer());
    CHECK(d->producer()->op() != OpKind::DequantizeLinear);
  }
  // the Transpose moves u8 values, and the classifier's Linear is static (its output int8)
  bool int8_transpose = false;
  for (Node* n : q.graph.nodes())
    int8_transpose |= n->op() == OpKind::Transpose && n->input(0)->dtype() == DType::u8;
  CHECK(int8_transpose);
  CHECK(q.graph.find_node("fc")->op() == OpKind::QLinear);
  // one more rounding on each output: a little less accurate than the default, still close
  CHECK(q.info.model_sqnr_db > 20);
  CHECK(q.info.model_sqnr_db <= def.info.model_sqnr_db + 0.5);
  // the outputs keep their names and types, and a Session runs the model
  const TensorMap in = rows(1, 4)[0];
  const TensorMap a = Session(q.graph).run(in), b = Session(def.graph).run(in);
  for (const char* out : {"boxes", "probs"}) CHECK(a.at(out).dims() == b.at(out).dims());
  // dequantize_model gives back float outputs
  Graph back = dequantize_model(q.graph);
  for (const Value* y : back.outputs()) CHECK(y->dtype() == DType::f32);
}
