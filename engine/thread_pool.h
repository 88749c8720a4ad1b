// The Session's worker threads: the calling thread plus n-1 workers run parallel_for tasks.
// Tasks are claimed one at a time, and the caller waits only for tasks a worker has claimed,
// never for a worker to show up: when the other cores are busy (a worker descheduled, or
// still asleep), the caller runs every task itself instead of stalling at a barrier, the way
// libgomp's end-of-region barrier does. Idle workers spin briefly, then sleep.
// oneDNN's kernels run on a libgomp team of their own (engine/ops/parallel.h gives them one
// thread unless a step has enough work to pay for it), whose workers spin for a few
// milliseconds after each region. While they do, parallel_for runs its tasks on that team
// (kernels::team_parallel) rather than waking this pool's workers, which would have to take
// turns with the spinning ones on the same cores: a model whose convolutions run on oneDNN
// has one set of busy threads, not two fighting for the cores; a model without them (int8)
// keeps this pool's behaviour. The team's end barrier does wait for a late worker: a call
// that found its workers late (no task taken, the end held) sends the next 500 ms of calls
// back to this pool's workers.
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
  /// A pool of `n_threads` in total (the caller counts as one); 0 means the number of
  /// hardware threads.
  explicit ThreadPool(std::size_t n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Number of threads that run tasks, the caller included.
  std::size_t size() const { return workers_.size() + 1; }

  /// Runs fn(task) for task in [0, n_tasks) on the pool and the calling thread; returns when
  /// all tasks are done. Tasks are handed out dynamically. fn must not throw. A nested
  /// parallel_for (from inside a task), or one while another thread's call holds the pool,
  /// runs on the calling thread alone. Right after the calling thread ran a oneDNN kernel on
  /// several threads, the tasks run on that kernel's OpenMP team (as many threads as the
  /// pool's), whose end barrier does wait for every one of them.
  void parallel_for(std::size_t n_tasks, const std::function<void(std::size_t)>& fn);

  /// How long an idle worker spins for the next call before it sleeps (tests wait longer
  /// than this to exercise the wake-up).
  static constexpr std::chrono::microseconds spin_time{100};

 private:
  void worker_loop();
  void run_tasks();
  void run_chunk(std::size_t n_tasks, const std::function<void(std::size_t)>& fn);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;  // workers sleeping until there are tasks
  // The current call's tasks, claimed one at a time by compare-and-swap on one word:
  // [generation : 24][task count : 20][next task : 20]. A thread still looking for tasks of
  // an earlier call can never claim one of a later call.
  std::atomic<std::uint64_t> claim_{0};
  std::atomic<const std::function<void(std::size_t)>*> fn_{nullptr};
  std::atomic<std::size_t> pending_{0};  // claimed or unclaimed tasks of the call not finished yet
  std::atomic<bool> stop_{false};
  std::atomic<bool> busy_{false};  // a call holds the pool
  std::uint64_t generation_ = 0;   // the caller's count of calls
  int sleeping_ = 0;               // workers blocked on wake_ (guarded by mutex_)
};

}  // namespace mq
