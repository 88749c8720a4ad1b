// Pattern "concat": Concat of int8 values (at least one operand int8 already). Every operand is brought to the
// output's calibrated scale (an operand already at it is used as it is; another int8 operand is requantized by a
// 256-entry table in the plan; a float operand is quantized), then the bytes are concatenated.
#include "engine/quantize/patterns/patterns.h"

namespace mq::quant {

namespace {
class ConcatPattern final : public Pattern {
 public:
  std::string_view name() const override { return "concat"; }
  std::string_view summary() const override {
    return "Concat with an int8 operand: operands rescaled to one scale";
  }
  bool matches(const Node& n) const override { return n.op() == OpKind::Concat && n.outputs().size() == 1; }
  bool supports(QuantMode mode) const override { return mode == QuantMode::static_quant; }
  std::string ineligible(const Graph&, const Node& n) const override {
    if (n.output(0)->dtype() != DType::f32) return "output is not f32";
    return "";
  }
  void observe(const Graph&, const Node& n, std::set<std::string>& names) const override {
    names.insert(n.output(0)->name());
  }
  bool rewrite(Rewriter& r, Node* n, LayerReport& rep) const override {
    bool any_int8 = false;
    for (Value* v : n->inputs()) any_int8 = any_int8 || (v && r.existing_int8(v));
    Value* y = n->output(0);
    if (!any_int8 || !r.demanded(y)) return false;
    if (!r.calibrated(y)) {
      rep.scheme = "float (not calibrated)";
      return true;
    }
    const QuantParams qp = r.params(y);
    std::vector<Value*> ins;
    for (Value* v : n->inputs()) ins.push_back(v ? r.int8_with(v, qp, n) : nullptr);
    Node* c = r.g.insert_node(n, OpKind::Concat,
                              {.name = r.g.unique_name(n->name() + "_int8"), .inputs = ins, .attrs = n->attrs()});
    c->output(0)->set_quant(qp);
    r.probes.push_back({r.reports.size(), y->name(), c->output(0)->name(), true});
    r.publish_int8(y, c->output(0));
    rep.quantized = true;
    rep.scheme = "static a:" + std::string(dtype_name(qp.qtype));
    return true;
  }
  bool to_float(Graph& g, Node* n) const override {
    if (!matches(*n) || !n->output(0)->type().quant || n->output(0)->dtype() == DType::f32) return false;
    std::vector<Value*> ins;
    for (Value* v : n->inputs()) ins.push_back(float_of(g, v, n));
    Node* f = g.insert_node(n, OpKind::Concat,
                            {.name = g.unique_name(n->name() + "_float"), .inputs = ins, .attrs = n->attrs()});
    requantize_readers(g, n, f);
    return true;
  }
};
}  // namespace

const Pattern& concat_pattern() {
  static const ConcatPattern p;
  return p;
}

}  // namespace mq::quant
