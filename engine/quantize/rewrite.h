#pragma once
/// The graph rewrite behind static_quantize / dynamic_quantize (internal to engine/).
#include <string>
#include <vector>

#include "engine/quantize.h"

namespace mq::quant {

/// Values calibration must observe for the selectable layers of `g`.
std::vector<std::string> values_to_observe(const Graph& g, const LayerSelection& layers);

/// Where validation finds a quantized layer's output in each graph.
struct LayerProbe {
  size_t report = 0;        ///< index into the reports
  std::string float_value;  ///< in the float graph
  std::string quant_value;  ///< in the quantized graph
  bool dequantize = false;  ///< the quantized value holds integers with QuantParams
};

/// Rewrites the selected layers of `q` in place. `cal` is null in dynamic mode.
/// Appends one report per candidate layer and one probe per quantized layer.
void rewrite(Graph& q, const Calibration* cal, const QuantizeOptions& options, std::vector<LayerReport>& reports,
             std::vector<LayerProbe>& probes);

/// Bytes of all constants in the graph.
int64_t constant_bytes(const Graph& g);

}  // namespace mq::quant
