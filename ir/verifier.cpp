#include "ir/verifier.h"

#include <algorithm>
#include <unordered_set>

#include "ir/control_flow.h"
#include "ir/infer.h"

namespace mq {

namespace {
// A stored output type (read from a file) must agree with what inference gives from the
// operands: dtype, rank and every dim both know. Inference itself checks the attributes.
void check_types(const Node& n) {
  std::vector<ValueType> ins;
  std::vector<const Tensor*> vals;
  for (Value* v : n.inputs()) {
    ins.push_back(v ? v->type() : ValueType{});
    vals.push_back(v && v->is_constant() ? &*v->constant() : nullptr);
  }
  std::vector<ValueType> outs = infer_node(n, ins, vals);
  for (size_t i = 0; i < n.outputs().size() && i < outs.size(); ++i) {
    const ValueType& have = n.outputs()[i]->type();
    const ValueType& want = outs[i];
    bool ok = have.dtype == want.dtype || want.dtype == DType::undefined;
    if (ok && have.shape.has_rank() && want.shape.has_rank()) {
      ok = have.shape.rank() == want.shape.rank();
      for (size_t k = 0; ok && k < want.shape.rank(); ++k)
        ok =
            !have.shape[k].is_static() || !want.shape[k].is_static() || have.shape[k].value == want.shape[k].value;
    }
    if (!ok)
      fail<ShapeError>(n.describe(), ": output '", n.outputs()[i]->name(), "' is typed ", have.str(),
                       " but its operands and attributes give ", want.str());
  }
}
}  // namespace

void verify(const Graph& g) {
  std::unordered_set<const Value*> defined;
  for (Value* v : g.values())
    if (!v->producer()) defined.insert(v);
  for (Value* in : g.inputs())
    if (in->is_constant()) fail<Error>("graph input '", in->name(), "' is also a constant");
  for (Value* v : g.values()) {
    if (v->type().quant)
      with_context("value '" + v->name() + "'", [&] {
        v->type().quant->check();
        return 0;
      });
    if (v->is_constant() && v->constant()->quant())
      with_context("constant '" + v->name() + "'", [&] {
        v->constant()->quant()->check();
        return 0;
      });
  }
  for (Node* n : g.nodes()) {
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      Value* in = n->inputs()[i];
      if (!in) continue;
      if (!defined.count(in))
        fail<Error>(n->describe(), ": operand ", i, " '", in->name(), "' is not defined before the node");
      auto& users = in->users();
      if (std::find(users.begin(), users.end(), n) == users.end())
        fail<Error>(n->describe(), ": value '", in->name(), "' does not list it as a user");
    }
    for (Value* o : n->outputs()) {
      if (o->producer() != n) fail<Error>(n->describe(), ": output '", o->name(), "' has another producer");
      if (defined.count(o)) fail<Error>(n->describe(), ": output '", o->name(), "' is defined twice");
      defined.insert(o);
    }
    check_types(*n);
    for (auto& [attr, sub] : subgraphs(*n))
      with_context(n->describe() + ": subgraph '" + attr + "'", [&, sub = sub] {
        verify(*sub);
        return 0;
      });
  }
  for (Value* o : g.outputs())
    if (!defined.count(o)) fail<Error>("graph output '", o->name(), "' is never defined");
}

}  // namespace mq
