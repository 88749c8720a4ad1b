// Executors for the quantized op family.
#include "engine/executor.h"

namespace mq::ops {

void register_quantized_exec() {}

}  // namespace mq::ops
