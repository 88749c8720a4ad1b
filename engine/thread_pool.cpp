#include "engine/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <thread>

// libgomp's entry point for `#pragma omp parallel` (GCC's OpenMP ABI), called directly so
// that no compiler needs OpenMP support: fn(data) runs on num_threads threads, the caller
// being one of them.
extern "C" void GOMP_parallel(void (*fn)(void*), void* data, unsigned num_threads, unsigned flags);

namespace mq {

namespace {

struct Job {
  const std::function<void(std::size_t)>* fn;
  std::size_t n;
  std::atomic<std::size_t> next{0};
};

void run_job(void* p) {
  auto* job = static_cast<Job*>(p);
  for (std::size_t t; (t = job->next.fetch_add(1, std::memory_order_relaxed)) < job->n;) (*job->fn)(t);
}

}  // namespace

ThreadPool::ThreadPool(std::size_t n_threads) {
  n_threads_ = n_threads ? n_threads : std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

void ThreadPool::parallel_for(std::size_t n_tasks, const std::function<void(std::size_t)>& fn) {
  if (n_tasks == 0) return;
  if (n_tasks == 1 || n_threads_ == 1) {
    for (std::size_t t = 0; t < n_tasks; ++t) fn(t);
    return;
  }
  Job job{&fn, n_tasks};
  GOMP_parallel(run_job, &job, unsigned(std::min(n_tasks, n_threads_)), 0);
}

}  // namespace mq
