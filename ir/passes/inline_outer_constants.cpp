// Constants a control-flow node passes into its subgraphs become constants of the subgraphs,
// so that passes and the quantizer inside a subgraph see constant weights and biases (a
// PyTorch export keeps every parameter in the main graph, read by name from the branches).
#include "ir/control_flow.h"
#include "ir/passes/passes.h"

namespace mq::passes {

namespace {
// Replaces subgraph input `in` of `s` by a constant holding `data`, under the input's name.
void to_constant(Graph& s, Value* in, const Tensor& data) {
  const std::string name = in->name();
  Value* c = s.add_constant(s.unique_name(name), data);
  s.replace_all_uses(in, c);
  s.remove_input(in);
  s.rename_value(c, name);
}
}  // namespace

bool inline_outer_constants(Graph& g) {
  bool changed = false;
  for (Node* n : g.nodes()) {
    auto subs = subgraphs(*n);
    if (subs.empty()) continue;
    const size_t formal = formal_operand_count(*n);
    size_t outer = outer_operand_count(*n);
    for (size_t i = outer; i-- > 0;) {
      Value* v = n->input(formal + i);
      if (!v || !v->is_constant()) continue;
      // every subgraph takes the outer values after its own inputs, in the node's order
      for (auto& [attr, sub] : subs) {
        const size_t own = sub->inputs().size() - outer;
        to_constant(*sub, sub->inputs()[own + i], *v->constant());
      }
      g.erase_operand(n, formal + i);
      --outer;
      changed = true;
    }
    n->attrs().set("outer_inputs", int64_t(outer));
  }
  if (changed) g.remove_unused();
  return changed;
}

}  // namespace mq::passes
