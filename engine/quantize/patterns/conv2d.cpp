// Pattern "conv2d": Conv2d → QConv2d (static; NHWC int8 in the compiled plan).
#include "engine/quantize/patterns/patterns.h"
#include "engine/quantize/patterns/weighted_layer.h"

namespace mq::quant {

namespace {
class Conv2dPattern final : public Pattern {
 public:
  std::string_view name() const override { return "conv2d"; }
  std::string_view summary() const override {
    return "2-D convolutions (groups, depthwise): s8 weights, int8 activations";
  }
  bool matches(const Node& n) const override { return n.op() == OpKind::Conv2d; }
  bool supports(QuantMode) const override { return true; }
  bool weighted() const override { return true; }
  std::string ineligible(const Graph&, const Node& n) const override { return weighted_ineligible(n); }
  void observe(const Graph& g, const Node& n, std::set<std::string>& names) const override {
    observe_weighted(g, n, names);
  }
  bool rewrite(Rewriter& r, Node* n, LayerReport& rep) const override {
    if (r.o.mode == QuantMode::dynamic_quant) rep.scheme = "float (dynamic Conv2d is not supported)";
    else rewrite_weighted(r, n, rep);
    return true;
  }
  bool produces(OpKind op) const override { return op == OpKind::QConv2d; }
  bool to_float(Graph& g, Node* n) const override {
    if (!produces(n->op())) return false;
    layer_to_float(g, n, OpKind::Conv2d);
    return true;
  }
};
}  // namespace

const Pattern& conv2d_pattern() {
  static const Conv2dPattern p;
  return p;
}

}  // namespace mq::quant
