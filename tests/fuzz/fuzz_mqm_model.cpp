// End to end: an .mqm model (FlatBuffers) is loaded, verified, compiled into a Session and
// run. The custom mutator loads the input as a graph, mutates its JSON description
// structurally (mutate_json: attribute values, shapes, dtypes, operands), rebuilds the graph
// with the original constants and saves it as .mqm again; inputs that do not load (or whose
// mutation does not rebuild) go to LLVMFuzzerMutate.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "graph_fuzz.h"
#include "mutate.h"
#include "serialization/graph_json.h"
#include "serialization/serialization.h"

namespace {

size_t mutate_mqm(uint8_t* data, size_t size, size_t max_size, mq::fuzz::Rng& rng) {
  namespace ser = mq::serialization;
  static const std::string in = "/tmp/mq_fuzz_mut_in_" + std::to_string(::getpid()) + ".mqm";
  static const std::string out = "/tmp/mq_fuzz_mut_out_" + std::to_string(::getpid()) + ".mqm";
  std::ofstream(in, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), std::streamsize(size));
  std::string bytes;
  {
    mq::Graph g = ser::load_mqm(in);
    nlohmann::json doc = nlohmann::json::parse(ser::graph_to_json(g));
    for (size_t i = 0, k = 1 + mq::fuzz::pick(rng, 3); i < k; ++i) mq::fuzz::mutate_json(rng, doc);
    auto constants = [&](const std::string& name, const mq::ValueType&) -> mq::Tensor {
      const mq::Value* v = g.find_value(name);
      if (!v || !v->is_constant()) mq::fail<mq::FormatError>("no constant '", name, "'");
      return *v->constant();
    };
    mq::Graph m = ser::graph_from_json(doc.dump(), constants, "mutation");
    ser::save_mqm(m, out);
  }
  std::ifstream f(out, std::ios::binary);
  bytes.assign(std::istreambuf_iterator<char>(f), {});
  if (bytes.empty() || bytes.size() > max_size) return 0;
  std::memcpy(data, bytes.data(), bytes.size());
  return bytes.size();
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  mq::fuzz::Rng rng(seed);
  size_t out = 0;
  if (rng() % 4 != 0) {
    try {
      out = mutate_mqm(data, size, max_size, rng);
    } catch (const mq::Error&) {  // not a loadable model, or the mutation does not rebuild
    } catch (const nlohmann::json::exception&) {
    }
  }
  return out ? out : LLVMFuzzerMutate(data, size, max_size);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) {
  return mq::fuzz::run_model_file(d, n, ".mqm");
}
