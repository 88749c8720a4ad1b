// Inference for the reduce op family.
#include "ir/ops/families.h"

namespace mq::ops {

void register_reduce() {}

}  // namespace mq::ops
