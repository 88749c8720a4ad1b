#pragma once
/// What the weight-carrying patterns (linear, conv2d, lstm) share: weight quantization,
/// activation fusion, and the way back to float.
#include <set>
#include <string>

#include "engine/observers/qparams.h"
#include "engine/quantize/patterns/rewriter.h"

namespace mq::quant {

bool is_f32_const(const Value* v);
/// Why Linear / Conv2d node `n` cannot be quantized, or "".
std::string weighted_ineligible(const Node& n);
/// A Relu / Clip (constant bounds) that alone reads the layer's output, or null.
Node* fusable_activation(const Graph& g, const Node& n);
/// Observes a Linear / Conv2d: its input, its output and its fusable activation's output.
void observe_weighted(const Graph& g, const Node& n, std::set<std::string>& names);
/// s8 symmetric weight quantization, per row of a 2-D view (channel axis 0) or per tensor.
Tensor quantize_weight(const Tensor& w, bool per_channel, bool reduce_range);
/// Rewrites a Linear / Conv2d into QLinear / QConv2d (static) or DynamicQLinear.
void rewrite_weighted(Rewriter& r, Node* n, LayerReport& rep);
/// Replaces quantized layer `n` by float op `fop` with dequantized weights (dequantize_model).
void layer_to_float(Graph& g, Node* n, OpKind fop);

}  // namespace mq::quant
