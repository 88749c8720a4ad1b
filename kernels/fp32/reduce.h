#pragma once
/// Reductions over any set of axes, and ArgMax/ArgMin over one axis. Pure kernels.
#include <cstdint>

#include "kernels/fp32/broadcast.h"

namespace mq::kernels {

/// What a reduction computes over the reduced elements.
enum class ReduceOp { sum, mean, max, min, prod, l2 };

/// Reduces x into y. `p` walks x's dims (the plan's output is x itself, contiguous) with one
/// operand: y viewed with x's rank and the reduced dims set to 1 (make_broadcast_plan of
/// x's dims with that keepdims shape). `out_numel` = y's element count, `count` = elements
/// reduced into each output. Empty reductions give the op's identity (0 for sum and mean,
/// 1 for prod, lowest / highest for max / min).
template <class T>
void reduce(ReduceOp op, const BroadcastPlan& p, const T* x, T* y, int64_t out_numel, int64_t count);

/// Index of the largest (`max`) or smallest element along the middle dim of x viewed as
/// [outer, n, inner]; ties pick the first index, or the last when `last`. n must be > 0.
template <class T>
void arg_reduce(const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner, bool max, bool last);

}  // namespace mq::kernels
