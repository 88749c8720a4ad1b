#pragma once
// Pieces of the structural mutators (LLVMFuzzerCustomMutator) of the graph targets: extreme
// integers and floats, list edits, and a JSON mutator for the graph description that
// safetensors' __metadata__ and the .pt graph record carry (serialization/graph_json.cpp).
#include <algorithm>
#include <cstddef>
#include <iterator>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace mq::fuzz {

using Rng = std::mt19937_64;

inline size_t pick(Rng& rng, size_t n) { return n ? size_t(rng() % n) : 0; }

/// An attribute or dim value a careless reader trusts: 0, ±1, a few sizes larger than any
/// test tensor, and the limits of int32 / int64; sometimes the old value nudged.
inline int64_t extreme_int(Rng& rng, int64_t old) {
  static const int64_t table[] = {0,
                                  1,
                                  -1,
                                  2,
                                  3,
                                  -2,
                                  7,
                                  64,
                                  4096,
                                  -4096,
                                  65536,
                                  1 << 20,
                                  int64_t(1) << 31,
                                  std::numeric_limits<int32_t>::max(),
                                  std::numeric_limits<int32_t>::min(),
                                  int64_t(1) << 40,
                                  std::numeric_limits<int64_t>::max(),
                                  std::numeric_limits<int64_t>::min()};
  switch (rng() % 4) {
    case 0: return int64_t(uint64_t(old) + rng() % 5 - 2);  // wraps, as the mutator means to
    case 1: return int64_t(0 - uint64_t(old));
    default: return table[pick(rng, std::size(table))];
  }
}
inline double extreme_float(Rng& rng) {
  static const double table[] = {0.0,
                                 -0.0,
                                 1.0,
                                 -1.0,
                                 1e-45,
                                 1e-30,
                                 1e30,
                                 3.4e38,
                                 -3.4e38,
                                 1e300,
                                 std::numeric_limits<double>::infinity(),
                                 -std::numeric_limits<double>::infinity(),
                                 std::numeric_limits<double>::quiet_NaN(),
                                 0.5,
                                 255.0,
                                 65504.0};
  return table[pick(rng, std::size(table))];
}
/// extreme_float for float attributes (an out-of-range double → float conversion is UB).
inline float extreme_f32(Rng& rng) {
  const double d = extreme_float(rng);
  return d > 3.4e38    ? std::numeric_limits<float>::infinity()
         : d < -3.4e38 ? -std::numeric_limits<float>::infinity()
                       : float(d);
}
/// Edits a list in place: change one element, append, drop the last, clear, or repeat it.
template <class T, class Make>
void mutate_list(Rng& rng, std::vector<T>& v, Make make) {
  switch (rng() % 6) {
    case 0:
      if (!v.empty()) v.pop_back();
      break;
    case 1: v.push_back(v.empty() ? make(T{}) : make(v[pick(rng, v.size())])); break;
    case 2: v.clear(); break;
    case 3: {
      size_t n = v.size();
      for (size_t i = 0; i < n && v.size() < 64; ++i) v.push_back(v[i]);
      break;
    }
    default:
      if (!v.empty()) {
        size_t i = pick(rng, v.size());
        v[i] = make(v[i]);
      }
  }
}

inline const std::vector<std::string>& dtype_names() {
  static const std::vector<std::string> names = {"f32", "f16", "bf16", "f64", "i8",  "u8",   "i16",
                                                 "u16", "i32", "u32",  "i64", "u64", "bool", "undefined"};
  return names;
}

/// Mutates one node of a JSON document: an integer becomes an extreme value, a float an
/// extreme float, an array is lengthened, shortened or has an element changed, a dtype
/// name becomes another dtype, any other string becomes another string of the document
/// (rewiring operands, swapping ops or attribute types), an object loses a member.
inline void mutate_json(Rng& rng, nlohmann::json& doc) {
  std::vector<nlohmann::json*> nodes;
  std::vector<std::string> strings;
  auto walk = [&](auto& self, nlohmann::json& j) -> void {
    nodes.push_back(&j);
    if (j.is_string()) strings.push_back(j.get<std::string>());
    if (j.is_structured())
      for (auto& c : j) self(self, c);
  };
  walk(walk, doc);
  for (int tries = 0; tries < 8; ++tries) {
    nlohmann::json& j = *nodes[pick(rng, nodes.size())];
    if (j.is_number_integer()) {
      j = extreme_int(rng, j.get<int64_t>());
    } else if (j.is_number_float()) {
      double f = extreme_float(rng);
      j = f;
    } else if (j.is_array()) {
      std::vector<nlohmann::json> v = j.get<std::vector<nlohmann::json>>();
      mutate_list(rng, v, [&](const nlohmann::json& e) -> nlohmann::json {
        if (e.is_number_integer()) return extreme_int(rng, e.get<int64_t>());
        if (e.is_number_float()) return extreme_float(rng);
        return e;
      });
      j = v;
    } else if (j.is_string()) {
      const auto& dts = dtype_names();
      if (std::find(dts.begin(), dts.end(), j.get<std::string>()) != dts.end() || rng() % 4 == 0)
        j = dts[pick(rng, dts.size())];
      else j = strings[pick(rng, strings.size())];
    } else if (j.is_object() && !j.empty()) {
      auto it = j.begin();
      std::advance(it, pick(rng, j.size()));
      j.erase(it);
    } else {
      continue;
    }
    return;
  }
}

}  // namespace mq::fuzz
