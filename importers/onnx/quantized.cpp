// Builders for the quantized op family.
#include "importers/onnx/builder.h"

namespace mq::onnx {

void register_quantized_builders() {}

}  // namespace mq::onnx
