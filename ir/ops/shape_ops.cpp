// Inference for the shape_ops op family.
#include "ir/ops/families.h"

namespace mq::ops {

void register_shape_ops() {}

}  // namespace mq::ops
