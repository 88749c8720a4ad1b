#pragma once
/// monoquant's public C++ API: load a model, run it, (later) quantize and save it.
///
///   mq::Graph g = mq::load_model("model.onnx");
///   mq::Session s(g, {.threads = 2});
///   mq::TensorMap out = s.run({{"input", x}});
#include <string>

#include "engine/session.h"
#include "ir/graph.h"

namespace mq {

/// Options for load_model.
struct LoadOptions {
  bool optimize = true;  ///< run the standard passes (constant folding, Identity/Dropout
                         ///< removal, BatchNormalization folding)
};

/// Loads a model; the format comes from the extension (.onnx). Errors name the file.
Graph load_model(const std::string& path, const LoadOptions& options = {});
/// Runs the standard graph passes in place.
void optimize_graph(Graph& g);

}  // namespace mq
