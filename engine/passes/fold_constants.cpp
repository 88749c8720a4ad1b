#include <numeric>

#include "engine/executor.h"
#include "engine/passes/passes.h"
#include "ir/infer.h"

namespace mq::passes {

namespace {
// Folding materialises results in the model: a small file must not make a huge one (a
// ConstantOfShape of [16384, 8192, 4] is 125 bytes of ONNX and 2 GiB of floats).
constexpr int64_t kMaxFoldElements = int64_t(64) << 20;  // 64 Mi elements per output
constexpr int64_t kMaxFoldBytes = int64_t(256) << 20;    // 256 MiB for all of a node's outputs

bool foldable(const Node& n) {
  if (n.inputs().empty()) return false;
  for (Value* v : n.inputs())
    if (v && !v->is_constant()) return false;
  // control flow runs subgraphs through a Session (fold_constant_if handles a known cond)
  return executor(n.op()).run != nullptr && !executor(n.op()).makes_outputs;
}

std::vector<Tensor> evaluate(const Node& n) {
  std::vector<const Tensor*> inputs;
  for (Value* v : n.inputs()) inputs.push_back(v ? &*v->constant() : nullptr);
  return run_node(n, inputs, kMaxFoldElements, kMaxFoldBytes);  // too large to hold: left to run time
}
}  // namespace

void fold_constants(Graph& g) {
  for (Node* n : g.nodes()) {
    std::vector<Tensor> results;
    if (n->op() == OpKind::Shape && n->input(0) && n->input(0)->shape().is_static()) {
      std::vector<const Tensor*> vals{nullptr};
      auto t = infer_node(*n, {n->input(0)->type()}, vals);
      auto dims = n->input(0)->shape().values();
      int64_t r = int64_t(dims.size());
      int64_t start = n->attrs().get_int_or("start", 0), end = n->attrs().get_int_or("end", r);
      if (start < 0) start += r;
      if (end < 0) end += r;
      start = std::clamp<int64_t>(start, 0, r);
      end = std::clamp<int64_t>(end, start, r);
      std::vector<int64_t> v(dims.begin() + start, dims.begin() + end);
      results.push_back(Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
    } else if (foldable(*n)) {
      results = evaluate(*n);
    }
    if (results.empty() || results.size() != n->outputs().size()) continue;
    bool output_of_graph = false;
    for (Value* o : n->outputs()) output_of_graph |= g.is_output(o);
    if (output_of_graph) continue;  // keep model outputs produced by nodes
    for (size_t i = 0; i < results.size(); ++i) {
      Value* o = n->output(i);
      Value* c = g.add_constant(g.unique_name(o->name() + "_folded"), std::move(results[i]));
      g.replace_all_uses(o, c);
    }
    g.remove_node(n);
  }
  g.remove_unused();
}

}  // namespace mq::passes
