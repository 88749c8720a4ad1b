// Builders for the pool_norm op family.
#include "importers/onnx/builder.h"

namespace mq::onnx {

void register_pool_norm_builders() {}

}  // namespace mq::onnx
