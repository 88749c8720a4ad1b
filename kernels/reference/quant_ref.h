// Scalar references of the element-wise quantization kernels (the test oracle).
#pragma once

#include "kernels/quant.h"

namespace mq::kernels::reference {

/// The scalar table; also the `scalar` tier.
const QuantKernels& quant_kernels();

}  // namespace mq::kernels::reference
