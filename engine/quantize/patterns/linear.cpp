// Pattern "linear": Linear (MatMul / Gemm with a constant weight, as imported) →
// QLinear (static) or DynamicQLinear.
#include "engine/quantize/patterns/patterns.h"
#include "engine/quantize/patterns/weighted_layer.h"

namespace mq::quant {

const Pattern& linear_pattern() {
  static const WeightedPattern p(
      "linear", "Linear / MatMul / Gemm with constant weights: s8 weights, int8 or dynamic activations",
      OpKind::Linear, OpKind::QLinear, OpKind::DynamicQLinear);
  return p;
}

}  // namespace mq::quant
