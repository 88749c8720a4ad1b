// Executors for the elementwise op family.
#include "engine/executor.h"

namespace mq::ops {

void register_elementwise_exec() {}

}  // namespace mq::ops
