// Patterns "add", "mul" and "activation": elementwise ops whose operands are int8 values run
// between DequantizeLinear and QuantizeLinear nodes; the compiled plan fuses each chain into
// one pass with int8 in and out (a 256-entry table when it reads one int8 tensor: SiLU,
// HardSwish, Sigmoid, ...). A step whose result only other such steps of the same shape read
// stays inside the chain (SiLU's Sigmoid), so a chain is quantized once, at its end.
#include <algorithm>

#include "engine/quantize/patterns/patterns.h"

namespace mq::quant {

namespace {

class ElementwisePattern final : public Pattern {
 public:
  ElementwisePattern(std::string_view name, std::string_view summary, std::vector<OpKind> ops)
      : name_(name), summary_(summary), ops_(std::move(ops)) {}
  std::string_view name() const override { return name_; }
  std::string_view summary() const override { return summary_; }
  bool matches(const Node& n) const override {
    return n.outputs().size() == 1 && std::find(ops_.begin(), ops_.end(), n.op()) != ops_.end();
  }
  bool supports(QuantMode mode) const override { return mode == QuantMode::static_quant; }
  std::string ineligible(const Graph&, const Node& n) const override {
    if (n.output(0)->dtype() != DType::f32) return "output is not f32";
    if (n.op() == OpKind::Clip)
      for (size_t i = 1; i < 3; ++i)
        if (n.input(i) && !n.input(i)->is_constant()) return "Clip bounds are not constants";
    return "";
  }
  void observe(const Graph&, const Node& n, std::set<std::string>& names) const override {
    names.insert(n.output(0)->name());
  }
  bool rewrite(Rewriter& r, Node* n, LayerReport& rep) const override;

 private:
  std::string name_, summary_;
  std::vector<OpKind> ops_;
};

/// True when `u` is an elementwise node a selected pattern quantizes.
bool elementwise_step(const Rewriter& r, const Node& u) {
  const Pattern* p = pattern_for(u);
  return p && (p == &add_pattern() || p == &mul_pattern() || p == &activation_pattern()) && r.o.layers.selects(u) &&
         p->ineligible(r.g, u).empty();
}

/// True when only elementwise steps with an output of `y`'s (static) shape read `y`: the
/// plan computes `y` inside their fused pass, so it needs no quantization of its own.
bool inside_chain(const Rewriter& r, const Value* y) {
  if (r.g.is_output(y) || y->users().empty() || !y->shape().is_static()) return false;
  return std::all_of(y->users().begin(), y->users().end(), [&](const Node* u) {
    return elementwise_step(r, *u) && u->output(0)->shape() == y->shape();
  });
}

bool ElementwisePattern::rewrite(Rewriter& r, Node* n, LayerReport& rep) const {
  // every operand is a constant, an int8 value, or the float result of a step inside the chain
  for (size_t i = 0; i < n->inputs().size(); ++i) {
    Value* v = n->input(i);
    if (!v || v->is_constant() || r.int8_fed.count(v)) continue;
    if (v->dtype() != DType::f32) return false;
    Value* vq = r.existing_int8(v);
    if (!vq) return false;
    // read the shared DequantizeLinear of the int8 value (the plan fuses it into the pass)
    if (!v->producer() || v->producer()->op() != OpKind::DequantizeLinear) {
      Value*& d = r.dequantized[vq];
      if (!d) d = r.dequantize_fresh(vq, n, v->name());
      r.quantized[d] = vq;
      r.g.set_input(n, i, d);
    }
  }
  Value* y = n->output(0);
  if (inside_chain(r, y)) {
    r.int8_fed.insert(y);
    rep.quantized = true;
    rep.scheme = "static (inside an int8 elementwise chain)";
    return true;
  }
  if (!wants_int8(r.g, y, r.o.layers)) return false;  // float readers only: the chain ends in float
  if (!r.calibrated(y)) {
    rep.scheme = "float (not calibrated)";
    return true;
  }
  const QuantParams qp = r.params(y);
  Value* s = r.scalar_const(y->name() + "_scale", qp.scales.at(0));
  Value* z = r.zp_const(y->name() + "_zero_point", qp.zero_points.at(0), qp.qtype);
  Node* q = r.g.insert_node(n, OpKind::QuantizeLinear, {.name = r.g.unique_name(y->name() + "_quantize"), .inputs = {y, s, z}});
  q->output(0)->set_quant(qp);
  r.probes.push_back({r.reports.size(), y->name(), q->output(0)->name(), true});
  r.publish_int8(y, q->output(0), q);
  rep.quantized = true;
  rep.scheme = "static a:" + std::string(dtype_name(qp.qtype));
  return true;
}

}  // namespace

const Pattern& add_pattern() {
  static const ElementwisePattern p("add", "Add / Sub of int8 values (residuals; broadcast): requantized in one pass",
                                    {OpKind::Add, OpKind::Sub});
  return p;
}

const Pattern& mul_pattern() {
  static const ElementwisePattern p("mul", "Mul of int8 values (SiLU's product, squeeze-excitation gates)", {OpKind::Mul});
  return p;
}

const Pattern& activation_pattern() {
  static const ElementwisePattern p(
      "activation", "Sigmoid, Tanh, HardSigmoid, HardSwish, LeakyRelu, Gelu, Erf, Softplus, Relu, Clip on int8 values: a 256-entry table",
      {OpKind::Sigmoid, OpKind::Tanh, OpKind::HardSigmoid, OpKind::HardSwish, OpKind::LeakyRelu, OpKind::Gelu,
       OpKind::Erf, OpKind::Softplus, OpKind::Relu, OpKind::Clip});
  return p;
}

}  // namespace mq::quant
