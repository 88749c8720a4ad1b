// Executors for the pool_norm op family.
#include "engine/executor.h"

namespace mq::ops {

void register_pool_norm_exec() {}

}  // namespace mq::ops
