// Builders for the layers op family.
#include "importers/onnx/builder.h"

namespace mq::onnx {

void register_layer_builders() {}

}  // namespace mq::onnx
