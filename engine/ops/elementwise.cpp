// Executors for elementwise arithmetic, comparison and logic ops, Where, Cast and Identity.
#include <cmath>

#include "engine/executor.h"
#include "engine/ops/parallel.h"
#include "kernels/fp32/elementwise.h"

namespace mq::ops {

namespace k = mq::kernels;

namespace {

/// Element pointer of a tensor whose dtype the caller has dispatched on (u16 and f16 share
/// uint16_t, so Tensor::data cannot name u16).
template <class T>
T* ptr(Tensor& t) {
  return static_cast<T*>(t.raw());
}
template <class T>
const T* ptr(const Tensor& t) {
  return static_cast<const T*>(t.raw());
}

/// Calls fn(T{}) with the C++ type of a numeric dtype (and bool when `kWithBool`).
template <bool kWithBool, class Fn>
void dispatch(DType t, const Node& n, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(float{});
    case DType::f64: return fn(double{});
    case DType::i8: return fn(int8_t{});
    case DType::u8: return fn(uint8_t{});
    case DType::i16: return fn(int16_t{});
    case DType::u16: return fn(uint16_t{});
    case DType::i32: return fn(int32_t{});
    case DType::u32: return fn(uint32_t{});
    case DType::i64: return fn(int64_t{});
    case DType::u64: return fn(uint64_t{});
    case DType::boolean:
      if constexpr (kWithBool) return fn(bool{});
      break;
    default: break;
  }
  fail<UnsupportedError>(n.describe(), ": dtype ", dtype_name(t), " is not supported");
}

/// The broadcast plan of `ins` onto `out`.
k::BroadcastPlan plan(const ExecContext& ctx, const Tensor& out, std::initializer_list<const Tensor*> ins) {
  const int64_t* dims[k::kMaxBroadcastOperands];
  size_t ranks[k::kMaxBroadcastOperands];
  size_t n = 0;
  for (const Tensor* t : ins) {
    dims[n] = t->dims().data();
    ranks[n] = t->rank();
    ++n;
  }
  k::BroadcastPlan p;
  if (!k::make_broadcast_plan(out.dims().data(), out.rank(), dims, ranks, n, p))
    fail<UnsupportedError>(ctx.node.describe(), ": cannot broadcast the operands to ", out.shape().str(),
                           " (more than ", k::kMaxBroadcastRank, " distinct dims?)");
  return p;
}

/// Add, Sub, Mul, Div and the variadic Max, Min, Sum, Mean: folds operands into the output.
template <k::BinaryOp Op, bool kMean = false>
void run_binary(ExecContext& ctx) {
  Tensor& y = ctx.out(0);
  dispatch<false>(y.dtype(), ctx.node, [&](auto tag) {
    using T = decltype(tag);
    const size_t n = ctx.inputs.size();
    if (n == 1) {
      k::broadcast_copy(plan(ctx, y, {&ctx.in(0)}), ptr<T>(ctx.in(0)), ptr<T>(y));
    } else {
      // large outputs are split over the session's threads along the outermost dim
      auto step = [&](const Tensor& a, const Tensor& b) {
        const T* pa = ptr<T>(a);
        const T* pb = ptr<T>(b);
        T* py = ptr<T>(y);
        parallel_plan(ctx, plan(ctx, y, {&a, &b}), [&](const k::BroadcastPlan& p, const int64_t* off) {
          k::binary<T>(Op, p, pa + off[0], pb + off[1], py + off[2]);
        });
      };
      step(ctx.in(0), ctx.in(1));
      for (size_t i = 2; i < n; ++i) step(y, ctx.in(i));
    }
    if constexpr (kMean) k::scale<T>(ptr<T>(y), y.numel(), 1.0 / double(n));
  });
}

/// A copy of `t` converted to dtype `to`.
Tensor converted(const Node& n, const Tensor& t, DType to) {
  Tensor r(to, t.dims());
  dispatch<true>(t.dtype(), n, [&](auto from) {
    using F = decltype(from);
    dispatch<true>(to, n, [&](auto into) {
      using U = decltype(into);
      k::convert<F, U>(ptr<F>(t), ptr<U>(r), t.numel());
    });
  });
  return r;
}

/// Pow: f32 ^ f32 directly; every other combination (mixed or integer types) in f64.
void run_pow(ExecContext& ctx) {
  const Tensor& a = ctx.in(0);
  const Tensor& b = ctx.in(1);
  Tensor& y = ctx.out(0);
  if (a.dtype() == DType::f32 && b.dtype() == DType::f32) {
    k::binary<float>(k::BinaryOp::pow, plan(ctx, y, {&a, &b}), a.data<float>(), b.data<float>(), y.data<float>());
    return;
  }
  Tensor a64 = converted(ctx.node, a, DType::f64), b64 = converted(ctx.node, b, DType::f64);
  Tensor y64(DType::f64, y.dims());
  k::binary<double>(k::BinaryOp::pow, plan(ctx, y, {&a64, &b64}), a64.data<double>(), b64.data<double>(),
                    y64.data<double>());
  dispatch<false>(y.dtype(), ctx.node, [&](auto tag) {
    k::convert<double, decltype(tag)>(y64.data<double>(), ptr<decltype(tag)>(y), y.numel());
  });
}

template <k::CompareOp Op>
void run_compare(ExecContext& ctx) {
  const Tensor& a = ctx.in(0);
  const Tensor& b = ctx.in(1);
  Tensor& y = ctx.out(0);
  dispatch<true>(a.dtype(), ctx.node, [&](auto tag) {
    using T = decltype(tag);
    const T* pa = ptr<T>(a);
    const T* pb = ptr<T>(b);
    bool* py = y.data<bool>();
    parallel_plan(ctx, plan(ctx, y, {&a, &b}), [&](const k::BroadcastPlan& p, const int64_t* off) {
      k::compare<T>(Op, p, pa + off[0], pb + off[1], py + off[2]);
    });
  });
}

template <k::LogicOp Op>
void run_logic(ExecContext& ctx) {
  const Tensor& a = ctx.in(0);
  const Tensor& b = ctx.in(1);
  Tensor& y = ctx.out(0);
  k::logic(Op, plan(ctx, y, {&a, &b}), a.data<bool>(), b.data<bool>(), y.data<bool>());
}

template <k::UnaryOp Op>
void run_unary(ExecContext& ctx) {
  const Tensor& x = ctx.in(0);
  Tensor& y = ctx.out(0);
  dispatch<false>(x.dtype(), ctx.node, [&](auto tag) {
    using T = decltype(tag);
    const T* px = ptr<T>(x);
    T* py = ptr<T>(y);
    parallel_elements(ctx, x.numel(), [&](int64_t b, int64_t e) { k::unary<T>(Op, px + b, py + b, e - b); });
  });
}

void run_not(ExecContext& ctx) {
  k::logical_not(ctx.in(0).data<bool>(), ctx.out(0).data<bool>(), ctx.in(0).numel());
}

void run_where(ExecContext& ctx) {
  const Tensor& c = ctx.in(0);
  const Tensor& a = ctx.in(1);
  const Tensor& b = ctx.in(2);
  Tensor& y = ctx.out(0);
  dispatch<true>(y.dtype(), ctx.node, [&](auto tag) {
    using T = decltype(tag);
    k::where<T>(plan(ctx, y, {&c, &a, &b}), c.data<bool>(), ptr<T>(a), ptr<T>(b), ptr<T>(y));
  });
}

void run_cast(ExecContext& ctx) {
  Tensor widened;
  const bool half = ctx.in(0).dtype() == DType::f16 || ctx.in(0).dtype() == DType::bf16;
  if (half) {
    const Tensor& h = ctx.in(0);
    widened = Tensor(DType::f32, h.dims());
    auto* bits = static_cast<const uint16_t*>(h.raw());
    if (h.dtype() == DType::f16) k::f16_to_f32(bits, widened.data<float>(), h.numel());
    else k::bf16_to_f32(bits, widened.data<float>(), h.numel());
  }
  const Tensor& x = half ? widened : ctx.in(0);
  Tensor& y = ctx.out(0);
  dispatch<true>(x.dtype(), ctx.node, [&](auto from) {
    using F = decltype(from);
    dispatch<true>(y.dtype(), ctx.node, [&](auto into) {
      using U = decltype(into);
      const F* px = ptr<F>(x);
      U* py = ptr<U>(y);
      parallel_elements(ctx, x.numel(), [&](int64_t b, int64_t e) { k::convert<F, U>(px + b, py + b, e - b); });
    });
  });
}

/// Identity: the output is the input (shared storage; the buffer pool never reuses a
/// storage someone still holds).
void run_identity(ExecContext& ctx) {
  Tensor x = ctx.in(0);
  x.set_quant(ctx.out(0).quant());
  ctx.outputs[0] = x;
}

}  // namespace

void register_elementwise_exec() {
  using B = k::BinaryOp;
  using C = k::CompareOp;
  using U = k::UnaryOp;
  set_executor(OpKind::Add, {run_binary<B::add>});
  set_executor(OpKind::Sub, {run_binary<B::sub>});
  set_executor(OpKind::Mul, {run_binary<B::mul>});
  set_executor(OpKind::Div, {run_binary<B::div>});
  set_executor(OpKind::Max, {run_binary<B::max>});
  set_executor(OpKind::Min, {run_binary<B::min>});
  set_executor(OpKind::Sum, {run_binary<B::add>});
  set_executor(OpKind::Mean, {run_binary<B::add, true>});
  set_executor(OpKind::Pow, {run_pow});
  set_executor(OpKind::Equal, {run_compare<C::equal>});
  set_executor(OpKind::Less, {run_compare<C::less>});
  set_executor(OpKind::Greater, {run_compare<C::greater>});
  set_executor(OpKind::LessOrEqual, {run_compare<C::less_equal>});
  set_executor(OpKind::GreaterOrEqual, {run_compare<C::greater_equal>});
  set_executor(OpKind::And, {run_logic<k::LogicOp::and_>});
  set_executor(OpKind::Or, {run_logic<k::LogicOp::or_>});
  set_executor(OpKind::Xor, {run_logic<k::LogicOp::xor_>});
  set_executor(OpKind::Not, {run_not});
  set_executor(OpKind::Neg, {run_unary<U::neg>});
  set_executor(OpKind::Abs, {run_unary<U::abs>});
  set_executor(OpKind::Sqrt, {run_unary<U::sqrt>});
  set_executor(OpKind::Exp, {run_unary<U::exp>});
  set_executor(OpKind::Log, {run_unary<U::log>});
  set_executor(OpKind::Reciprocal, {run_unary<U::reciprocal>});
  set_executor(OpKind::Floor, {run_unary<U::floor>});
  set_executor(OpKind::Ceil, {run_unary<U::ceil>});
  set_executor(OpKind::Round, {run_unary<U::round>});
  set_executor(OpKind::Sign, {run_unary<U::sign>});
  set_executor(OpKind::Sin, {run_unary<U::sin>});
  set_executor(OpKind::Cos, {run_unary<U::cos>});
  set_executor(OpKind::Where, {run_where});
  set_executor(OpKind::Cast, {run_cast});
  set_executor(OpKind::Identity, {run_identity});
}

}  // namespace mq::ops
