#pragma once
// Test helper for the engine suites: one node run through a Session.
#include <algorithm>
#include <string>
#include <vector>

#include "engine/session.h"
#include "ir/graph.h"

namespace mq::test {

// Runs a one-node graph whose operands are the given inputs (in order; null = absent), those
// at the indices in `constants` as constants (constant weights take the executors' packed
// paths; an input's quantization parameters become its value's), on `threads` threads (0:
// all hardware threads, as SessionOptions).
inline std::vector<Tensor> run_node(OpKind op, const std::vector<const Tensor*>& ins, Attributes attrs,
                                    size_t n_out = 1, const std::vector<size_t>& constants = {}, int threads = 1) {
  Graph g;
  std::vector<Value*> vs;
  TensorMap feed;
  for (size_t i = 0; i < ins.size(); ++i) {
    if (!ins[i]) {
      vs.push_back(nullptr);
      continue;
    }
    std::string name = "in" + std::to_string(i);
    if (std::find(constants.begin(), constants.end(), i) != constants.end()) {
      vs.push_back(g.add_constant(name, *ins[i]));
      continue;
    }
    vs.push_back(g.add_input(name, {ins[i]->dtype(), ins[i]->shape(), ins[i]->quant()}));
    feed[name] = *ins[i];
  }
  Node* n = g.add_node(op, {.name = "n", .inputs = vs, .attrs = std::move(attrs), .num_outputs = n_out});
  for (Value* o : n->outputs()) g.add_output(o);
  SessionOptions so;
  so.threads = threads;
  Session s(g, so);
  TensorMap out = s.run(feed);
  std::vector<Tensor> r;
  for (Value* o : n->outputs()) r.push_back(out.at(o->name()));
  return r;
}

}  // namespace mq::test
