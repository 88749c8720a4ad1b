// What the int8 forms (patterns of ops without weights that run on int8 values between
// quantized layers) share.
#include <algorithm>

#include "ir/quant_operands.h"
#include "engine/quantize/patterns/patterns.h"

namespace mq::quant {

Node* insert_quant_node(Graph& g, OpKind op, Value* x, const QuantParams& q, Node* before,
                        const std::string& name) {
  Value* s = g.add_constant(g.unique_name(name + "_scale"), scale_operand(q));
  Value* z = g.add_constant(g.unique_name(name + "_zero_point"), zero_point_operand(q));
  Attributes attrs;
  if (q.per_channel()) attrs.set("axis", *q.axis);
  const char* what = op == OpKind::QuantizeLinear ? "_quantize" : "_dequantize";
  Node* n = g.insert_node(before, op, {.name = g.unique_name(name + what), .inputs = {x, s, z}, .attrs = attrs});
  if (op == OpKind::QuantizeLinear) n->output(0)->set_quant(q);
  return n;
}

bool reshapes_or_transposes(const Node& n) {
  switch (n.op()) {
    case OpKind::Reshape:
    case OpKind::Flatten:
    case OpKind::Squeeze:
    case OpKind::Unsqueeze:
    case OpKind::Identity:
    case OpKind::Transpose: return n.outputs().size() == 1;
    default: return false;
  }
}

int64_t moved_axis(const Node& n, int64_t axis) {
  const Value* x = n.input(0);
  const Value* y = n.output(0);
  if (!x || !y || !x->shape().has_rank() || !y->shape().has_rank()) return -1;
  const Shape &in = x->shape(), &out = y->shape();
  if (axis < 0 || size_t(axis) >= in.rank()) return -1;
  if (n.op() == OpKind::Transpose) {
    std::vector<int64_t> perm = n.attrs().get_ints_or("perm", {});
    if (perm.empty())
      for (size_t i = in.rank(); i-- > 0;) perm.push_back(int64_t(i));
    for (size_t k = 0; k < perm.size(); ++k)
      if (perm[k] == axis) return int64_t(k);
    return -1;
  }
  if (!reshapes_or_transposes(n)) return -1;
  // the dims up to the channel axis kept as they are (a symbolic batch too)
  bool kept = size_t(axis) < out.rank();
  for (int64_t i = 0; kept && i <= axis; ++i) kept = in[size_t(i)] == out[size_t(i)];
  if (kept) return axis;
  // else, static shapes: the elements before the channel axis stay before it, the axis stays whole
  if (!in.is_static() || !out.is_static()) return -1;
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= in[size_t(i)].value;
  int64_t before = 1;
  for (size_t k = 0; k < out.rank(); ++k) {
    if (before == outer && out[k].value == in[size_t(axis)].value) return int64_t(k);
    before *= out[k].value;
    if (before > outer) break;
  }
  return -1;
}

Value* float_of(Graph& g, Value* v, Node* before) {
  if (!v || v->dtype() == DType::f32 || !v->type().quant) return v;
  Node* p = v->producer();
  if (p && p->op() == OpKind::QuantizeLinear && p->input(0) && p->input(0)->dtype() == DType::f32)
    return p->input(0);
  QuantParams q = *v->type().quant;
  q.qtype = v->dtype();
  return insert_quant_node(g, OpKind::DequantizeLinear, v, q, before, v->name())->output(0);
}

}  // namespace mq::quant

namespace mq::quant {

void requantize_readers(Graph& g, Node* n, Node* f) {
  for (size_t i = 0; i < n->outputs().size(); ++i) {
    Value* y = n->output(i);
    Value* fy = f->output(i);
    if (!y || !fy) continue;
    for (Node* u : std::vector<Node*>(y->users()))
      if (u->op() == OpKind::DequantizeLinear && u->input(0) == y) g.replace_all_uses(u->output(0), fy);
    if (y->users().empty() && !g.is_output(y)) continue;
    QuantParams q = *y->type().quant;
    q.qtype = y->dtype();
    Node* qn = insert_quant_node(g, OpKind::QuantizeLinear, fy, q, n, y->name() + "_re");
    g.replace_all_uses(y, qn->output(0));
  }
  const std::string name = n->name();
  g.remove_node(n);
  g.rename_node(f, name);
}

}  // namespace mq::quant
