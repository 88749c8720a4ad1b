// JSON helpers: strict parsing (no duplicate keys) and non-finite floats.
#include "serialization/json_util.h"

#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "ir/error.h"
#include "serialization/io.h"

namespace mq::serialization::detail {

json parse_json_strict(std::string_view text, const std::string& what) {
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  auto cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (ev == json::parse_event_t::key && !keys.empty()) {
      if (!keys.back().insert(parsed.get<std::string>()).second && duplicate.empty())
        duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), cb);
  } catch (const json::exception& e) {
    fail<FormatError>(what, ": invalid JSON: ", printable(e.what(), 4 * kMaxEchoedChars));
  }
  if (!duplicate.empty()) fail<FormatError>(what, ": duplicate key '", duplicate, "'");
  return j;
}

json float_to_json(float f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  return double(f);
}

float float_from_json(const json& j, const std::string& what) {
  if (j.is_number()) return float(j.get<double>());
  if (j.is_string()) {
    auto s = j.get<std::string>();
    if (s == "nan") return std::numeric_limits<float>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<float>::infinity();
    if (s == "-inf") return -std::numeric_limits<float>::infinity();
  }
  fail<FormatError>(what, ": expected a number, got ", printable(j.dump()));
}

}  // namespace mq::serialization::detail
