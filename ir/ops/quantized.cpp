// Inference for the quantized op family.
#include "ir/ops/families.h"

namespace mq::ops {

void register_quantized() {}

}  // namespace mq::ops
