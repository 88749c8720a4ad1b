#include "engine/api.h"

#include <filesystem>

#include "engine/passes/passes.h"
#include "importers/onnx/import.h"
#include "ir/control_flow.h"
#include "ir/passes/passes.h"
#include "serialization/serialization.h"

namespace mq {

namespace {
std::string extension(const std::string& path) {
  std::string e = std::filesystem::path(path).extension().string();
  for (auto& ch : e) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return e;
}
}  // namespace

namespace {
void optimize_one(Graph& g) {
  passes::inline_outer_constants(g);
  passes::remove_identities(g);
  passes::fuse_qdq(g);  // before folding: it needs the weights' DequantizeLinear
  passes::fold_constants(g);
  passes::fuse_dynamic_matmul(g);  // after folding: a weight may be a folded Transpose
  passes::fold_batch_norm(g);
  passes::fuse_layers(g);
  g.remove_unused();
}
}  // namespace

void optimize_graph(Graph& g) {
  // subgraphs are optimized like the main graph, so that their layers quantize the same way
  for_each_graph(g, optimize_one);
  if (passes::inline_constant_if(g)) for_each_graph(g, optimize_one);
}

Graph load_model(const std::string& path, const LoadOptions& options) {
  std::string ext = extension(path);
  Graph g;
  if (ext == ".onnx") {
    g = onnx::import_model(path);
  } else if (ext == ".mqm" || ext == ".safetensors" || ext == ".pt" || ext == ".pth") {
    return serialization::load_graph(path);  // saved graphs are already optimized
  } else {
    fail<InvalidArgument>(path, ": unknown model format '", ext,
                          "' (expected .onnx, .mqm, .safetensors, .pt or .pth)");
  }
  // reading_file: errors (and running out of memory) name the file, in printable text.
  if (options.optimize)
    reading_file(path, [&] {
      optimize_graph(g);
      return 0;
    });
  return g;
}

void save_model(const Graph& g, const std::string& path) { serialization::save_graph(g, path); }

}  // namespace mq
