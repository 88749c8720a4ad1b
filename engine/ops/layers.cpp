// Executors for the layers op family.
#include "engine/executor.h"

namespace mq::ops {

void register_layers_exec() {}

}  // namespace mq::ops
