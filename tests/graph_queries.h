#pragma once
// What tests ask of a graph: how many nodes run an op, and the first of them.
#include "ir/graph.h"

namespace mq::test {

inline int count_op(const Graph& g, OpKind op) {
  int n = 0;
  for (const Node* node : g.nodes()) n += node->op() == op;
  return n;
}

/// The first node (in execution order) running `op`, or null.
inline const Node* find_op(const Graph& g, OpKind op) {
  for (const Node* n : g.nodes())
    if (n->op() == op) return n;
  return nullptr;
}

}  // namespace mq::test
