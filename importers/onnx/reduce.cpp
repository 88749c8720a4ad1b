// Builders for the reduce op family.
#include "importers/onnx/builder.h"

namespace mq::onnx {

void register_reduce_builders() {}

}  // namespace mq::onnx
