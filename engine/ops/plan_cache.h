#pragma once
/// Kernel objects an executor builds once per input shape (oneDNN primitives with their
/// weights reordered) and keeps for the Session, plus the per-thread scratch they run with.
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

/// At least `bytes` of 64-byte aligned scratch owned by the calling thread (reused).
inline void* thread_scratch(size_t bytes) {
  thread_local std::vector<char> buf;
  if (buf.size() < bytes + 64) buf.resize(bytes + 64);
  return buf.data() + (64 - reinterpret_cast<uintptr_t>(buf.data()) % 64) % 64;
}

}  // namespace mq::ops
