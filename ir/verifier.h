#pragma once
/// Structural checks of a graph: names, wiring, order, types.
#include "ir/graph.h"

namespace mq {

/// Throws an mq::Error describing the first problem: a node reading a value defined later or
/// not at all, a user list out of step, an output without a producer, an undefined type, an
/// output type that its node's inference (which checks the attributes) does not give.
void verify(const Graph& g);

}  // namespace mq
