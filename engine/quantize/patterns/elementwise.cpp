// Patterns "add", "mul", "activation", "arithmetic" and "reduce": elementwise ops (and the
// reductions of a LayerNorm written out) whose operands are int8 values run between
// DequantizeLinear and QuantizeLinear nodes; the compiled plan fuses each elementwise chain
// into one pass with int8 in and out (a 256-entry table when it reads one int8 tensor: SiLU,
// HardSwish, Sigmoid, GELU, ...). A step's result is quantized only where an int8 op that is
// not itself a step (a layer, Concat, a data-movement op) reads it; results other steps read
// stay float inside the chain, so a chain is quantized once, at its end (a LayerNorm's mean
// and variance are never rounded to 8 bits).
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
  return (p == &add_pattern() || p == &mul_pattern() || p == &activation_pattern() || p == &arithmetic_pattern() ||
          p == &reduce_pattern()) &&
         r.eligible(u);
}

}  // namespace

bool continues_chain(const Rewriter& r, const Node& u, int depth) {
  if (elementwise_step(r, u)) return true;
  // an op that only reshapes (a LayerNorm's Reshape of its statistics) between steps; ops that
  // copy or select (Transpose, Slice, pools) read the chain's result as int8: a quarter of the bytes
  const bool reshapes = u.op() == OpKind::Reshape || u.op() == OpKind::Squeeze || u.op() == OpKind::Unsqueeze ||
                        u.op() == OpKind::Flatten || u.op() == OpKind::Identity;
  if (depth > 8 || !reshapes || pattern_for(u) != &data_movement_pattern() || !r.eligible(u)) return false;
  for (const Value* y : u.outputs()) {
    if (!y) continue;
    if (r.g.is_output(y) || y->users().empty()) return false;
    for (const Node* w : y->users())
      if (!continues_chain(r, *w, depth + 1)) return false;
  }
  return true;
}

namespace {

/// How `y`'s readers use it: some quantized op that is not an elementwise step (a layer,
/// Concat, a data-movement op) wants it int8; some elementwise step continues the chain.
struct Readers {
  bool int8_op = false, chain = false;
};
Readers readers_of(const Rewriter& r, const Value* y) {
  Readers k;
  for (const Node* u : y->users()) {
    if (continues_chain(r, *u)) k.chain = true;
    else if (r.eligible(*u) && r.reads_int8(*u, y)) k.int8_op = true;
  }
  return k;
}

bool ElementwisePattern::rewrite(Rewriter& r, Node* n, LayerReport& rep) const {
  // only where an int8 consumer downstream reads the chain's result (else the chain stays
  // float: quantizing its operands would add error for nothing)
  Value* y = n->output(0);
  if (!r.demanded(y)) return false;
  // every operand is a constant, an int8 value, or the float result of a step inside the chain
  // (operands that are not f32 are shapes or axes: Expand's target shape, a Reduce's axes)
  for (Value* v : n->inputs()) {
    if (!v || v->is_constant() || r.int8_fed.count(v) || v->dtype() != DType::f32) continue;
    if (!r.existing_int8(v)) return false;
  }
  // read the shared DequantizeLinear of each int8 operand (the plan fuses it into the pass)
  for (size_t i = 0; i < n->inputs().size(); ++i) {
    Value* v = n->input(i);
    if (!v || v->is_constant() || r.int8_fed.count(v) || v->dtype() != DType::f32) continue;
    if (v->producer() && v->producer()->op() == OpKind::DequantizeLinear) continue;
    Value* vq = r.existing_int8(v);
    Value*& d = r.dequantized[vq];
    if (!d) d = r.dequantize_fresh(vq, n, v->name());
    r.quantized[d] = vq;
    r.g.set_input(n, i, d);
  }
  // A chain is quantized once, where an int8 op reads it: its steps in between stay float
  // inside the plan's fused pass (a GELU or SiLU written out is not rounded at every step).
  const Readers k = readers_of(r, y);
  const bool int8_output = r.o.int8_outputs && r.g.is_output(y);  // an output the options make int8
  if (!int8_output && (!k.int8_op || r.g.is_output(y))) {
    r.int8_fed.insert(y);
    rep.quantized = true;
    rep.scheme = "static (inside an int8 elementwise chain)";
    return true;
  }
  if (!r.calibrated(y)) {
    rep.scheme = "float (not calibrated)";
    return true;
  }
  const QuantParams qp = r.params(y);
  Value* yq = r.quantize(y, qp, n, y->name());
  r.probes.push_back({r.reports.size(), y->name(), yq->name(), true});
  r.publish_int8(y, yq);
  rep.quantized = true;
  rep.scheme = "static a:" + std::string(dtype_name(qp.qtype));
  return true;
}

}  // namespace

const Pattern& add_pattern() {
  static const ElementwisePattern p("add",
                                    "Add / Sub of int8 values (residuals; broadcast): requantized in one pass",
                                    {OpKind::Add, OpKind::Sub});
  return p;
}

const Pattern& mul_pattern() {
  static const ElementwisePattern p("mul", "Mul of int8 values (SiLU's product, squeeze-excitation gates)",
                                    {OpKind::Mul});
  return p;
}

const Pattern& activation_pattern() {
  static const ElementwisePattern p(
      "activation",
      "Sigmoid, Tanh, HardSigmoid, HardSwish, LeakyRelu, Gelu, Erf, Softplus, Relu, Clip on int8 values: a "
      "256-entry table",
      {OpKind::Sigmoid, OpKind::Tanh, OpKind::HardSigmoid, OpKind::HardSwish, OpKind::LeakyRelu, OpKind::Gelu,
       OpKind::Erf, OpKind::Softplus, OpKind::Relu, OpKind::Clip});
  return p;
}

const Pattern& arithmetic_pattern() {
  static const ElementwisePattern p(
      "arithmetic",
      "Div, Max, Min, Pow, Sqrt, Reciprocal, Exp, Neg, Abs, Expand on int8 values (LayerNorm and softmax "
      "arithmetic written out): float inside the chain, quantized once where an int8 op reads its result",
      {OpKind::Div, OpKind::Max, OpKind::Min, OpKind::Pow, OpKind::Sqrt, OpKind::Reciprocal, OpKind::Exp,
       OpKind::Neg, OpKind::Abs, OpKind::Expand});
  return p;
}

const Pattern& reduce_pattern() {
  static const ElementwisePattern p(
      "reduce",
      "ReduceSum, ReduceMean, ReduceMax, ReduceMin, Softmax of int8 values (a LayerNorm's statistics, "
      "attention or classifier probabilities): float inside the chain, quantized once where an int8 op reads "
      "its result",
      {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax, OpKind::ReduceMin, OpKind::Softmax});
  return p;
}

}  // namespace mq::quant
