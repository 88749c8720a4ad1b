#pragma once
/// Kernel objects an executor builds once per input shape (oneDNN primitives with their
/// weights reordered) and keeps for the Session.
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace mq::ops {

template <class Plan>
struct PlanCache {
  std::mutex mutex;
  std::map<std::vector<int64_t>, std::shared_ptr<Plan>> plans;

  /// The plan for `key`, made by make() on first use (a null result is kept too: the
  /// caller's fallback runs then).
  template <class Make>
  std::shared_ptr<Plan> get(const std::vector<int64_t>& key, Make&& make) {
    std::lock_guard<std::mutex> lock(mutex);
    auto [it, fresh] = plans.try_emplace(key);
    if (fresh) it->second = std::shared_ptr<Plan>(make());
    return it->second;
  }
};

}  // namespace mq::ops
