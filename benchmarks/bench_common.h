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
#include "kernels/variant_table.h"

#ifdef MQ_HAVE_DNNL
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#endif

namespace mq::bench {

/// Threads used by monoquant's paths: MONOQUANT_BENCH_THREADS (default 1). oneDNN follows
/// OMP_NUM_THREADS (default: all cores); benchmarks/kernel_table.py sets both to the same
/// value, and the oneDNN benchmarks refuse to run when they differ (onednn_threads_match).
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
  st.counters["pct_vnni_peak"] = benchmark::Counter(macs / (362e9 * static_cast<double>(bench_threads())) * 100.0,
                                                    benchmark::Counter::kIsIterationInvariantRate);
  st.counters["threads"] = static_cast<double>(bench_threads());
}

/// 64-byte aligned, zero-initialised buffer.
template <class T>
struct Buffer {
  explicit Buffer(std::size_t n) : p(static_cast<T*>(std::aligned_alloc(64, (n * sizeof(T) + 127) / 64 * 64))) {
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

#ifdef MQ_HAVE_DNNL
/// The number of threads oneDNN will use. Debian's libdnnl uses the OpenMP runtime (libgomp,
/// loaded as its dependency), and oneDNN sizes its parallel regions by omp_get_max_threads();
/// the symbol is looked up at run time so the benchmarks need not link OpenMP themselves.
/// Without it (another CPU runtime) OMP_NUM_THREADS is read; 0 means unknown.
inline long onednn_threads() {
  using Fn = int (*)();
  static const Fn omp_max = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  if (omp_max) return omp_max();
  const char* s = std::getenv("OMP_NUM_THREADS");
  return s ? std::atol(s) : 0;
}

/// False (and the benchmark skipped with an error) when oneDNN would run on a different
/// number of threads than monoquant's paths: the comparison would not be one of equals.
inline bool onednn_threads_match(benchmark::State& st) {
  const long t = onednn_threads();
  if (t == static_cast<long>(bench_threads())) return true;
  const std::string msg =
      "oneDNN would use " + (t > 0 ? std::to_string(t) : std::string("an unknown number of")) +
      " threads but monoquant uses MONOQUANT_BENCH_THREADS=" + std::to_string(bench_threads()) +
      "; set OMP_NUM_THREADS=" + std::to_string(bench_threads()) + " (benchmarks/kernel_table.py sets both)";
  st.SkipWithError(msg.c_str());
  return false;
}

inline std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  std::string s = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  if (v->cpu_runtime == DNNL_RUNTIME_OMP) s += " (OpenMP)";
  else if (v->cpu_runtime == DNNL_RUNTIME_TBB) s += " (TBB)";
  else if (v->cpu_runtime == DNNL_RUNTIME_SEQ) s += " (sequential)";
  return s;
}
#endif

/// Context lines of the JSON/console report: compiler, thread counts, oneDNN version.
inline void add_context() {
  benchmark::AddCustomContext("compiler", __VERSION__);
  std::string tiers;
  for (kernels::Isa isa : kernels::supported_tiers())
    tiers += (tiers.empty() ? "" : " ") + std::string(kernels::isa_name(isa));
  benchmark::AddCustomContext("isa_supported", tiers);
  benchmark::AddCustomContext("isa_active", kernels::isa_name(kernels::active_isa()));
  benchmark::AddCustomContext("monoquant_threads", std::to_string(bench_threads()));
#ifdef MQ_HAVE_DNNL
  benchmark::AddCustomContext("onednn_version", onednn_version());
  benchmark::AddCustomContext("onednn_threads", std::to_string(onednn_threads()));
#endif
}

inline std::string shape_name(const char* family, const char* impl, std::size_t m, std::size_t n, std::size_t k) {
  return std::string(family) + "/" + impl + "/" + std::to_string(m) + "x" + std::to_string(n) + "x" +
         std::to_string(k) + "/threads:" + std::to_string(bench_threads());
}

/// Name of a benchmark of one variant or tier: the impl part is the variant's name (e.g.
/// "qgemm_u8s8_8x48__avx512vnni") or "int8__<tier>" for kernels that combine several
/// families; benchmarks/kernel_table.py tabulates every impl containing "__" in its
/// variants section.
inline std::string tier_impl(kernels::Isa isa) { return std::string("int8__") + kernels::isa_name(isa); }

}  // namespace mq::bench
