#pragma once
/// A per-tensor quantization as the scalar operands of QuantizeLinear / DequantizeLinear.
#include "ir/tensor.h"

namespace mq {

/// The scale as a scalar f32 tensor.
Tensor scale_scalar(const QuantParams& q);
/// The zero point as a scalar of q.qtype (u8 or i8).
Tensor zero_point_scalar(const QuantParams& q);

}  // namespace mq
