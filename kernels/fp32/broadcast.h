#pragma once
/// Numpy-broadcast iteration shared by elementwise kernels: a plan computed once from the
/// output dims and each operand's dims (collapsed to the fewest dims possible), and a row
/// iterator that hands out contiguous runs of the innermost dim. No allocation.
#include <cstddef>
#include <cstdint>

namespace mq::kernels {

/// Most dims a plan can describe (after collapsing adjacent compatible dims).
inline constexpr size_t kMaxBroadcastRank = 8;
/// Most operands a plan can describe.
inline constexpr size_t kMaxBroadcastOperands = 8;

/// How the operands of a broadcast walk map onto the (contiguous) output.
struct BroadcastPlan {
  size_t rank = 0;                       ///< collapsed rank (0 = a single element)
  size_t num_operands = 0;               ///< operands described
  int64_t dims[kMaxBroadcastRank] = {};  ///< collapsed output dims
  /// Element strides of each operand per collapsed dim (0 where the operand is broadcast).
  int64_t strides[kMaxBroadcastOperands][kMaxBroadcastRank] = {};
  int64_t numel = 1;  ///< output element count

  /// Innermost run length (1 when rank is 0).
  int64_t inner() const { return rank ? dims[rank - 1] : 1; }
  /// Innermost stride of operand k: 1 (contiguous) or 0 (broadcast scalar along the run).
  int64_t inner_stride(size_t k) const { return rank ? strides[k][rank - 1] : 0; }
  /// True when operand k has exactly the output's layout.
  bool is_full(size_t k) const { return rank <= 1 && inner_stride(k) == 1; }
  /// True when operand k is a single element repeated everywhere.
  bool is_scalar(size_t k) const;
};

/// Builds a plan for operands of dims `in_dims[k]` (rank `in_ranks[k]`, right-aligned) onto
/// the output dims. Returns false when an operand does not broadcast to the output, the
/// output rank exceeds kMaxBroadcastRank even after collapsing, or there are too many operands.
bool make_broadcast_plan(const int64_t* out_dims, size_t out_rank, const int64_t* const* in_dims,
                         const size_t* in_ranks, size_t num_operands, BroadcastPlan& plan);

/// Calls `fn(offsets, out_offset, n)` for every innermost run of the output in order:
/// `offsets[k]` is operand k's element offset of the run's first element, the run holds
/// `n = plan.inner()` output elements starting at `out_offset`; operand k advances by
/// `plan.inner_stride(k)` per element.
template <class Fn>
void for_each_run(const BroadcastPlan& p, Fn&& fn) {
  int64_t offs[kMaxBroadcastOperands] = {};
  if (p.numel == 0) return;
  const int64_t n = p.inner();
  if (p.rank <= 1) {
    fn(static_cast<const int64_t*>(offs), int64_t(0), n);
    return;
  }
  int64_t idx[kMaxBroadcastRank] = {};
  const size_t outer_rank = p.rank - 1;
  for (int64_t out = 0; out < p.numel; out += n) {
    fn(static_cast<const int64_t*>(offs), out, n);
    // odometer over the outer dims
    for (size_t d = outer_rank; d-- > 0;) {
      if (++idx[d] < p.dims[d]) {
        for (size_t k = 0; k < p.num_operands; ++k) offs[k] += p.strides[k][d];
        break;
      }
      idx[d] = 0;
      for (size_t k = 0; k < p.num_operands; ++k) offs[k] -= p.strides[k][d] * (p.dims[d] - 1);
    }
  }
}

/// y = op(a, b) elementwise with broadcasting (operands 0 and 1 of the plan). Fast paths for
/// same-layout, scalar and row-broadcast operands; `y` may alias a full-layout operand.
template <class A, class B, class Y, class Op>
void broadcast_binary(const BroadcastPlan& p, const A* a, const B* b, Y* y, Op op) {
  for_each_run(p, [&](const int64_t* off, int64_t o, int64_t n) {
    const A* pa = a + off[0];
    const B* pb = b + off[1];
    Y* py = y + o;
    const bool ca = p.inner_stride(0) != 0, cb = p.inner_stride(1) != 0;
    if (ca && cb) {
      for (int64_t i = 0; i < n; ++i) py[i] = op(pa[i], pb[i]);
    } else if (ca) {
      const B vb = *pb;
      for (int64_t i = 0; i < n; ++i) py[i] = op(pa[i], vb);
    } else if (cb) {
      const A va = *pa;
      for (int64_t i = 0; i < n; ++i) py[i] = op(va, pb[i]);
    } else {
      const Y v = op(*pa, *pb);
      for (int64_t i = 0; i < n; ++i) py[i] = v;
    }
  });
}

/// y = x broadcast to the output (operand 0 of the plan): numpy `broadcast_to` + copy.
template <class T>
void broadcast_copy(const BroadcastPlan& p, const T* x, T* y) {
  for_each_run(p, [&](const int64_t* off, int64_t o, int64_t n) {
    const T* px = x + off[0];
    T* py = y + o;
    if (p.inner_stride(0)) {
      for (int64_t i = 0; i < n; ++i) py[i] = px[i];
    } else {
      const T v = *px;
      for (int64_t i = 0; i < n; ++i) py[i] = v;
    }
  });
}

}  // namespace mq::kernels
