// Graphs as .pt files: a state dict of the constants plus the graph description record.
#include "serialization/graph_json.h"
#include "serialization/serialization.h"
#include "serialization/torch_zip.h"

namespace mq::serialization {

void save_torch_model(const Graph& g, const std::string& path) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [key, v] : stored_constants(g)) tensors.emplace_back(key, *v->constant());
  save_torch_state_dict(path, tensors, {{kTorchGraphRecord, graph_to_json(g)}});
}

namespace {
Graph read_torch_model(const std::string& path) {
  TorchArchive a = load_torch_state_dict(path);
  auto it = a.records.find(kTorchGraphRecord);
  if (it == a.records.end())
    fail<FormatError>(path, ": no '", kTorchGraphRecord,
                      "' record: not a monoquant model (load_torch_state_dict reads plain state dicts)");
  std::map<std::string, Tensor> by_name(a.tensors.begin(), a.tensors.end());
  auto source = [&](const std::string& name, const ValueType&) -> Tensor {
    auto t = by_name.find(name);
    if (t == by_name.end()) fail<FormatError>(path, ": constant '", name, "' is not in the state dict");
    return t->second;
  };
  return graph_from_json(it->second, source, path);
}
}  // namespace

Graph load_torch_model(const std::string& path) {
  return reading_file(path, [&] { return read_torch_model(path); });
}

}  // namespace mq::serialization
