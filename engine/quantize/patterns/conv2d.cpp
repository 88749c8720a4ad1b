// Pattern "conv2d": Conv2d → QConv2d (static; NHWC int8 in the compiled plan). No dynamic form.
#include "engine/quantize/patterns/patterns.h"
#include "engine/quantize/patterns/weighted_layer.h"

namespace mq::quant {

const Pattern& conv2d_pattern() {
  static const WeightedPattern p("conv2d", "2-D convolutions (groups, depthwise): s8 weights, int8 activations",
                                 OpKind::Conv2d, OpKind::QConv2d, std::nullopt);
  return p;
}

}  // namespace mq::quant
