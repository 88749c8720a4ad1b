// Inference for the pool_norm op family.
#include "ir/ops/families.h"

namespace mq::ops {

void register_pool_norm() {}

}  // namespace mq::ops
