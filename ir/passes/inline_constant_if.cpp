// An If whose cond is a constant is replaced by the nodes of the branch it would run.
#include <algorithm>

#include "ir/control_flow.h"
#include "ir/passes/passes.h"

namespace mq::passes {

namespace {
// Copies the nodes and constants of `branch` into `g` before `anchor`, its inputs bound to
// `outer`; returns the values its outputs became.
std::vector<Value*> inline_branch(Graph& g, Node* anchor, const Graph& branch, const std::vector<Value*>& outer) {
  std::unordered_map<const Value*, Value*> map;
  for (size_t i = 0; i < branch.inputs().size(); ++i) map[branch.inputs()[i]] = outer.at(i);
  for (Value* v : branch.values())
    if (v->is_constant()) map[v] = g.add_constant(g.unique_name(v->name()), *v->constant());
  for (Node* n : branch.nodes()) {
    NodeSpec spec;
    spec.name = g.unique_name(anchor->name() + "/" + n->name());
    for (Value* in : n->inputs()) spec.inputs.push_back(in ? map.at(in) : nullptr);
    spec.attrs = n->attrs();
    for (const std::string& a : spec.attrs.graph_names())
      spec.attrs.set(a, std::make_shared<Graph>(spec.attrs.get_graph(a).clone()));
    spec.num_outputs = n->outputs().size();
    for (Value* o : n->outputs())
      spec.output_names.push_back(g.find_value(o->name()) ? g.unique_name(o->name()) : o->name());
    Node* c = g.insert_node(anchor, n->op(), std::move(spec));
    for (size_t i = 0; i < n->outputs().size(); ++i) map[n->outputs()[i]] = c->outputs()[i];
  }
  std::vector<Value*> r;
  for (Value* o : branch.outputs()) r.push_back(map.at(o));
  return r;
}
}  // namespace

bool inline_constant_if(Graph& g) {
  bool changed = false;
  // an inlined branch may hold an If whose cond is now a constant too
  for (bool again = true; again;) {
    again = false;
    for (Node* n : g.nodes()) {
      if (n->op() != OpKind::If || !n->input(0) || !n->input(0)->is_constant()) continue;
      const Tensor& cond = *n->input(0)->constant();
      if (cond.numel() != 1) continue;  // inference reports it
      const bool take_then = cond.to_int64()[0] != 0;
      GraphRef keep = std::get<GraphRef>(n->attrs().all().at(take_then ? "then_branch" : "else_branch"));
      std::vector<Value*> outer(n->inputs().begin() + int64_t(formal_operand_count(*n)), n->inputs().end());
      const std::vector<Node*> nodes_before = g.nodes();
      std::vector<Value*> results = inline_branch(g, n, *keep, outer);
      std::vector<std::pair<Value*, std::string>> named;  // graph outputs keep their names
      for (size_t i = 0; i < results.size(); ++i) {
        Value* out = n->output(i);
        Value* r = results[i];
        if (g.is_output(out)) {
          // a graph output keeps its name, on a value of its own produced by a node
          const bool fresh = r->producer() && std::find(nodes_before.begin(), nodes_before.end(), r->producer()) ==
                                                  nodes_before.end();
          if (!fresh || g.is_output(r))
            r = g.insert_node(n, OpKind::Identity,
                              {.name = g.unique_name(out->name() + "/identity"), .inputs = {r}})
                    ->output(0);
          named.emplace_back(r, out->name());
        }
        g.replace_all_uses(out, r);
      }
      g.remove_node(n);
      for (auto& [v, name] : named) g.rename_value(v, name);
      changed = again = true;
    }
  }
  if (changed) g.remove_unused();
  for (Node* n : g.nodes())
    for (auto& [attr, sub] : subgraphs(*n)) changed = inline_constant_if(*sub) || changed;
  return changed;
}

}  // namespace mq::passes
