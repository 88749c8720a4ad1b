// Shared helpers of the kernel microbenchmarks: thread count, counters, aligned buffers.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/thread_pool.h"

namespace mq::bench {

/// Threads used by monoquant's paths: MONOQUANT_BENCH_THREADS (default 1). oneDNN follows
/// OMP_NUM_THREADS; benchmarks/kernel_table.py sets both to the same value.
inline std::size_t bench_threads() {
  const char* s = std::getenv("MONOQUANT_BENCH_THREADS");
  const long v = s ? std::atol(s) : 1;
  return v > 0 ? static_cast<std::size_t>(v) : 1;
}

inline ThreadPool& pool() {
  static ThreadPool p(bench_threads());
  return p;
}

/// GOPS (2 ops per MAC) and the share of this machine's AVX512-VNNI peak (362 GMAC/s/core).
inline void set_counters(benchmark::State& st, double macs) {
  st.counters["GOPS"] = benchmark::Counter(2.0 * macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["pct_vnni_peak"] = benchmark::Counter(
      macs / (362e9 * static_cast<double>(bench_threads())) * 100.0,
      benchmark::Counter::kIsIterationInvariantRate);
  st.counters["threads"] = static_cast<double>(bench_threads());
}

/// 64-byte aligned, zero-initialised buffer.
template <class T>
struct Buffer {
  explicit Buffer(std::size_t n)
      : p(static_cast<T*>(std::aligned_alloc(64, (n * sizeof(T) + 127) / 64 * 64))) {
    std::fill(p.get(), p.get() + n, T{});
  }
  T* get() const { return p.get(); }
  struct Free {
    void operator()(T* q) const { std::free(q); }
  };
  std::unique_ptr<T, Free> p;
};

template <class T>
void fill(T* p, std::size_t n, double lo, double hi) {
  static std::mt19937 g(7);
  std::uniform_real_distribution<double> d(lo, hi);
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<T>(d(g));
}

inline std::string shape_name(const char* family, const char* impl, std::size_t m,
                              std::size_t n, std::size_t k) {
  return std::string(family) + "/" + impl + "/" + std::to_string(m) + "x" + std::to_string(n) +
         "x" + std::to_string(k) + "/threads:" + std::to_string(bench_threads());
}

}  // namespace mq::bench
