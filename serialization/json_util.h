#pragma once
/// Internal JSON helpers (nlohmann::json is a private dependency of mq_serialization; this
/// header is not part of the public API).
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace mq::serialization::detail {

using json = nlohmann::json;

/// Parses JSON text, rejecting duplicate keys in any object. FormatError "<what>: ..." on error.
json parse_json_strict(std::string_view text, const std::string& what);
/// A float as JSON: a number when finite, else "nan" / "inf" / "-inf".
json float_to_json(float f);
/// Reads float_to_json's output; FormatError naming `what` otherwise.
float float_from_json(const json& j, const std::string& what);

}  // namespace mq::serialization::detail
