// A QConv2d whose int8 output only a byte-table FusedElementwise reads (an int8 model's
// SiLU, HardSwish, ... between two layers) applies that table itself, to each block of
// output pixels while it is in cache: one step and one pass over the activations fewer.
#include <vector>

#include "engine/ops/fused_program.h"
#include "engine/plan/plan.h"
#include "ir/quant_operands.h"

namespace mq::plan {

namespace {

bool fuse_one(Graph& g, Node* f) {
  if (f->op() != OpKind::FusedElementwise || f->outputs().size() != 1) return false;
  Value* x = nullptr;  // the one operand that is not a constant
  for (Value* v : f->inputs()) {
    if (!v || v->is_constant()) continue;
    if (x) return false;
    x = v;
  }
  Node* conv = x ? x->producer() : nullptr;
  if (!conv || conv->op() != OpKind::QConv2d || conv->outputs().size() != 1 || x->users().size() != 1 ||
      g.is_output(x) || conv->attrs().has("output_table"))
    return false;
  Value* y = f->output(0);
  const Value* ys = conv->input(3);
  const Value* yz = conv->input(4);
  if (y->dtype() != x->dtype() || !ys || !yz || !ys->is_constant() || !yz->is_constant() ||
      ys->constant()->numel() != 1 || yz->constant()->numel() != 1)
    return false;
  std::vector<uint8_t> table;
  if (!ops::fused_byte_table(*f, table)) return false;
  // The convolution requantizes to its own scale and zero point, kept as attributes; its
  // y_scale / y_zero_point become the table's, which its output's type then carries.
  conv->attrs().set("requant_scale", ys->constant()->to_float().at(0));
  conv->attrs().set("requant_zero_point", yz->constant()->to_int64().at(0));
  conv->attrs().set("output_table", std::vector<int64_t>(table.begin(), table.end()));
  const QuantParams table_q{{f->attrs().get_float_or("output_scale", 0.f)},
                            {int32_t(f->attrs().get_int_or("output_zero_point", 0))},
                            std::nullopt,
                            y->dtype()};
  g.set_input(conv, 3, g.add_constant(g.unique_name(conv->name() + "_table_scale"), scale_scalar(table_q)));
  g.set_input(conv, 4,
              g.add_constant(g.unique_name(conv->name() + "_table_zero_point"), zero_point_scalar(table_q)));
  g.reinfer(conv);
  const std::string name = y->name();  // x takes y's place and name
  g.replace_all_uses(y, x);
  g.rename_value(y, g.unique_name(name + "_fused"));
  g.rename_value(x, name);
  g.remove_node(f);
  return true;
}

}  // namespace

void fuse_conv_tables(Graph& g) {
  bool changed = false;
  for (Node* n : g.nodes()) changed |= fuse_one(g, n);
  if (changed) g.topo_sort();
}

}  // namespace mq::plan
