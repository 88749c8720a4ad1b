// Graphs as safetensors files: constants as tensors, quant params as companion tensors, the
// graph description in __metadata__; and loading plain weight files into a graph.
#include <charconv>
#include <set>

#include "serialization/deflate.h"
#include "serialization/graph_json.h"
#include "serialization/json_util.h"
#include "serialization/safetensors.h"
#include "serialization/serialization.h"

namespace mq::serialization {

using detail::json;

namespace {
constexpr const char* kFormat = "monoquant";
constexpr int kVersion = 2;  // 1: the graph JSON in "graph"; 2: deflated in "graph_deflated" (both read)

void check_tensor_quant(const Tensor& t, const std::string& name) {
  const QuantParams& q = *t.quant();
  size_t channels = q.axis ? size_t(t.dim(size_t(normalize_axis(*q.axis, int64_t(t.rank()))))) : 1;
  if (q.scales.size() != channels || q.zero_points.size() != channels)
    fail<InvalidArgument>("constant '", name, "': quant params hold ", q.scales.size(), " scales and ",
                          q.zero_points.size(), " zero points for ", channels, " channels");
}
}  // namespace

void save_safetensors_model(const Graph& g, const std::string& path) {
  std::map<std::string, Tensor> tensors;
  json quant = json::object();
  std::set<std::string> names;
  const auto stored = stored_constants(g);
  for (auto& [key, v] : stored) names.insert(key);
  auto put = [&](const std::string& key, Tensor t) {
    if (!tensors.emplace(key, std::move(t)).second)
      fail<UnsupportedError>(path, ": tensor name '", key, "' is used twice (a constant is named like the ",
                             "companion of a quantized constant)");
  };
  for (auto& [key, v] : stored) {
    const Tensor& t = *v->constant();
    if (!t.quant()) {
      put(key, t);
      continue;
    }
    check_tensor_quant(t, key);
    const QuantParams& q = *t.quant();
    Tensor plain = t;
    plain.set_quant(std::nullopt);
    put(key, plain);
    put(key + ".scale", Tensor::from_vector<float>({int64_t(q.scales.size())}, q.scales));
    put(key + ".zero_point", Tensor::from_vector<int32_t>({int64_t(q.zero_points.size())}, q.zero_points));
    bool symmetric = true;
    for (int32_t z : q.zero_points) symmetric &= z == 0;
    json e;
    e["scheme"] = q.axis ? "per_channel_affine" : "per_tensor_affine";
    if (q.axis) e["axis"] = *q.axis;
    e["dtype"] = safetensors_dtype_name(t.dtype());
    e["qtype"] = std::string(dtype_name(q.qtype));
    e["symmetric"] = symmetric;
    quant[key] = e;
  }
  std::map<std::string, std::string> meta{{"format", kFormat},
                                          {"format_version", std::to_string(kVersion)},
                                          {"graph_deflated", ""},
                                          {"graph_bytes", ""},
                                          {"quantization", quant.dump()}};
  // version 2: the graph description deflated and base64-encoded (a JSON text escaped inside
  // the JSON header made the file larger than its ONNX source for graphs of many small nodes)
  const std::string graph = graph_to_json(g);
  meta["graph_deflated"] = base64_encode(deflate_raw(std::as_bytes(std::span(graph.data(), graph.size()))));
  meta["graph_bytes"] = std::to_string(graph.size());
  save_safetensors(path, tensors, meta);
}

namespace {
Graph read_safetensors_model(const std::string& path) {
  SafetensorsContents c = load_safetensors(path);
  auto meta = [&](const char* key) -> const std::string& {
    auto it = c.metadata.find(key);
    if (it == c.metadata.end())
      fail<FormatError>(path, ": __metadata__: no '", key, "' entry: not a monoquant model (use ",
                        "load_safetensors_weights to load plain weights into a graph)");
    return it->second;
  };
  if (meta("format") != kFormat)
    fail<FormatError>(path, ": __metadata__: format is '", meta("format"), "', not '", kFormat, "'");
  const std::string& version = meta("format_version");
  if (version != "1" && version != std::to_string(kVersion))
    fail<UnsupportedError>(path, ": __metadata__: format_version '", version, "' is not supported (expected 1 or ",
                           kVersion, ")");
  json quant = detail::parse_json_strict(meta("quantization"), path + ": __metadata__: quantization");
  if (!quant.is_object()) fail<FormatError>(path, ": __metadata__: quantization must be a JSON object");
  std::set<std::string> companions;
  for (auto& [name, e] : quant.items()) {
    std::string ctx = path + ": quantized tensor '" + printable(name) + "'";
    auto find = [&](const std::string& key) -> Tensor& {
      auto it = c.tensors.find(key);
      if (it == c.tensors.end()) fail<FormatError>(ctx, ": tensor '", printable(key), "' is missing");
      return it->second;
    };
    Tensor& t = find(name);
    const Tensor& s = find(name + ".scale");
    const Tensor& z = find(name + ".zero_point");
    companions.insert(name + ".scale");
    companions.insert(name + ".zero_point");
    if (!e.is_object()) fail<FormatError>(ctx, ": scheme entry must be an object");
    QuantParams q;
    if (s.dtype() != DType::f32 || s.rank() != 1) fail<FormatError>(ctx, ": scale must be a 1-D F32 tensor");
    if (z.dtype() != DType::i32 && z.dtype() != DType::i64)
      fail<FormatError>(ctx, ": zero_point must be an I32 or I64 tensor");
    if (z.rank() != 1 || z.dim(0) != s.dim(0)) fail<FormatError>(ctx, ": zero_point and scale differ in shape");
    q.scales.assign(s.data<float>(), s.data<float>() + s.numel());
    for (int64_t v : z.to_int64()) {
      if (v < INT32_MIN || v > INT32_MAX) fail<FormatError>(ctx, ": zero point ", v, " out of range");
      q.zero_points.push_back(int32_t(v));
    }
    if (e.contains("axis")) {
      if (!e["axis"].is_number_integer()) fail<FormatError>(ctx, ": axis must be an integer");
      int64_t axis = e["axis"].get<int64_t>();
      if (axis < -int64_t(t.rank()) || axis >= int64_t(t.rank()))
        fail<FormatError>(ctx, ": axis ", axis, " out of range");
      q.axis = axis;
    }
    q.qtype = t.dtype();
    if (e.contains("qtype") && e["qtype"].is_string()) {
      DType qt = dtype_from_name(e["qtype"].get<std::string>());
      if (qt != DType::undefined) q.qtype = qt;
    }
    size_t channels = q.axis ? size_t(t.dim(size_t(normalize_axis(*q.axis, int64_t(t.rank()))))) : 1;
    if (q.scales.size() != channels)
      fail<FormatError>(ctx, ": ", q.scales.size(), " scales for ", channels, " channels");
    t.set_quant(q);
  }
  auto source = [&](const std::string& name, const ValueType&) -> Tensor {
    auto it = c.tensors.find(name);
    if (it == c.tensors.end() || companions.count(name))
      fail<FormatError>(path, ": constant '", name, "' has no tensor in the file");
    return it->second;
  };
  if (version == "1") return graph_from_json(meta("graph"), source, path);
  const std::string& bytes = meta("graph_bytes");
  uint64_t size = 0;
  const auto [end, ec] = std::from_chars(bytes.data(), bytes.data() + bytes.size(), size);
  if (ec != std::errc() || end != bytes.data() + bytes.size() || bytes.empty())
    fail<FormatError>(path, ": __metadata__: graph_bytes '", printable(bytes), "' is not a byte count");
  const std::string ctx = path + ": __metadata__: graph_deflated";
  const std::vector<std::byte> text = inflate_raw(base64_decode(meta("graph_deflated"), ctx), size, ctx);
  return graph_from_json(std::string(reinterpret_cast<const char*>(text.data()), text.size()), source, path);
}
}  // namespace

Graph load_safetensors_model(const std::string& path) {
  return reading_file(path, [&] { return read_safetensors_model(path); });
}

namespace {
WeightsReport read_safetensors_weights(Graph& g, const std::string& path) {
  SafetensorsContents c = load_safetensors(path);
  WeightsReport rep;
  std::map<std::string, Tensor> replacement;
  for (Value* v : g.values()) {
    if (!v->is_constant()) continue;
    auto it = c.tensors.find(v->name());
    if (it == c.tensors.end()) {
      rep.missing_in_file.push_back(v->name());
      continue;
    }
    const Tensor& old = *v->constant();
    const Tensor& t = it->second;
    if (t.dtype() != old.dtype() || t.dims() != old.dims())
      fail<FormatError>(path, ": tensor '", v->name(), "' is ", dtype_name(t.dtype()), Shape(t.dims()).str(),
                        " but the graph's constant is ", dtype_name(old.dtype()), Shape(old.dims()).str());
    Tensor nt = t;
    nt.set_quant(old.quant());
    replacement.emplace(v->name(), std::move(nt));
    rep.replaced.push_back(v->name());
  }
  for (auto& [name, _] : c.tensors)
    if (!replacement.count(name)) rep.unused_in_file.push_back(name);
  std::map<std::string, const Tensor*> current;
  for (auto& [key, v] : stored_constants(g)) current[key] = &*v->constant();
  auto source = [&](const std::string& name, const ValueType&) -> Tensor {
    auto it = replacement.find(name);
    return it != replacement.end() ? it->second : *current.at(name);
  };
  g = graph_from_json(graph_to_json(g), source, path);
  return rep;
}
}  // namespace

WeightsReport load_safetensors_weights(Graph& g, const std::string& path) {
  return reading_file(path, [&] { return read_safetensors_weights(g, path); });
}

}  // namespace mq::serialization
