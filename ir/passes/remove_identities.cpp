#include "ir/passes/passes.h"

namespace mq::passes {

void remove_identities(Graph& g) {
  for (Node* n : g.nodes()) {
    bool identity = n->op() == OpKind::Identity;
    if (n->op() == OpKind::Dropout) {
      bool mask_read = n->outputs().size() > 1 && (!n->output(1)->users().empty() || g.is_output(n->output(1)));
      // training_mode (operand 2) must be absent or a constant false
      Value* tm = n->input(2);
      bool training = tm && (!tm->is_constant() || tm->constant()->to_int64().at(0) != 0);
      identity = !mask_read && !training;
    }
    if (!identity || !n->input(0)) continue;
    Value* in = n->input(0);
    Value* out = n->output(0);
    if (g.is_output(out) && (in->producer() == nullptr || g.is_output(in))) continue;
    g.replace_all_uses(out, in);
    if (g.is_output(in) && !g.is_output(out)) {
      // `in` became a graph output: keep the output's name for users
    }
    g.remove_node(n);
  }
}

}  // namespace mq::passes
