// End to end: a .pt model (torch zip, restricted pickle, graph description record) is
// loaded, verified, compiled into a Session and run. The custom mutator rewrites the archive
// with its graph description mutated structurally (mutate_json: attribute values, shapes,
// dtypes, operands) and valid CRCs; inputs that are not such archives go to LLVMFuzzerMutate.
#include <cstring>

#include "graph_fuzz.h"
#include "mutate.h"
#include "serialization/io.h"
#include "serialization/zip.h"

namespace {

size_t mutate_torch(uint8_t* data, size_t size, size_t max_size, mq::fuzz::Rng& rng) {
  using namespace mq::serialization;
  ZipReader zip(mq::fuzz::bytes(data, size), "fuzz.pt");
  std::vector<std::pair<std::string, std::vector<std::byte>>> entries;
  bool mutated = false;
  for (const ZipEntry& e : zip.entries()) {
    if (e.size > max_size) return 0;
    std::vector<std::byte> bytes = zip.extract(e);
    if (e.name.ends_with("monoquant/graph.json")) {
      auto text = reinterpret_cast<const char*>(bytes.data());
      nlohmann::json graph = nlohmann::json::parse(text, text + bytes.size(), nullptr, false);
      if (graph.is_discarded() || !graph.is_structured()) return 0;
      for (size_t i = 0, k = 1 + mq::fuzz::pick(rng, 3); i < k; ++i) mq::fuzz::mutate_json(rng, graph);
      const std::string s = graph.dump();
      bytes.assign(reinterpret_cast<const std::byte*>(s.data()),
                   reinterpret_cast<const std::byte*>(s.data() + s.size()));
      mutated = true;
    }
    entries.emplace_back(e.name, std::move(bytes));
  }
  if (!mutated) return 0;
  BufferSink out;
  ZipWriter writer(out);
  for (auto& [name, bytes] : entries) writer.add(name, bytes);
  writer.finish();
  if (out.bytes().size() > max_size) return 0;
  std::memcpy(data, out.bytes().data(), out.bytes().size());
  return out.bytes().size();
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  mq::fuzz::Rng rng(seed);
  size_t out = 0;
  if (rng() % 8 != 0) {
    try {
      out = mutate_torch(data, size, max_size, rng);
    } catch (const mq::Error&) {  // not an archive
    } catch (const nlohmann::json::exception&) {
    }
  }
  return out ? out : LLVMFuzzerMutate(data, size, max_size);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) { return mq::fuzz::run_model_file(d, n, ".pt"); }
