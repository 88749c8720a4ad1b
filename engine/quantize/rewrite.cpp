// The graph rewrite behind static_quantize / dynamic_quantize: every pattern of the registry
// (engine/quantize/patterns/) over the graph and the graphs of its If / Loop / Scan nodes.
#include "engine/quantize/rewrite.h"

#include <set>

#include "engine/quantize/patterns/pattern.h"
#include "engine/quantize/patterns/rewriter.h"
#include "ir/control_flow.h"

namespace mq::quant {

namespace {
void observe(const Graph& g, const LayerSelection& layers, std::set<std::string>& names) {
  for (Node* n : g.nodes()) {
    // layers inside If / Loop / Scan bodies are calibrated like any other (a Session taps
    // values inside subgraphs by name)
    for (auto& [attr, sub] : subgraphs(*n)) observe(*sub, layers, names);
    const Pattern* p = pattern_for(*n);
    if (!p || !layers.selects(*n) || !p->ineligible(g, *n).empty()) continue;
    p->observe(g, *n, names);
  }
}
}  // namespace

std::vector<std::string> values_to_observe(const Graph& g, const LayerSelection& layers) {
  std::set<std::string> names;
  observe(g, layers, names);
  return {names.begin(), names.end()};
}

void rewrite(Graph& q, const Calibration* cal, const QuantizeOptions& options, std::vector<LayerReport>& reports,
             std::vector<LayerProbe>& probes) {
  options.layers.check();
  // the main graph, then each subgraph (its signature stays float: the rewrite keeps the
  // names and types of graph outputs)
  for_each_graph(q, [&](Graph& g) {
    Rewriter r{g, cal, options, reports, probes, {}, {}, {}, {}};
    r.run();
  });
}

int64_t constant_bytes(const Graph& g) {
  int64_t n = 0;
  for (Value* v : g.values())
    if (v->is_constant()) n += int64_t(v->constant()->nbytes());
  for (Node* node : g.nodes())
    for (auto& [attr, sub] : subgraphs(*node)) n += constant_bytes(*sub);
  return n;
}

}  // namespace mq::quant
