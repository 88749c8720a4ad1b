// save_graph / load_graph: the format comes from the file extension.
#include "serialization/serialization.h"

#include "serialization/io.h"

namespace mq::serialization {

void save_graph(const Graph& g, const std::string& path) {
  std::string ext = file_extension(path);
  if (ext == ".mqm") return save_mqm(g, path);
  if (ext == ".safetensors") return save_safetensors_model(g, path);
  if (ext == ".pt" || ext == ".pth") return save_torch_model(g, path);
  if (ext == ".onnx") return export_onnx(g, path);
  fail<InvalidArgument>(path, ": unknown model extension '", ext,
                        "' (expected .mqm, .safetensors, .pt, .pth or .onnx)");
}

Graph load_graph(const std::string& path) {
  std::string ext = file_extension(path);
  if (ext == ".mqm") return load_mqm(path);
  if (ext == ".safetensors") return load_safetensors_model(path);
  if (ext == ".pt" || ext == ".pth") return load_torch_model(path);
  if (ext == ".onnx")
    fail<InvalidArgument>(path, ": .onnx models are loaded by the ONNX importer, not by load_graph");
  fail<InvalidArgument>(path, ": unknown model extension '", ext, "' (expected .mqm, .safetensors, .pt or .pth)");
}

}  // namespace mq::serialization
