#include <fnmatch.h>

#include "engine/quantize/options.h"

namespace mq {

namespace {
bool matches_any(const std::vector<std::string>& globs, const std::string& name) {
  for (auto& g : globs)
    if (g == name || fnmatch(g.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}
}  // namespace

bool LayerSelection::selects(const Node& n) const {
  bool type_ok = (n.op() == OpKind::Linear && linear) || (n.op() == OpKind::Conv2d && conv2d) ||
                 (n.op() == OpKind::LSTM && lstm);
  if (!type_ok) return false;
  if (!include.empty() && !matches_any(include, n.name())) return false;
  return !matches_any(exclude, n.name());
}

}  // namespace mq
