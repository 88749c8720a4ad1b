#pragma once
/// What the oneDNN-backed kernels share: the calling thread's scratchpad and OpenMP setting.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/fp32/layer_epilogue.h"

// Debian's oneDNN runs on OpenMP (libgomp): its threads per call are the calling thread's
// OpenMP setting. Declared here so that no compiler needs OpenMP support of its own.
extern "C" void omp_set_num_threads(int);

namespace mq::kernels {

/// At least `bytes` of 64-byte aligned scratch owned by the calling thread (reused), for a
/// primitive built with a user scratchpad: any thread may run it.
inline void* dnnl_thread_scratch(std::size_t bytes) {
  thread_local std::vector<char> buf;
  if (buf.size() < bytes + 64) buf.resize(bytes + 64);
  return buf.data() + (64 - reinterpret_cast<std::uintptr_t>(buf.data()) % 64) % 64;
}

/// The epilogue as oneDNN post-ops (sum for the residual, before or after the activation);
/// false for an activation oneDNN lacks.
bool dnnl_post_ops(const LayerEpilogue& e, dnnl::post_ops& po);

/// One operand of a primitive's run: oneDNN's argument id and either a memory object made
/// once (packed weights, bias) or the layout and address of this call's data.
struct DnnlArg {
  int id = 0;
  const dnnl::memory* mem = nullptr;       ///< persistent memory, or null and:
  const dnnl::memory::desc* md = nullptr;  ///< the layout of `data`
  const void* data = nullptr;
};

/// Runs `prim` (of `owner`, e.g. the kernel object, which names the calling thread's reused
/// memory objects for its per-call operands: no oneDNN memory is created per call) on
/// `threads` OpenMP threads of the calling thread with `args` plus a scratchpad of `scratch`
/// from dnnl_thread_scratch, on the thread's stream, and waits. False when oneDNN reports an
/// error (kernels never throw).
bool dnnl_execute(const void* owner, const dnnl::primitive& prim, std::initializer_list<DnnlArg> args,
                  const dnnl::memory::desc& scratch, int threads);

/// The CPU engine every oneDNN kernel uses.
inline const dnnl::engine& dnnl_cpu() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

/// The calling thread's in-order stream on dnnl_cpu() (made once per thread).
inline dnnl::stream& dnnl_thread_stream() {
  thread_local dnnl::stream s(dnnl_cpu());
  return s;
}

}  // namespace mq::kernels
