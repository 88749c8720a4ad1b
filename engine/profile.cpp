#include "engine/profile.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

namespace mq {

std::vector<Profile::OpTime> Profile::by_op() const {
  std::map<std::string, OpTime> m;
  for (const auto& s : steps) {
    OpTime& o = m[s.op];
    o.op = s.op;
    o.ms += s.ms;
    o.count++;
  }
  std::vector<OpTime> out;
  for (auto& [k, v] : m) out.push_back(v);
  std::stable_sort(out.begin(), out.end(), [](const OpTime& a, const OpTime& b) { return a.ms > b.ms; });
  return out;
}

double Profile::overhead_ms() const {
  double s = 0;
  for (const auto& st : steps) s += st.ms;
  return std::max(0.0, run_ms - s);
}

std::string Profile::str(size_t top) const {
  std::ostringstream os;
  const double runs_d = runs > 0 ? double(runs) : 1.0;
  const double total = run_ms / runs_d;
  auto line = [&](const std::string& name, double ms, const std::string& extra) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "  %-40.40s %10.3f %6.1f %%  %s\n", name.c_str(), ms,
                  total > 0 ? 100.0 * ms / total : 0.0, extra.c_str());
    os << buf;
  };
  os << "profile: " << runs << " run" << (runs == 1 ? "" : "s") << ", " << total << " ms per run\n";
  os << "by op type (ms per run, share, steps):\n";
  for (const auto& o : by_op()) line(o.op, o.ms / runs_d, std::to_string(o.count));
  line("(session: checks, buffers)", overhead_ms() / runs_d, "");
  std::vector<const StepTime*> order;
  for (const auto& s : steps) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [](const StepTime* a, const StepTime* b) { return a->ms > b->ms; });
  os << "slowest steps (ms per run, share, op):\n";
  for (size_t i = 0; i < order.size() && i < top; ++i) line(order[i]->node, order[i]->ms / runs_d, order[i]->op);
  return os.str();
}

}  // namespace mq
