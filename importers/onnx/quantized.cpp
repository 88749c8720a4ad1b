// Builders for ONNX's quantization ops.
#include "importers/onnx/builder.h"

namespace mq::onnx {

void register_quantized_builders() {
  register_builder("QuantizeLinear", [](BuildContext& c) { build_same(c, OpKind::QuantizeLinear); });
  register_builder("DequantizeLinear", [](BuildContext& c) { build_same(c, OpKind::DequantizeLinear); });
  register_builder("DynamicQuantizeLinear",
                   [](BuildContext& c) { build_same(c, OpKind::DynamicQuantizeLinear); });
}

}  // namespace mq::onnx
