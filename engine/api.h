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

/// Loads a model; the format comes from the extension (.onnx, .mqm, .safetensors, .pt,
/// .pth). Errors name the file.
Graph load_model(const std::string& path, const LoadOptions& options = {});
/// Saves a graph; the format comes from the extension (.mqm, .safetensors, .pt, .pth,
/// .onnx as QDQ). Atomic: no partial file is ever left behind.
void save_model(const Graph& g, const std::string& path);
/// Runs the standard graph passes in place.
void optimize_graph(Graph& g);

}  // namespace mq
