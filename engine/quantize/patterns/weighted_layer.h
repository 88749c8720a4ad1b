#pragma once
/// What the weight-carrying patterns (linear, conv2d, lstm) share: weight quantization,
/// activation fusion, and the way back to float.
#include <optional>
#include <set>
#include <string>

#include "engine/observers/qparams.h"
#include "engine/quantize/patterns/pattern.h"
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

/// The pattern of a Linear or Conv2d layer: `float_op` → `static_op` (static) or `dynamic_op`
/// (dynamic; none: the layer then stays float in dynamic mode).
class WeightedPattern final : public Pattern {
 public:
  WeightedPattern(std::string_view name, std::string_view summary, OpKind float_op, OpKind static_op,
                  std::optional<OpKind> dynamic_op)
      : name_(name), summary_(summary), float_op_(float_op), static_op_(static_op), dynamic_op_(dynamic_op) {}
  std::string_view name() const override { return name_; }
  std::string_view summary() const override { return summary_; }
  bool matches(const Node& n) const override { return n.op() == float_op_; }
  bool supports(QuantMode) const override { return true; }
  bool weighted() const override { return true; }
  std::string ineligible(const Graph&, const Node& n) const override { return weighted_ineligible(n); }
  void observe(const Graph& g, const Node& n, std::set<std::string>& names) const override {
    observe_weighted(g, n, names);
  }
  bool rewrite(Rewriter& r, Node* n, LayerReport& rep) const override;
  bool produces(OpKind op) const override { return op == static_op_ || (dynamic_op_ && op == *dynamic_op_); }
  bool to_float(Graph& g, Node* n) const override;

 private:
  std::string_view name_, summary_;
  OpKind float_op_, static_op_;
  std::optional<OpKind> dynamic_op_;
};

}  // namespace mq::quant
