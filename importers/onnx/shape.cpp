// Builders for the shape op family.
#include "importers/onnx/builder.h"

namespace mq::onnx {

void register_shape_builders() {}

}  // namespace mq::onnx
