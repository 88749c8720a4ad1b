// The shared state of a quantization rewrite and the loop that runs the patterns.
#include "engine/quantize/patterns/rewriter.h"

#include <algorithm>

#include "engine/quantize/patterns/patterns.h"
#include "ir/quant_operands.h"

namespace mq::quant {

QuantScheme Rewriter::activation_scheme() const {
  return {o.activation_type, o.symmetric_activations, false, QuantConvention::pytorch};
}

Value* Rewriter::scalar_const(const std::string& name, float v) {
  return g.add_constant(g.unique_name(name), Tensor::scalar<float>(v));
}

Value* Rewriter::zp_const(const std::string& name, int32_t zp, DType type) {
  return g.add_constant(g.unique_name(name), zero_point_scalar(QuantParams{{1.f}, {zp}, std::nullopt, type}));
}

bool Rewriter::int8_assembly() const {
  return o.mode == QuantMode::static_quant && (o.int8_outputs || !o.float_output_assembly);
}

QuantParams Rewriter::params(const Value* x) const { return cal->params(x->name(), activation_scheme()); }

Value* Rewriter::existing_int8(const Value* x) const {
  if (auto it = quantized.find(x); it != quantized.end()) return it->second;
  Node* p = x->producer();
  if (p && p->op() == OpKind::DequantizeLinear && p->input(0)) {
    const auto& q = p->input(0)->type().quant;
    if (q && !q->per_channel()) return p->input(0);
  }
  return nullptr;
}

Value* Rewriter::quantize(Value* x, const QuantParams& qp, Node* before, const std::string& hint) {
  return insert_quant_node(g, OpKind::QuantizeLinear, x, qp, before, hint)->output(0);
}

bool Rewriter::eligible(const Node& n) const {
  const Pattern* p = pattern_for(n);
  return p && p->supports(o.mode) && o.layers.selects(n) && p->ineligible(g, n).empty();
}

bool Rewriter::float_output_linear(const Node& n) const {
  return o.mode == QuantMode::static_quant && !o.static_float_outputs && !o.int8_outputs &&
         pattern_for(n) == &linear_pattern() && n.output(0) && layer_demand_known &&
         !layer_demand.count(n.output(0));
}

bool Rewriter::int8_supplied(const Value* v) const {
  if (!v || v->is_constant() || v->dtype() != DType::f32) return false;
  if (auto it = supplied.find(v); it != supplied.end()) return it->second;
  supplied[v] = false;  // while deciding
  bool s = false;
  const Node* p = v->producer();
  const Pattern* pp = p ? pattern_for(*p) : nullptr;
  if (p && p->op() == OpKind::DequantizeLinear) {
    s = existing_int8(v) != nullptr;
  } else if (pp && eligible(*p)) {
    if (pp == &linear_pattern() || pp == &conv2d_pattern()) {
      s = !float_output_linear(*p);
    } else if (!pp->weighted() && pp != &matmul_pattern()) {
      // an int8 form: every float operand that is not a constant comes from int8 values
      size_t data = 0;
      s = true;
      for (const Value* x : p->inputs()) {
        if (!x || x->is_constant() || x->dtype() != DType::f32) continue;
        ++data;
        s = s && int8_supplied(x);
      }
      s = s && data > 0;
    }
  }
  supplied[v] = s;
  return s;
}

bool Rewriter::reads_int8(const Node& u, const Value* v) const {
  const Pattern* p = pattern_for(u);
  if (!p || !v || v->is_constant()) return false;
  if (p == &linear_pattern() || p == &conv2d_pattern())
    return u.input(0) == v && (!float_output_linear(u) || int8_supplied(v));
  if (p == &matmul_pattern()) return u.input(0) == v || u.input(1) == v;
  // the static int8 LSTM takes a u8 X at its calibrated range (the value it would quantize)
  if (p == &lstm_pattern())
    return u.input(0) == v && o.mode == QuantMode::static_quant && activation_scheme().qtype == DType::u8;
  // an exponential amplifies its input's rounding (attention scores, a softmax written out as
  // ReduceMax → Sub → Exp → ReduceSum → Div stay float): Softmax and Exp read int8 only when
  // the options quantize through to the outputs, as ONNX Runtime does, and a Softmax writing
  // an output (a classifier's probabilities) when the outputs' assembly is int8 (its result
  // stays float)
  if ((u.op() == OpKind::Softmax || u.op() == OpKind::Exp) && !o.int8_outputs &&
      !(u.op() == OpKind::Softmax && int8_assembly() && g.is_output(u.output(0))))
    return false;
  return !p->weighted() &&
         std::any_of(u.outputs().begin(), u.outputs().end(), [&](const Value* y) { return y && demanded(y); });
}

Value* Rewriter::int8_input(Value* x, Node* before) {
  if (Value* v = existing_int8(x)) return v;
  Value* q = quantize(x, params(x), before, x->name());
  quantized[x] = q;
  return q;
}

Value* Rewriter::int8_with(Value* x, const QuantParams& qp, Node* before) {
  Value* xq = existing_int8(x);
  if (xq && xq->type().quant && *xq->type().quant == qp) return xq;
  // requantize an int8 value through its own DequantizeLinear (the plan makes the pair one
  // 256-entry table), else quantize the float value
  Value* src = xq ? dequantize_fresh(xq, before, x->name()) : x;
  return quantize(src, qp, before, x->name() + "_requant");
}

Value* Rewriter::dequantize_fresh(Value* xq, Node* before, const std::string& hint) {
  QuantParams qp = *xq->type().quant;
  qp.qtype = xq->dtype();
  return insert_quant_node(g, OpKind::DequantizeLinear, xq, qp, before, hint)->output(0);
}

void Rewriter::remove(Node* n) {
  removed.insert(n);
  g.remove_node(n);
}

void Rewriter::replace_outputs(Node* old, Node* fresh, Node* act) {
  // keep value and node names stable for users (graph outputs, layer selection)
  std::vector<std::string> names;
  Node* last = act ? act : old;
  for (Value* v : last->outputs()) names.push_back(v->name());
  for (size_t i = 0; i < last->outputs().size() && i < fresh->outputs().size(); ++i)
    g.replace_all_uses(last->output(i), fresh->output(i));
  if (act) remove(act);
  // the layer's own outputs may still be read (by nothing else when fused)
  for (Value* v : old->outputs())
    if (!v->users().empty()) return;
  remove(old);
  for (size_t i = 0; i < fresh->outputs().size() && i < names.size(); ++i)
    if (!g.find_value(names[i])) g.rename_value(fresh->output(i), names[i]);
}

namespace {

/// True when output `y` is written by an op whose int8 form ONNX Runtime's quantize_static
/// runs too and that only assembles or maps values: Concat, a data-movement op, a Sigmoid-like
/// activation or Softmax (not Relu / Clip, which a layer takes into its epilogue, nor an Add,
/// which may be a layer's bias).
bool assembles_output(const Rewriter& r, const Value* y) {
  const Node* p = y->producer();
  if (!p || !r.eligible(*p)) return false;
  const Pattern* pp = pattern_for(*p);
  if (pp == &activation_pattern()) return p->op() != OpKind::Relu && p->op() != OpKind::Clip;
  return pp == &concat_pattern() || pp == &data_movement_pattern() ||
         (pp == &reduce_pattern() && p->op() == OpKind::Softmax);
}

}  // namespace

void Rewriter::find_assembled() {
  if (o.mode != QuantMode::static_quant) return;
  const std::vector<Node*> order = g.nodes();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    for (const Value* v : (*it)->outputs()) {
      if (!v || v->dtype() != DType::f32 || (v->users().empty() && !g.is_output(v))) continue;
      const bool only_assembled = std::all_of(v->users().begin(), v->users().end(), [&](const Node* u) {
        if (!eligible(*u) || (u->op() != OpKind::Concat && !reshapes_or_transposes(*u))) return false;
        if (u->op() != OpKind::Concat && u->input(0) != v) return false;  // a shape operand
        return std::all_of(u->outputs().begin(), u->outputs().end(),
                           [&](const Value* w) { return w && assembled.count(w); });
      });
      if (only_assembled) assembled.insert(v);
    }
  }
}

void Rewriter::run() {
  // Visited in execution order, so a node's producers are rewritten before it; nodes a
  // pattern removes (a fused activation) are skipped.
  const std::vector<Node*> order = g.nodes();
  const size_t first_probe = probes.size();
  // which values an int8 layer downstream would read as int8 (from the readers back): first
  // with every Linear reading int8, then with the Linears no quantized layer reads taking
  // the dynamic form (float_output_linear)
  find_assembled();
  for (int pass = 0; pass < 2; ++pass) {
    // the outputs computed on int8 values: all with int8_outputs, else those an int8 form assembles
    if (int8_assembly())
      for (const Value* y : g.outputs())
        if (y && y->dtype() == DType::f32 && (o.int8_outputs || assembles_output(*this, y))) {
          demand.insert(y);
          int8_computed_outputs.insert(y);
        }
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      const Node* u = *it;
      if (!eligible(*u)) continue;
      for (const Value* v : u->inputs())
        if (reads_int8(*u, v)) demand.insert(v);
    }
    if (pass == 0) {
      layer_demand.swap(demand);
      layer_demand_known = true;
    }
  }
  for (Node* n : order) {
    if (removed.count(n)) continue;
    const Pattern* p = pattern_for(*n);
    if (!p || !p->supports(o.mode)) continue;
    LayerReport rep;
    rep.name = n->name();
    rep.type = std::string(n->op_name());
    rep.pattern = std::string(p->name());
    bool report = p->weighted();  // weight layers are always reported; int8 forms when quantized
    if (!o.layers.selects(*n)) {
      rep.scheme = "float (not selected)";
    } else if (std::string why = p->ineligible(g, *n); !why.empty()) {
      rep.scheme = "float (" + why + ")";
    } else {
      report = p->rewrite(*this, n, rep);
    }
    if (report) reports.push_back(rep);
  }
  // each output computed on int8 values is its int8 version dequantized
  for (size_t i = 0; i < g.outputs().size(); ++i) {
    Value* y = g.outputs()[i];
    if (!int8_computed_outputs.count(y)) continue;
    auto it = quantized.find(y);
    if (it == quantized.end() || (y->producer() && y->producer()->op() == OpKind::DequantizeLinear)) continue;
    Value* d = dequantize_fresh(it->second, nullptr, y->name());
    const std::string name = y->name();
    g.rename_value(y, g.unique_name(name + "_float"));
    g.rename_value(d, name);
    g.set_output(i, d);
  }
  g.remove_unused();
  // an int8 result no int8 reader took in the end (its reader stayed float) is gone again
  for (size_t i = first_probe; i < probes.size();) {
    if (!probes[i].dequantize || g.find_value(probes[i].quant_value)) {
      ++i;
      continue;
    }
    LayerReport& rep = reports.at(probes[i].report);
    rep.quantized = false;
    rep.scheme = "float (no int8 reader)";
    probes.erase(probes.begin() + std::ptrdiff_t(i));
  }
  g.topo_sort();
}

}  // namespace mq::quant
