#include "engine/api.h"

#include <filesystem>

#include "engine/passes/passes.h"
#include "importers/onnx/import.h"
#include "ir/passes/passes.h"

namespace mq {

namespace {
std::string extension(const std::string& path) {
  std::string e = std::filesystem::path(path).extension().string();
  for (auto& ch : e) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return e;
}
}  // namespace

void optimize_graph(Graph& g) {
  passes::remove_identities(g);
  passes::fold_constants(g);
  passes::fold_batch_norm(g);
  g.remove_unused();
}

Graph load_model(const std::string& path, const LoadOptions& options) {
  std::string ext = extension(path);
  Graph g;
  if (ext == ".onnx") {
    g = onnx::import_model(path);
  } else {
    fail<InvalidArgument>(path, ": unknown model format '", ext, "' (expected .onnx)");
  }
  if (options.optimize) with_context(path, [&] { optimize_graph(g); return 0; });
  return g;
}

}  // namespace mq
