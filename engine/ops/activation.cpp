// Executors for the activation op family.
#include "engine/executor.h"

namespace mq::ops {

void register_activation_exec() {}

}  // namespace mq::ops
