// Builders for activations.
#include "importers/onnx/builder.h"

namespace mq::onnx {

#define MQ_SAME(op) register_builder(#op, [](BuildContext& c) { build_same(c, OpKind::op); })

void register_activation_builders() {
  MQ_SAME(Relu); MQ_SAME(Sigmoid); MQ_SAME(Tanh); MQ_SAME(Erf);
}

}  // namespace mq::onnx
