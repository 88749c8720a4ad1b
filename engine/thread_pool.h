// The Session's worker threads: parallel_for runs tasks on the calling thread and n-1 more,
// from libgomp's thread team, the same threads oneDNN's kernels run on (Debian builds
// oneDNN on OpenMP). One runtime for every parallel step means no second set of threads
// spinning between steps on the same cores.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>

namespace mq {

/// Threads for parallel_for; parallel_for blocks until every task has run.
class ThreadPool {
 public:
  /// A pool of `n_threads` in total (the caller counts as one); 0 means the number of
  /// hardware threads.
  explicit ThreadPool(std::size_t n_threads = 0);
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Number of threads that run tasks, the caller included.
  std::size_t size() const { return n_threads_; }
  /// Runs fn(task) for task in [0, n_tasks) on the pool and the calling thread; returns when
  /// all tasks are done. Tasks are handed out dynamically. fn must not throw; a nested
  /// parallel_for runs on the calling thread alone.
  void parallel_for(std::size_t n_tasks, const std::function<void(std::size_t)>& fn);

  /// How long idle threads keep spinning for the next step before they sleep (libgomp's
  /// default policy; kept for callers that wait for the pool to go idle).
  static constexpr std::chrono::microseconds spin_time{200};

 private:
  std::size_t n_threads_ = 1;
};

}  // namespace mq
