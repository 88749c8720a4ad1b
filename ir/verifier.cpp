#include "ir/verifier.h"

#include <algorithm>
#include <unordered_set>

namespace mq {

void verify(const Graph& g) {
  std::unordered_set<const Value*> defined;
  for (Value* v : g.values())
    if (!v->producer()) defined.insert(v);
  for (Value* in : g.inputs())
    if (in->is_constant()) fail<Error>("graph input '", in->name(), "' is also a constant");
  for (Node* n : g.nodes()) {
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      Value* in = n->inputs()[i];
      if (!in) continue;
      if (!defined.count(in))
        fail<Error>(n->describe(), ": operand ", i, " '", in->name(),
                    "' is not defined before the node");
      auto& users = in->users();
      if (std::find(users.begin(), users.end(), n) == users.end())
        fail<Error>(n->describe(), ": value '", in->name(), "' does not list it as a user");
    }
    for (Value* o : n->outputs()) {
      if (o->producer() != n) fail<Error>(n->describe(), ": output '", o->name(), "' has another producer");
      if (defined.count(o)) fail<Error>(n->describe(), ": output '", o->name(), "' is defined twice");
      defined.insert(o);
    }
  }
  for (Value* o : g.outputs())
    if (!defined.count(o)) fail<Error>("graph output '", o->name(), "' is never defined");
}

}  // namespace mq
