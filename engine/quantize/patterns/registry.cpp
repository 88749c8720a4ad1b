// The list of quantization patterns and lookups over it.
#include <algorithm>
#include <cctype>

#include "engine/quantize/patterns/patterns.h"

namespace mq::quant {

const std::vector<const Pattern*>& patterns() {
  static const std::vector<const Pattern*> all = {
      &linear_pattern(), &conv2d_pattern(), &lstm_pattern(),          &matmul_pattern(),
      &add_pattern(),    &mul_pattern(),    &activation_pattern(),    &arithmetic_pattern(),
      &reduce_pattern(), &concat_pattern(), &data_movement_pattern(), &average_pattern()};
  return all;
}

const Pattern* pattern_for(const Node& n) {
  for (const Pattern* p : patterns())
    if (p->matches(n)) return p;
  return nullptr;
}

const Pattern* pattern_producing(OpKind op) {
  for (const Pattern* p : patterns())
    if (p->produces(op)) return p;
  return nullptr;
}

const Pattern* pattern_named(std::string_view name) {
  std::string lower(name);
  for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "conv") lower = "conv2d";
  for (const Pattern* p : patterns())
    if (p->name() == lower) return p;
  return nullptr;
}

std::string pattern_names() {
  std::string s;
  for (const Pattern* p : patterns()) s += (s.empty() ? "" : ", ") + std::string(p->name());
  return s;
}

}  // namespace mq::quant
