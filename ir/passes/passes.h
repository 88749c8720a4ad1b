#pragma once
/// Graph passes that only rewire (no arithmetic): they live in ir/.
#include "ir/graph.h"

namespace mq::passes {

/// Removes Identity nodes and inference-mode Dropout (its mask output must be unread),
/// except where the node produces a graph output from a graph input or constant.
void remove_identities(Graph& g);
/// Replaces each If whose cond is a constant by the nodes of the branch it selects (graph
/// outputs keep their names), in `g` and in its subgraphs. Returns true when it changed one.
bool inline_constant_if(Graph& g);
/// Makes each constant that an If / Loop / Scan node of `g` passes into its subgraphs (an
/// outer value, ir/control_flow.h) a constant of those subgraphs, and drops the operand.
/// Not recursive: run it on each graph, outermost first. Returns true when it moved one.
bool inline_outer_constants(Graph& g);

}  // namespace mq::passes
