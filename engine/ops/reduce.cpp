// Executors for reductions and ArgMax/ArgMin.
#include "engine/executor.h"
#include "kernels/fp32/reduce.h"

namespace mq::ops {

namespace k = mq::kernels;

namespace {

template <class Fn>
void dispatch(DType t, const Node& n, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(float{});
    case DType::f64: return fn(double{});
    case DType::i8: return fn(int8_t{});
    case DType::u8: return fn(uint8_t{});
    case DType::i32: return fn(int32_t{});
    case DType::i64: return fn(int64_t{});
    default: fail<UnsupportedError>(n.describe(), ": dtype ", dtype_name(t), " is not supported");
  }
}

template <k::ReduceOp Op>
void run_reduce(ExecContext& ctx) {
  const Tensor& x = ctx.in(0);
  Tensor& y = ctx.out(0);
  const int64_t r = int64_t(x.rank());
  std::vector<int64_t> axes;
  if (ctx.has(1)) axes = ctx.in(1).to_int64();
  if (axes.empty() && ctx.attrs().get_int_or("noop_with_empty_axes", 0) != 0) {
    ctx.outputs[0] = x;  // the reduction over no axes is the input
    return;
  }
  std::vector<bool> reduced(size_t(r), axes.empty());
  for (int64_t a : axes) reduced[size_t(normalize_axis(a, r))] = true;
  std::vector<int64_t> kept_shape = x.dims();  // y's dims with x's rank
  int64_t count = 1;
  for (int64_t d = 0; d < r; ++d)
    if (reduced[size_t(d)]) {
      kept_shape[size_t(d)] = 1;
      count *= x.dim(size_t(d));
    }
  const int64_t* dims[1] = {kept_shape.data()};
  size_t ranks[1] = {kept_shape.size()};
  k::BroadcastPlan p;
  if (!k::make_broadcast_plan(x.dims().data(), x.rank(), dims, ranks, 1, p))
    fail<UnsupportedError>(ctx.node.describe(), ": the reduction of ", x.shape().str(),
                           " has too many alternating reduced and kept dims");
  dispatch(x.dtype(), ctx.node, [&](auto tag) {
    using T = decltype(tag);
    k::reduce<T>(Op, p, x.data<T>(), y.data<T>(), y.numel(), count);
  });
}

template <bool kMax>
void run_arg(ExecContext& ctx) {
  const Tensor& x = ctx.in(0);
  const int64_t r = int64_t(x.rank());
  const int64_t axis = normalize_axis(ctx.attrs().get_int_or("axis", 0), r);
  const bool last = ctx.attrs().get_int_or("select_last_index", 0) != 0;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(size_t(d));
  for (int64_t d = axis + 1; d < r; ++d) inner *= x.dim(size_t(d));
  dispatch(x.dtype(), ctx.node, [&](auto tag) {
    using T = decltype(tag);
    k::arg_reduce<T>(x.data<T>(), ctx.out(0).data<int64_t>(), outer, x.dim(size_t(axis)), inner, kMax, last);
  });
}

}  // namespace

void register_reduce_exec() {
  using R = k::ReduceOp;
  set_executor(OpKind::ReduceSum, {run_reduce<R::sum>});
  set_executor(OpKind::ReduceMean, {run_reduce<R::mean>});
  set_executor(OpKind::ReduceMax, {run_reduce<R::max>});
  set_executor(OpKind::ReduceMin, {run_reduce<R::min>});
  set_executor(OpKind::ReduceProd, {run_reduce<R::prod>});
  set_executor(OpKind::ReduceL2, {run_reduce<R::l2>});
  set_executor(OpKind::ArgMax, {run_arg<true>});
  set_executor(OpKind::ArgMin, {run_arg<false>});
}

}  // namespace mq::ops
