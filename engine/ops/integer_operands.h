#pragma once
/// Operands of ONNX's integer ops (MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv) in
/// the form the u8 × s8 int8 kernels take. Every type pair reduces to u8 × s8 exactly:
///
///   Σ (x − x_zp)(w − w_zp[m]) = Σ (x' − x_zp') · w8 + d[m] · Σ (x' − x_zp')
///
/// with x' = x ⊕ 0x80 and x_zp' = x_zp + 128 for s8 x (x itself for u8), w8 = w − 128 for u8 w
/// (w itself for s8) and d[m] = 128·[w is u8] − w_zp[m]. The kernels compute the first term;
/// the second (the row or window sum of x' − x_zp', times d per output channel) is added
/// after them. int32 arithmetic wraps, as the ONNX ops define.
#include <cstdint>
#include <vector>

#include "engine/executor.h"
#include "kernels/int8/integer_ops.h"

namespace mq::ops {

using kernels::Int8Type;

/// u8 or s8 operand type (anything else is an error naming the node).
Int8Type int8_type(const ExecContext& c, const Tensor& t);

/// Zero points of operand i as int32 (empty when absent).
std::vector<int32_t> zero_points(const ExecContext& c, size_t i);

/// Scales of operand i (each positive and finite).
std::vector<float> scales(const ExecContext& c, size_t i);

/// Checks a per-tensor-or-per-index parameter's size; returns its stride (0 or 1).
size_t param_stride(const ExecContext& c, size_t count, int64_t n, const char* what);

/// d[m] for m output channels: 128·[w is u8] − w_zp[m · zp_stride] (zp null: 0). Empty when
/// every d is 0 (no correction needed).
std::vector<int32_t> weight_offsets(Int8Type wt, const int32_t* zp, size_t zp_stride, size_t m);

/// w8 of one weight byte: w − 128 for u8 weights, w for s8.
inline int8_t weight_s8(Int8Type wt, uint8_t byte) {
  return wt == Int8Type::u8 ? int8_t(int32_t(byte) - 128) : int8_t(byte);
}

/// x' of one activation byte: x ⊕ 0x80 for s8 activations, x for u8.
inline uint8_t activation_u8(Int8Type xt, uint8_t byte) {
  return xt == Int8Type::s8 ? uint8_t(byte ^ 0x80) : byte;
}

/// x_zp' of an activation zero point.
inline int32_t activation_zp_u8(Int8Type xt, int32_t zp) { return xt == Int8Type::s8 ? zp + 128 : zp; }

void register_integer_matmul_exec();
void register_integer_conv_exec();

}  // namespace mq::ops
