#include "kernels/fp32/broadcast.h"

namespace mq::kernels {

bool BroadcastPlan::is_scalar(size_t k) const {
  for (size_t d = 0; d < rank; ++d)
    if (strides[k][d] != 0) return false;
  return true;
}

bool make_broadcast_plan(const int64_t* out_dims, size_t out_rank, const int64_t* const* in_dims,
                         const size_t* in_ranks, size_t num_operands, BroadcastPlan& plan) {
  plan = BroadcastPlan{};
  if (num_operands > kMaxBroadcastOperands) return false;
  plan.num_operands = num_operands;
  int64_t numel = 1;
  for (size_t d = 0; d < out_rank; ++d) numel *= out_dims[d];
  plan.numel = numel;
  // Walk the output dims from the innermost outward, dropping size-1 dims and merging a dim
  // into the previous (inner) one when every operand is contiguous across both or broadcast
  // along both. Dims are collected innermost first, then reversed.
  int64_t dims[kMaxBroadcastRank];
  int64_t strides[kMaxBroadcastOperands][kMaxBroadcastRank];
  int64_t running[kMaxBroadcastOperands];  // each operand's contiguous stride at this dim
  for (size_t k = 0; k < num_operands; ++k) {
    if (in_ranks[k] > out_rank) return false;
    running[k] = 1;
  }
  size_t r = 0;
  for (size_t j = 0; j < out_rank; ++j) {
    const size_t d = out_rank - 1 - j;
    const int64_t od = out_dims[d];
    int64_t st[kMaxBroadcastOperands];
    for (size_t k = 0; k < num_operands; ++k) {
      const size_t rk = in_ranks[k];
      const int64_t id = j < rk ? in_dims[k][rk - 1 - j] : 1;
      if (id != od && id != 1) return false;
      st[k] = id == 1 ? 0 : running[k];
      running[k] *= id;
    }
    if (od == 1) continue;
    bool merge = r > 0;
    for (size_t k = 0; k < num_operands && merge; ++k) {
      const int64_t inner = strides[k][r - 1];
      // contiguous: this dim's stride equals the inner stride times the inner extent
      merge = (inner == 0 && st[k] == 0) || (inner != 0 && st[k] == inner * dims[r - 1]);
    }
    if (merge) {
      dims[r - 1] *= od;
      continue;
    }
    if (r == kMaxBroadcastRank) return false;
    dims[r] = od;
    for (size_t k = 0; k < num_operands; ++k) strides[k][r] = st[k];
    ++r;
  }
  plan.rank = r;
  for (size_t i = 0; i < r; ++i) {
    plan.dims[i] = dims[r - 1 - i];
    for (size_t k = 0; k < num_operands; ++k) plan.strides[k][i] = strides[k][r - 1 - i];
  }
  return true;
}

}  // namespace mq::kernels
