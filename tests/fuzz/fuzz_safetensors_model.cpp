// End to end: a .safetensors model (graph description in __metadata__, plain or deflated) is loaded, verified,
// compiled into a Session and run. The custom mutator parses the header and the graph JSON
// it carries, mutates the graph structurally (mutate_json: attribute values, shapes,
// dtypes, operands), re-serialises the header and keeps the data section; inputs without
// such a header go to LLVMFuzzerMutate.
#include <cstring>

#include "graph_fuzz.h"
#include "serialization/deflate.h"
#include "mutate.h"

namespace {

size_t mutate_safetensors(uint8_t* data, size_t size, size_t max_size, mq::fuzz::Rng& rng) {
  using nlohmann::json;
  if (size < 8) return 0;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  if (n > size - 8) return 0;
  json header = json::parse(data + 8, data + 8 + n, nullptr, false);
  if (header.is_discarded() || !header.is_object() || !header.contains("__metadata__")) return 0;
  json& meta = header["__metadata__"];
  if (!meta.is_object()) return 0;
  std::string text;
  if (meta.contains("graph") && meta["graph"].is_string()) {
    text = meta["graph"].get<std::string>();
  } else if (meta.contains("graph_deflated") && meta["graph_deflated"].is_string() &&
             meta.contains("graph_bytes") && meta["graph_bytes"].is_string()) {
    // version 2: inflate the graph; the mutant is written as version 1 (plain "graph")
    try {
      const std::string ctx = "fuzz";
      auto bytes = mq::serialization::inflate_raw(
          mq::serialization::base64_decode(meta["graph_deflated"].get<std::string>(), ctx),
          std::stoull(meta["graph_bytes"].get<std::string>()), ctx);
      text.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    } catch (const std::exception&) {
      return 0;
    }
    meta.erase("graph_deflated");
    meta.erase("graph_bytes");
    meta["format_version"] = "1";
  } else {
    return 0;
  }
  json graph = json::parse(text, nullptr, false);
  if (graph.is_discarded() || !graph.is_structured()) return 0;
  for (size_t i = 0, k = 1 + mq::fuzz::pick(rng, 3); i < k; ++i) mq::fuzz::mutate_json(rng, graph);
  meta["graph"] = graph.dump();
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  const size_t out_size = 8 + h.size() + (size - 8 - n);
  if (out_size > max_size) return 0;
  std::string out(out_size, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((h.size() >> (8 * i)) & 0xff);
  std::memcpy(out.data() + 8, h.data(), h.size());
  std::memcpy(out.data() + 8 + h.size(), data + 8 + n, size - 8 - n);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  mq::fuzz::Rng rng(seed);
  size_t out = 0;
  if (rng() % 8 != 0) {
    try {
      out = mutate_safetensors(data, size, max_size, rng);
    } catch (const nlohmann::json::exception&) {  // e.g. a string that is not UTF-8
      out = 0;
    }
  }
  return out ? out : LLVMFuzzerMutate(data, size, max_size);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) {
  return mq::fuzz::run_model_file(d, n, ".safetensors");
}
