// Executors for the shape op family.
#include "engine/executor.h"

namespace mq::ops {

void register_shape_exec() {}

}  // namespace mq::ops
