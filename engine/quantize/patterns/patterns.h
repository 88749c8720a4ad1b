#pragma once
/// The patterns of the registry (internal to engine/quantize/patterns/).
#include "engine/quantize/patterns/pattern.h"
#include "engine/quantize/patterns/rewriter.h"

namespace mq::quant {

const Pattern& linear_pattern();
const Pattern& conv2d_pattern();
const Pattern& lstm_pattern();
const Pattern& matmul_pattern();
const Pattern& add_pattern();
const Pattern& mul_pattern();
const Pattern& activation_pattern();
const Pattern& arithmetic_pattern();
const Pattern& reduce_pattern();
const Pattern& concat_pattern();
const Pattern& data_movement_pattern();
const Pattern& average_pattern();

/// True when node `u` continues an int8 elementwise chain, keeping its operands float inside
/// the chain's pass: an elementwise step a selected pattern quantizes, or a Reshape / Squeeze
/// / Unsqueeze / Flatten / Identity whose readers all continue the chain.
bool continues_chain(const Rewriter& r, const Node& u, int depth = 0);

/// A new QuantizeLinear (op) or DequantizeLinear of `x` with `q` (per tensor: scalar scale and
/// zero point; per channel: one of each per channel and the `axis` attribute) before `before`.
Node* insert_quant_node(Graph& g, OpKind op, Value* x, const QuantParams& q, Node* before,
                        const std::string& name);
/// Where a per-channel quantization's axis lands when data-movement node `n` (Reshape,
/// Flatten, Squeeze, Unsqueeze, Identity, Transpose) moves its input: the output axis that
/// holds the input's `axis` whole with everything before it unchanged, or -1 (the channels are
/// merged or split, or a shape is not static).
int64_t moved_axis(const Node& n, int64_t axis);
/// True for the ops that move an output's elements into place without computing:
/// Reshape, Flatten, Squeeze, Unsqueeze, Identity, Transpose.
bool reshapes_or_transposes(const Node& n);

/// The float value behind int8 value `v`: the input of the QuantizeLinear that made it, or a
/// new DequantizeLinear of it before `before` (dequantize_model).
Value* float_of(Graph& g, Value* v, Node* before);
/// Replaces int8 node `n` by float node `f` computing the same values (dequantize_model):
/// n's DequantizeLinear readers read f's outputs, other readers a QuantizeLinear of them.
void requantize_readers(Graph& g, Node* n, Node* f);

}  // namespace mq::quant
