// Executors for the reduce op family.
#include "engine/executor.h"

namespace mq::ops {

void register_reduce_exec() {}

}  // namespace mq::ops
