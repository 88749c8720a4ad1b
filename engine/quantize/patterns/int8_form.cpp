// What the int8 forms (patterns of ops without weights that run on int8 values between
// quantized layers) share.
#include <algorithm>

#include "ir/quant_operands.h"
#include "engine/quantize/patterns/patterns.h"

namespace mq::quant {

Value* float_of(Graph& g, Value* v, Node* before) {
  if (!v || v->dtype() == DType::f32 || !v->type().quant) return v;
  Node* p = v->producer();
  if (p && p->op() == OpKind::QuantizeLinear && p->input(0) && p->input(0)->dtype() == DType::f32)
    return p->input(0);
  QuantParams q = *v->type().quant;
  q.qtype = v->dtype();
  Value* s = g.add_constant(g.unique_name(v->name() + "_scale"), scale_scalar(q));
  Value* z = g.add_constant(g.unique_name(v->name() + "_zp"), zero_point_scalar(q));
  return g
      .insert_node(before, OpKind::DequantizeLinear,
                   {.name = g.unique_name(v->name() + "_dequantize"), .inputs = {v, s, z}})
      ->output(0);
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
    Value* s = g.add_constant(g.unique_name(y->name() + "_scale"), scale_scalar(q));
    Value* z = g.add_constant(g.unique_name(y->name() + "_zp"), zero_point_scalar(q));
    Node* qn = g.insert_node(n, OpKind::QuantizeLinear,
                             {.name = g.unique_name(y->name() + "_requantize"), .inputs = {fy, s, z}});
    g.replace_all_uses(y, qn->output(0));
  }
  const std::string name = n->name();
  g.remove_node(n);
  g.rename_node(f, name);
}

}  // namespace mq::quant
