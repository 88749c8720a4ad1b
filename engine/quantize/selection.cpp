#include <fnmatch.h>

#include <algorithm>

#include "engine/quantize/options.h"
#include "engine/quantize/patterns/pattern.h"

namespace mq {

namespace {
bool matches_any(const std::vector<std::string>& globs, const std::string& name) {
  for (auto& g : globs)
    if (g == name || fnmatch(g.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}
}  // namespace

bool LayerSelection::selects(const Node& n) const {
  const quant::Pattern* p = quant::pattern_for(n);
  if (!p) return false;
  if (!types.empty() && std::none_of(types.begin(), types.end(), [&](const std::string& t) {
        const quant::Pattern* q = quant::pattern_named(t);
        return q == p;
      }))
    return false;
  if (!include.empty() && !matches_any(include, n.name())) return false;
  return !matches_any(exclude, n.name());
}

void LayerSelection::check() const {
  for (const std::string& t : types)
    if (!quant::pattern_named(t))
      fail<InvalidArgument>("unknown layer type '", t, "' (expected ", quant::pattern_names(), ")");
}

}  // namespace mq
