// A persistent thread pool: the calling thread plus n-1 workers run parallel_for tasks.
#pragma once

#include <condition_variable>
#include <cstddef>
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

 private:
  void worker_loop();
  void run_tasks(std::unique_lock<std::mutex>& lock);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(std::size_t)>* fn_ = nullptr;
  std::size_t n_tasks_ = 0;
  std::size_t next_task_ = 0;
  std::size_t pending_ = 0;       // tasks not finished yet
  std::size_t generation_ = 0;    // bumped for every parallel_for
  bool stop_ = false;
};

}  // namespace mq
