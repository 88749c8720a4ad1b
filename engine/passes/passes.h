#pragma once
/// Graph passes that compute (they evaluate ops with the engine's executors).
#include "ir/graph.h"

namespace mq::passes {

/// Replaces every node whose operands are all constants by constants (this covers shape
/// subgraphs such as Shape→Gather→Concat→Reshape once input shapes are static), and Shape
/// nodes whose input shape is static.
void fold_constants(Graph& g);
/// Folds BatchNormalization (inference form) into a preceding Conv2d or Linear whose output
/// has no other reader.
void fold_batch_norm(Graph& g);
/// MatMul with a constant 2-D weight → Linear; a constant per-channel Add after a Linear or
/// Conv2d → its bias.
void fuse_layers(Graph& g);
/// QDQ models: DequantizeLinear → Conv2d / Gemm / MatMul (int8 weights) → [Relu] →
/// QuantizeLinear becomes a QConv2d / QLinear with the file's scales and zero points. Returns
/// how many were fused.
int fuse_qdq(Graph& g);
/// Dynamically quantized MatMuls (DynamicQuantizeLinear → MatMulInteger → Cast → Mul by the
/// scales' product [→ Add of a bias], as ONNX Runtime's quantize_dynamic writes them) become
/// DynamicQLinear: the same arithmetic in one step. Returns how many were fused.
int fuse_dynamic_matmul(Graph& g);

}  // namespace mq::passes
