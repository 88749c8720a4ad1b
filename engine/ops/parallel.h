#pragma once
// Splitting an elementwise step over the Session's threads: contiguous chunks of the output,
// one per thread, when the step is large enough to pay for waking them. Each element is
// computed by the same kernel code whatever the split, so results do not depend on the
// thread count.
#include <algorithm>
#include <cstdint>

#include "engine/executor.h"
#include "engine/thread_pool.h"
#include "kernels/fp32/broadcast.h"

namespace mq::ops {

/// Elements below which a step runs on one thread (waking a thread costs about as much as
/// streaming this many floats).
inline constexpr int64_t kMinParallelElements = int64_t(1) << 15;

/// Threads this step may use: the run's, bounded by its pool (1 without a pool).
inline int64_t step_threads(const ExecContext& ctx) {
  return ctx.pool && ctx.threads > 1 ? std::min<int64_t>(ctx.threads, int64_t(ctx.pool->size())) : 1;
}

/// Floating-point operations below which a library kernel (oneDNN's convolution, matrix
/// product, pooling) runs on one thread: oneDNN splits its work statically over a libgomp
/// team whose end barrier waits for every thread, so a step of a few tens of microseconds
/// gains little from a second thread and, when the other core is busy, waits a scheduler
/// slice for it.
/// (After such a step the pool's own parallel steps run on that team while it spins:
/// engine/thread_pool.h.)
inline constexpr double kMinParallelFlops = double(int64_t(1) << 22);

/// Threads for a library kernel of `flops` operations: the step's, or 1 below
/// kMinParallelFlops.
inline int kernel_threads(const ExecContext& ctx, double flops) {
  return flops >= kMinParallelFlops ? int(step_threads(ctx)) : 1;
}

/// Chunks per thread of a split step: a worker that starts late (asleep, or its core busy)
/// finds part of the work left, and the caller runs the rest instead of waiting for it.
inline constexpr int64_t kChunksPerThread = 4;

/// Tasks for a step of `n` elements (or `outer` slices of them): up to kChunksPerThread per
/// thread, none below kMinParallelElements; 1 when the step has one thread.
inline int64_t step_tasks(const ExecContext& ctx, int64_t n, int64_t outer) {
  const int64_t threads = step_threads(ctx);
  if (threads <= 1 || n < 2 * kMinParallelElements) return 1;
  return std::max<int64_t>(1, std::min<int64_t>({threads * kChunksPerThread, outer, n / kMinParallelElements}));
}

/// Calls fn(begin, end) over [0, n): in one call, or in contiguous chunks over the threads.
template <class Fn>
void parallel_elements(const ExecContext& ctx, int64_t n, Fn&& fn) {
  const int64_t tasks = step_tasks(ctx, n, n);
  if (tasks <= 1) {
    fn(int64_t(0), n);
    return;
  }
  ctx.pool->parallel_for(size_t(tasks), [&](size_t t) {
    // chunk edges on multiples of 64 elements, so that vector loops keep their full width
    const int64_t b = std::min(n, (n * int64_t(t) / tasks) & ~int64_t(63));
    const int64_t e = t + 1 == size_t(tasks) ? n : std::min(n, (n * int64_t(t + 1) / tasks) & ~int64_t(63));
    if (e > b) fn(b, e);
  });
}

/// Calls fn(sub_plan, offsets) for slices of a broadcast plan along its outermost collapsed
/// dim: `offsets[k]` is operand k's element offset and offsets[num_operands] the output's.
template <class Fn>
void parallel_plan(const ExecContext& ctx, const kernels::BroadcastPlan& p, Fn&& fn) {
  int64_t offsets[kernels::kMaxBroadcastOperands + 1] = {};
  const int64_t outer = p.rank ? p.dims[0] : 1;
  const int64_t tasks = step_tasks(ctx, p.numel, outer);
  if (tasks <= 1 || p.rank == 0) {
    fn(p, offsets);
    return;
  }
  const int64_t out_stride = p.numel / outer;
  ctx.pool->parallel_for(size_t(tasks), [&](size_t t) {
    const int64_t b = outer * int64_t(t) / tasks, e = outer * int64_t(t + 1) / tasks;
    if (e <= b) return;
    kernels::BroadcastPlan sub = p;
    sub.dims[0] = e - b;
    sub.numel = (e - b) * out_stride;
    int64_t off[kernels::kMaxBroadcastOperands + 1] = {};
    for (size_t k = 0; k < p.num_operands; ++k) off[k] = b * p.strides[k][0];
    off[p.num_operands] = b * out_stride;
    fn(sub, off);
  });
}

}  // namespace mq::ops
