#include "engine/thread_pool.h"

#include <algorithm>

#include "kernels/openmp_team.h"

namespace mq {
namespace {

constexpr std::uint64_t field_bits = 20, field_mask = (1u << field_bits) - 1;
constexpr std::size_t max_chunk = field_mask;  // tasks per claim word

inline std::size_t claim_count(std::uint64_t c) { return (c >> field_bits) & field_mask; }
inline std::size_t claim_next(std::uint64_t c) { return c & field_mask; }
inline bool has_tasks(std::uint64_t c) { return claim_next(c) < claim_count(c); }

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/// Inside a task of some pool's call: a parallel_for from here runs inline.
thread_local bool in_task = false;

/// One parallel_for on the OpenMP team: its threads claim the tasks one at a time.
struct TeamCall {
  std::atomic<std::size_t> next{0};
  std::size_t n = 0;
  const std::function<void(std::size_t)>* fn = nullptr;
  const bool* caller = nullptr;                  // the calling thread's in_task
  std::atomic<std::size_t> helped{0};            // tasks the team's workers ran
  std::chrono::steady_clock::time_point done{};  // when the caller ran out of tasks
};

/// A wait at a team region's end above which workers that took no task count as late (one
/// spinning on a free core arrives within microseconds).
constexpr std::chrono::microseconds late_wait{50};

void run_team_tasks(void* arg) {
  auto* call = static_cast<TeamCall*>(arg);
  const bool outer = in_task;
  in_task = true;
  std::size_t ran = 0;
  for (std::size_t t; (t = call->next.fetch_add(1, std::memory_order_relaxed)) < call->n; ++ran) (*call->fn)(t);
  if (&in_task != call->caller) call->helped.fetch_add(ran, std::memory_order_relaxed);
  else call->done = std::chrono::steady_clock::now();
  in_task = outer;
}

}  // namespace

ThreadPool::ThreadPool(std::size_t n_threads) {
  if (n_threads == 0) n_threads = std::max<std::size_t>(1, std::thread::hardware_concurrency());
  workers_.reserve(n_threads - 1);
  for (std::size_t i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::run_tasks() {
  std::uint64_t c = claim_.load(std::memory_order_acquire);
  while (has_tasks(c)) {
    if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) continue;
    // The claimed task belongs to the call that published `c`; that call cannot return (and
    // replace fn_) before the task is finished.
    (*fn_.load(std::memory_order_acquire))(claim_next(c));
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    c = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop() {
  in_task = true;
  const auto ready = [&] { return stop_.load() || has_tasks(claim_.load(std::memory_order_acquire)); };
  for (;;) {
    bool found = false;
    const auto deadline = std::chrono::steady_clock::now() + spin_time;
    for (unsigned i = 1; !(found = ready()); ++i) {
      cpu_relax();
      if ((i & 63) == 0 && std::chrono::steady_clock::now() >= deadline) break;
    }
    if (!found) {
      std::unique_lock<std::mutex> lock(mutex_);
      ++sleeping_;
      wake_.wait(lock, ready);
      --sleeping_;
    }
    if (stop_.load()) return;
    run_tasks();
  }
}

void ThreadPool::run_chunk(std::size_t n_tasks, const std::function<void(std::size_t)>& fn) {
  fn_.store(&fn, std::memory_order_relaxed);
  pending_.store(n_tasks, std::memory_order_relaxed);
  generation_ = (generation_ + 1) & 0xFFFFFF;
  claim_.store((generation_ << (2 * field_bits)) | (std::uint64_t(n_tasks) << field_bits),
               std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (sleeping_ > 0) wake_.notify_all();
  }
  in_task = true;
  run_tasks();
  in_task = false;
  // every task is claimed: wait for those a worker still runs (never for a worker to arrive)
  for (unsigned i = 0; i < 4096; ++i) {
    if (pending_.load(std::memory_order_acquire) == 0) return;
    cpu_relax();
  }
  for (std::size_t left; (left = pending_.load(std::memory_order_acquire)) != 0;)
    pending_.wait(left, std::memory_order_acquire);
}

void ThreadPool::parallel_for(std::size_t n_tasks, const std::function<void(std::size_t)>& fn) {
  if (n_tasks == 0) return;
  if (workers_.empty() || n_tasks == 1 || in_task || busy_.exchange(true, std::memory_order_acquire)) {
    for (std::size_t t = 0; t < n_tasks; ++t) fn(t);
    return;
  }
  if (kernels::team_awake()) {
    // oneDNN's workers are spinning on the other cores, where this pool's workers would have
    // to take turns with them: run on them instead
    TeamCall call;
    call.n = n_tasks;
    call.fn = &fn;
    call.caller = &in_task;
    kernels::team_parallel(unsigned(std::min(size(), n_tasks)), run_team_tasks, &call);
    // workers that took no task and held the region's end came late (descheduled, asleep):
    // this pool's own workers, which never hold the caller, for a while
    if (call.helped.load(std::memory_order_relaxed) == 0 &&
        std::chrono::steady_clock::now() - call.done > late_wait)
      kernels::note_team_late();
    busy_.store(false, std::memory_order_release);
    return;
  }
  for (std::size_t base = 0; base < n_tasks; base += max_chunk) {
    if (base == 0 && n_tasks <= max_chunk) {
      run_chunk(n_tasks, fn);
      break;
    }
    const std::function<void(std::size_t)> part = [&](std::size_t t) { fn(base + t); };
    run_chunk(std::min(max_chunk, n_tasks - base), part);
  }
  busy_.store(false, std::memory_order_release);
}

}  // namespace mq
