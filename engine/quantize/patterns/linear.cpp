// Pattern "linear": Linear (MatMul / Gemm with a constant weight, as imported) →
// QLinear (static) or DynamicQLinear.
#include "engine/quantize/patterns/patterns.h"
#include "engine/quantize/patterns/weighted_layer.h"

namespace mq::quant {

namespace {
class LinearPattern final : public Pattern {
 public:
  std::string_view name() const override { return "linear"; }
  std::string_view summary() const override {
    return "Linear / MatMul / Gemm with constant weights: s8 weights, int8 or dynamic activations";
  }
  bool matches(const Node& n) const override { return n.op() == OpKind::Linear; }
  bool supports(QuantMode) const override { return true; }
  bool weighted() const override { return true; }
  std::string ineligible(const Graph&, const Node& n) const override { return weighted_ineligible(n); }
  void observe(const Graph& g, const Node& n, std::set<std::string>& names) const override {
    observe_weighted(g, n, names);
  }
  bool rewrite(Rewriter& r, Node* n, LayerReport& rep) const override {
    rewrite_weighted(r, n, rep);
    return true;
  }
  bool produces(OpKind op) const override { return op == OpKind::QLinear || op == OpKind::DynamicQLinear; }
  bool to_float(Graph& g, Node* n) const override {
    if (!produces(n->op())) return false;
    layer_to_float(g, n, OpKind::Linear);
    return true;
  }
};
}  // namespace

const Pattern& linear_pattern() {
  static const LinearPattern p;
  return p;
}

}  // namespace mq::quant
