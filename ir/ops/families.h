#pragma once
/// One register function per op family file in ir/ops/, plus helpers they share.
#include "ir/infer.h"

namespace mq::ops {

void register_elementwise();   // elementwise.cpp
void register_activation();    // activation.cpp
void register_layers();        // layers.cpp: Linear, Conv2d, MatMul, Gemm, LSTM, GRU, RNN
void register_shape_ops();     // shape_ops.cpp
void register_reduce();        // reduce.cpp
void register_pool_norm();     // pool_norm.cpp
void register_quantized();     // quantized.cpp
void register_control_flow();  // control_flow.cpp: If, Loop, Scan

/// Output 0 = input 0's type (dtype and shape).
void infer_same_as_input0(InferContext& c);
/// Numpy broadcast of every present operand; output dtype = input 0's (or bool if `to_bool`).
void infer_broadcast(InferContext& c, bool to_bool = false);
/// a · b for element counts; ShapeError past a tensor's 2^48 elements (never overflows).
int64_t mul_dims(int64_t a, int64_t b);
/// Reads a constant int64 list operand (e.g. axes); none when absent or not known.
std::optional<std::vector<int64_t>> const_ints(const InferContext& c, size_t i);
/// Output size of one spatial dim of a conv or pooling window (auto_pad NOTSET, VALID,
/// SAME_UPPER or SAME_LOWER); anonymous when `in` is not known. Defined in layers.cpp.
Dim spatial_out_dim(const Dim& in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
                    int64_t pad_end, const std::string& auto_pad, bool ceil_mode);

/// Fails (ShapeError naming `what`) when two dims are both known and differ. In layers.cpp.
void check_dims(const Dim& a, const Dim& b, const char* what);
/// numpy matmul shapes: 1-D operands promoted (and the added dim dropped again), batch dims
/// broadcast (MatMul, QLinearMatMul, MatMulInteger). Defined in layers.cpp.
Shape matmul_shape(const Shape& a, const Shape& b);

/// Conv2d's output shape from x [N,C,H,W] (operand 0), w [M,C/group,kH,kW] (operand 1) and
/// the node's attributes, every attribute checked against the weight. Defined in layers.cpp.
Shape conv2d_shape(const InferContext& c);
/// The same for an input shape `x` given as [N,C,H,W] (e.g. an NHWC input permuted).
Shape conv2d_shape(const InferContext& c, const Shape& x);

}  // namespace mq::ops
