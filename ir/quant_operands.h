#pragma once
/// A quantization as the scale and zero-point operands of QuantizeLinear / DequantizeLinear.
#include "ir/tensor.h"

namespace mq {

/// The scale as a scalar f32 tensor.
Tensor scale_scalar(const QuantParams& q);
/// The zero point as a scalar of q.qtype (u8 or i8).
Tensor zero_point_scalar(const QuantParams& q);
/// The scale operand: per tensor the scalar, per channel one f32 a channel (1-D; the node's
/// `axis` attribute says which).
Tensor scale_operand(const QuantParams& q);
/// The zero-point operand of q.qtype: per tensor the scalar, per channel one a channel.
Tensor zero_point_operand(const QuantParams& q);

}  // namespace mq
