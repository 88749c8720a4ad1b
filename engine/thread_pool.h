// A persistent thread pool: the calling thread plus n-1 workers run parallel_for tasks.
// Between calls, workers spin for a short while (spin_time) before sleeping, so that the
// back-to-back kernel calls of a model run do not pay a thread wake-up each.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mq {

/// Persistent pool of worker threads; parallel_for blocks until every task has run.
class ThreadPool {
 public:
  /// Creates a pool of `n_threads` in total (the caller counts as one); 0 means the number of
  /// hardware threads.
  explicit ThreadPool(std::size_t n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Number of threads that run tasks, the caller included.
  std::size_t size() const { return workers_.size() + 1; }

  /// Runs fn(task) for task in [0, n_tasks) on the pool and the calling thread; returns when
  /// all tasks are done. Tasks are handed out dynamically. Not reentrant: fn must not call
  /// parallel_for on the same pool.
  void parallel_for(std::size_t n_tasks, const std::function<void(std::size_t)>& fn);

  /// How long an idle worker (or the caller waiting for the workers) spins before blocking.
  static constexpr std::chrono::microseconds spin_time{200};

 private:
  void worker_loop();
  void run_tasks();
  void run_chunk(std::size_t n_tasks, const std::function<void(std::size_t)>& fn);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;  // workers sleeping until there are tasks
  std::condition_variable done_;  // the caller sleeping until every task has finished
  // The current call's tasks, claimed one at a time by compare-and-swap on one word:
  // [generation : 24][task count : 20][next task : 20]. A thread still looking for tasks of
  // an earlier call can never claim one of a later call, and the caller waits only for the
  // tasks (not for every worker to check in), so a descheduled worker never delays it.
  std::atomic<std::uint64_t> claim_{0};
  std::atomic<const std::function<void(std::size_t)>*> fn_{nullptr};
  std::atomic<std::size_t> pending_{0};  // tasks of the current call not finished yet
  std::atomic<bool> stop_{false};
  std::uint64_t generation_ = 0;  // the caller's count of calls
  int sleeping_ = 0;              // workers blocked on wake_ (guarded by mutex_)
  bool caller_sleeping_ = false;  // the caller blocked on done_ (guarded by mutex_)
};

}  // namespace mq
