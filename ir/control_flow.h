#pragma once
/// Control-flow nodes: If, Loop and Scan hold their subgraphs in graph attributes.
///
/// A subgraph is a self-contained Graph. The values it reads from enclosing graphs (ONNX's
/// outer-scope references, resolved by name when the model is imported) are its trailing
/// inputs, and the node reads the same values as its trailing operands: the node's
/// `outer_inputs` attribute counts them, and every subgraph of the node takes all of them,
/// in the same order, after its own formal inputs. So every pass sees those reads as
/// ordinary operands, and a subgraph can be run, compiled or quantized on its own.
///
///   If(cond, outer...) then_branch, else_branch: inputs (outer...), outputs = node outputs.
///   Loop(M?, cond?, v[N]..., outer...) body: inputs (iter_num i64[], cond bool[], v[N]...,
///     outer...), outputs (cond, v[N]..., scan[K]...); node outputs: final v[N], then each
///     scan output stacked over the iterations along a new axis 0.
///   Scan(state[N]..., x[M]..., outer...) body (opset 9+ semantics): inputs (state[N]...,
///     x slices[M]..., outer...), outputs (state[N]..., y[K]...); attributes
///     num_scan_inputs = M, scan_input_axes / scan_input_directions (M each),
///     scan_output_axes / scan_output_directions (K each).
#include <string>
#include <vector>

#include "ir/graph.h"

namespace mq {

/// True for If, Loop and Scan.
bool is_control_flow(OpKind op);
/// How many trailing operands of `n` feed values of enclosing graphs into its subgraphs.
size_t outer_operand_count(const Node& n);
/// How many leading operands are the op's own (the rest are outer values).
size_t formal_operand_count(const Node& n);
/// Every subgraph of a node, with its attribute name, in name order.
std::vector<std::pair<std::string, Graph*>> subgraphs(const Node& n);
/// Calls `f(graph)` for `g` and every subgraph nested in it, outermost first.
template <class F>
void for_each_graph(Graph& g, F&& f) {
  f(g);
  for (Node* n : g.nodes())
    for (auto& [name, sub] : subgraphs(*n)) for_each_graph(*sub, f);
}

}  // namespace mq
