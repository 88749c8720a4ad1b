// Pattern "matmul": MatMul of two activations (attention scores Q·Kᵀ, attention·V, einsum-style
// products; numpy broadcasting over batch dims). MatMuls with a constant operand are not its:
// a constant 2-D weight makes the importer's MatMul a Linear (pattern "linear").
//   static, result read as int8 (an int8 layer or int8 form downstream):
//     QuantizeLinear(a), QuantizeLinear(b) → QLinearMatMul(y's calibrated range) → int8 y,
//     and a DequantizeLinear of it for float readers;
//   static, result read as float only (Softmax after Q·Kᵀ):
//     MatMulInteger(aq, bq, a_zp, b_zp) → int32 → DequantizeLinear(scale a_scale·b_scale):
//     no rounding of the result to 8 bits;
//   dynamic: DynamicQuantizeLinear(a), DynamicQuantizeLinear(b) → MatMulInteger →
//     DequantizeLinear(scale a_scale·b_scale, computed per call).
// Both operands are quantized per tensor with the activation type (u8 unless asked for s8);
// an operand that is int8 already (the output of a quantized layer or a data-movement op) is
// read as it is.
#include <cmath>

#include "engine/quantize/patterns/patterns.h"

namespace mq::quant {

namespace {

/// `v`'s QuantParams (per tensor) made into scale and zero-point operands of its type.
std::pair<Value*, Value*> operands_of(Rewriter& r, Value* v) {
  const QuantParams& q = *v->type().quant;
  return {r.scalar_const(v->name() + "_scale", q.scales.at(0)),
          r.zp_const(v->name() + "_zero_point", q.zero_points.at(0), v->dtype())};
}

/// True when `v` is a scalar (or one-element) operand: a per-tensor scale or zero point.
bool per_tensor_operand(const Value* v) {
  return !v || (v->shape().has_rank() && v->shape().is_static() && v->shape().numel() <= 1);
}

class MatMulPattern final : public Pattern {
 public:
  std::string_view name() const override { return "matmul"; }
  std::string_view summary() const override {
    return "MatMul of two activations (attention Q·Kᵀ, attention·V; batched): u8/s8 per-tensor operands, "
           "QLinearMatMul when an int8 op reads the product, else MatMulInteger + scale";
  }
  bool matches(const Node& n) const override { return n.op() == OpKind::MatMul && n.outputs().size() == 1; }
  bool supports(QuantMode) const override { return true; }
  std::string ineligible(const Graph&, const Node& n) const override {
    for (size_t i = 0; i < 2; ++i) {
      const Value* v = n.input(i);
      if (!v || v->dtype() != DType::f32) return "operand is not f32";
      if (v->is_constant()) return "an operand is a constant (constant weights are the linear pattern's)";
    }
    if (n.output(0)->dtype() != DType::f32) return "output is not f32";
    return "";
  }
  void observe(const Graph&, const Node& n, std::set<std::string>& names) const override {
    names.insert(n.input(0)->name());
    names.insert(n.input(1)->name());
    names.insert(n.output(0)->name());
  }
  bool rewrite(Rewriter& r, Node* n, LayerReport& rep) const override {
    if (r.o.mode == QuantMode::dynamic_quant) rewrite_dynamic(r, n, rep);
    else rewrite_static(r, n, rep);
    return true;
  }
  bool produces(OpKind op) const override { return op == OpKind::QLinearMatMul || op == OpKind::MatMulInteger; }
  bool to_float(Graph& g, Node* n) const override;

 private:
  static void rewrite_static(Rewriter& r, Node* n, LayerReport& rep);
  static void rewrite_dynamic(Rewriter& r, Node* n, LayerReport& rep);
};

/// Replaces float MatMul `n` by `dq` (its float result), keeping names; `qn` is the integer
/// product, named after the layer. Adds the probe validation reads.
void replace_matmul(Rewriter& r, Node* n, Node* qn, Node* dq, bool int8_out, LayerReport& rep) {
  Graph& g = r.g;
  const std::string base = n->name(), y = n->output(0)->name();
  r.probes.push_back({r.reports.size(), y, "", int8_out});
  r.replace_outputs(n, dq, nullptr);
  g.rename_node(qn, base);
  g.rename_value(qn->output(0), g.unique_name(base + (int8_out ? ":int8" : ":int32")));
  r.probes.back().quant_value = (int8_out ? qn : dq)->output(0)->name();
  rep.quantized = true;
}

void MatMulPattern::rewrite_static(Rewriter& r, Node* n, LayerReport& rep) {
  Graph& g = r.g;
  Value *a = n->input(0), *b = n->input(1), *y = n->output(0);
  for (Value* v : {a, b})
    if (!r.existing_int8(v) && !r.calibrated(v)) {
      rep.scheme = "float (not calibrated)";
      return;
    }
  // int8 out only where an int8 reader takes it (else the product is not rounded to 8 bits)
  const bool int8_out = r.demanded(y) && r.calibrated(y);
  Value* aq = r.int8_input(a, n);
  Value* bq = r.int8_input(b, n);
  auto [as, az] = operands_of(r, aq);
  auto [bs, bz] = operands_of(r, bq);
  const std::string base = n->name();
  const std::string types =
      "static a:" + std::string(dtype_name(aq->dtype())) + " b:" + std::string(dtype_name(bq->dtype()));
  if (int8_out) {
    const QuantParams qy = r.params(y);
    Value* ys = r.scalar_const(y->name() + "_scale", qy.scales.at(0));
    Value* yz = r.zp_const(y->name() + "_zero_point", qy.zero_points.at(0), qy.qtype);
    Node* qn = g.insert_node(n, OpKind::QLinearMatMul,
                             {.name = g.unique_name(base + "_int8"), .inputs = {aq, as, az, bq, bs, bz, ys, yz}});
    Node* dq =
        g.insert_node(n, OpKind::DequantizeLinear,
                      {.name = g.unique_name(y->name() + "_dequantize"), .inputs = {qn->output(0), ys, yz}});
    r.quantized[dq->output(0)] = qn->output(0);
    r.dequantized[qn->output(0)] = dq->output(0);
    rep.scheme = types + " y:" + std::string(dtype_name(qy.qtype));
    replace_matmul(r, n, qn, dq, true, rep);
    return;
  }
  const float scale = aq->type().quant->scales.at(0) * bq->type().quant->scales.at(0);
  Node* qn =
      g.insert_node(n, OpKind::MatMulInteger, {.name = g.unique_name(base + "_int8"), .inputs = {aq, bq, az, bz}});
  Node* dq = g.insert_node(n, OpKind::DequantizeLinear,
                           {.name = g.unique_name(y->name() + "_dequantize"),
                            .inputs = {qn->output(0), r.scalar_const(base + "_product_scale", scale)}});
  rep.scheme = types + " y:f32";
  replace_matmul(r, n, qn, dq, false, rep);
}

void MatMulPattern::rewrite_dynamic(Rewriter& r, Node* n, LayerReport& rep) {
  Graph& g = r.g;
  const std::string base = n->name();
  Node* qa =
      g.insert_node(n, OpKind::DynamicQuantizeLinear,
                    {.name = g.unique_name(base + "_a_quantize"), .inputs = {n->input(0)}, .num_outputs = 3});
  Node* qb =
      g.insert_node(n, OpKind::DynamicQuantizeLinear,
                    {.name = g.unique_name(base + "_b_quantize"), .inputs = {n->input(1)}, .num_outputs = 3});
  Node* qn = g.insert_node(n, OpKind::MatMulInteger,
                           {.name = g.unique_name(base + "_int8"),
                            .inputs = {qa->output(0), qb->output(0), qa->output(2), qb->output(2)}});
  Node* s = g.insert_node(
      n, OpKind::Mul, {.name = g.unique_name(base + "_product_scale"), .inputs = {qa->output(1), qb->output(1)}});
  Node* dq = g.insert_node(
      n, OpKind::DequantizeLinear,
      {.name = g.unique_name(n->output(0)->name() + "_dequantize"), .inputs = {qn->output(0), s->output(0)}});
  rep.scheme = "dynamic a:u8/call b:u8/call";
  replace_matmul(r, n, qn, dq, false, rep);
}

/// The float value int8 operand `v` of `n` stands for: the input of the DynamicQuantizeLinear
/// that made it; else a DequantizeLinear of it with scale `s` and zero point `z` (QLinearMatMul's
/// own operands; dequantize_model then drops a DequantizeLinear of a QuantizeLinear with the
/// same constants); else the float value behind its per-tensor QuantParams (null without them).
Value* float_operand(Graph& g, Node* n, Value* v, Value* s, Value* z) {
  Node* p = v->producer();
  if (p && p->op() == OpKind::DynamicQuantizeLinear && p->output(0) == v) return p->input(0);
  if (s)
    return g
        .insert_node(n, OpKind::DequantizeLinear,
                     {.name = g.unique_name(v->name() + "_dequantize"), .inputs = {v, s, z}})
        ->output(0);
  if (!v->type().quant || v->type().quant->per_channel()) return nullptr;
  return float_of(g, v, n);
}

/// True when `s` is the scale of the int32 product of `a` and `b`: the Mul of their
/// DynamicQuantizeLinear scales, or a constant equal to the product of their static scales.
bool product_scale(const Value* s, const Value* a, const Value* b) {
  if (!s) return false;
  Node* m = s->producer();
  if (m && m->op() == OpKind::Mul) {
    Node* pa = a->producer();
    Node* pb = b->producer();
    return pa && pb && pa->op() == OpKind::DynamicQuantizeLinear && pb->op() == OpKind::DynamicQuantizeLinear &&
           m->input(0) == pa->output(1) && m->input(1) == pb->output(1);
  }
  if (!s->is_constant() || s->constant()->numel() != 1 || !a->type().quant || !b->type().quant) return false;
  const double want = double(a->type().quant->scales.at(0)) * double(b->type().quant->scales.at(0));
  const double got = s->constant()->to_float().at(0);
  return std::abs(got - want) <= 1e-6 * want;
}

bool MatMulPattern::to_float(Graph& g, Node* n) const {
  if (!produces(n->op())) return false;
  // the pattern's forms only: products of two activations (an imported QLinearMatMul or
  // MatMulInteger with a constant weight stays as it is)
  const bool qlinear = n->op() == OpKind::QLinearMatMul;
  Value *a = n->input(0), *b = n->input(qlinear ? 3 : 1), *y = n->output(0);
  if (!a || !b || a->is_constant() || b->is_constant()) return false;
  if (qlinear) {
    for (size_t i : {1, 2, 4, 5})
      if (!per_tensor_operand(n->input(i))) return false;  // per-row / per-column scales: left as they are
    Value* af = float_operand(g, n, a, n->input(1), n->input(2));
    Value* bf = float_operand(g, n, b, n->input(4), n->input(5));
    Node* f = g.insert_node(n, OpKind::MatMul, {.name = g.unique_name(n->name() + "_float"), .inputs = {af, bf}});
    requantize_readers(g, n, f);
    return true;
  }
  // MatMulInteger: an int32 product read by DequantizeLinear(s) (no zero point) whose scale is
  // the product of the operands' scales
  if (y->users().empty() || g.is_output(y)) return false;
  for (const Node* u : y->users())
    if (u->op() != OpKind::DequantizeLinear || u->input(0) != y || u->input(2) ||
        !product_scale(u->input(1), a, b))
      return false;
  Value* af = float_operand(g, n, a, nullptr, nullptr);
  Value* bf = af ? float_operand(g, n, b, nullptr, nullptr) : nullptr;
  if (!af || !bf) return false;
  Node* f = g.insert_node(n, OpKind::MatMul, {.name = g.unique_name(n->name() + "_float"), .inputs = {af, bf}});
  for (Node* u : std::vector<Node*>(y->users())) g.replace_all_uses(u->output(0), f->output(0));
  // n and its DequantizeLinear readers are unread now (dequantize_model removes them); the
  // float MatMul takes the layer's name
  const std::string name = n->name();
  g.rename_node(n, g.unique_name(name + "_int8"));
  g.rename_node(f, name);
  return true;
}

}  // namespace

const Pattern& matmul_pattern() {
  static const MatMulPattern p;
  return p;
}

}  // namespace mq::quant
