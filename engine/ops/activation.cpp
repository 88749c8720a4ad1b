// Executors for activations.
#include <limits>

#include "engine/executor.h"
#include "engine/ops/parallel.h"
#include "kernels/fp32/activation.h"

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

template <class Fn>
void dispatch_numeric(DType t, const Node& n, Fn&& fn) {
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
    default: fail<UnsupportedError>(n.describe(), ": dtype ", dtype_name(t), " is not supported");
  }
}

/// The parameters of a pointwise activation, read from the node's attributes.
k::ActivationParams params(const ExecContext& ctx, k::Activation act) {
  const Attributes& a = ctx.attrs();
  switch (act) {
    case k::Activation::leaky_relu: return {a.get_float_or("alpha", 0.01f), 0.f};
    case k::Activation::hard_sigmoid: return {a.get_float_or("alpha", 0.2f), a.get_float_or("beta", 0.5f)};
    case k::Activation::elu: return {a.get_float_or("alpha", 1.f), 0.f};
    case k::Activation::selu:
      return {a.get_float_or("alpha", 1.67326319217681884765625f),
              a.get_float_or("gamma", 1.05070102214813232421875f)};
    default: return {};
  }
}

template <k::Activation Act>
void run_activation(ExecContext& ctx) {
  const Tensor& x = ctx.in(0);
  const k::ActivationParams ap = params(ctx, Act);
  const float* px = x.data<float>();
  float* py = ctx.out(0).data<float>();
  parallel_elements(ctx, x.numel(),
                    [&](int64_t b, int64_t e) { k::activation_f32(Act, ap, px + b, py + b, e - b); });
}

void run_gelu(ExecContext& ctx) {
  const Tensor& x = ctx.in(0);
  auto act =
      ctx.attrs().get_string_or("approximate", "none") == "tanh" ? k::Activation::gelu_tanh : k::Activation::gelu;
  const float* px = x.data<float>();
  float* py = ctx.out(0).data<float>();
  parallel_elements(ctx, x.numel(),
                    [&](int64_t b, int64_t e) { k::activation_f32(act, {}, px + b, py + b, e - b); });
}

void run_relu(ExecContext& ctx) {
  const Tensor& x = ctx.in(0);
  dispatch_numeric(x.dtype(), ctx.node, [&](auto tag) {
    using T = decltype(tag);
    const T* px = ptr<T>(x);
    T* py = ptr<T>(ctx.out(0));
    parallel_elements(ctx, x.numel(), [&](int64_t b, int64_t e) { k::relu<T>(px + b, py + b, e - b); });
  });
}

void run_clip(ExecContext& ctx) {
  const Tensor& x = ctx.in(0);
  dispatch_numeric(x.dtype(), ctx.node, [&](auto tag) {
    using T = decltype(tag);
    T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
    if (ctx.has(1)) lo = ptr<T>(ctx.in(1))[0];
    if (ctx.has(2)) hi = ptr<T>(ctx.in(2))[0];
    const T* px = ptr<T>(x);
    T* py = ptr<T>(ctx.out(0));
    parallel_elements(ctx, x.numel(), [&](int64_t b, int64_t e) { k::clip<T>(px + b, py + b, e - b, lo, hi); });
  });
}

void run_prelu(ExecContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& s = ctx.in(1);
  Tensor& y = ctx.out(0);
  const int64_t* dims[2] = {x.dims().data(), s.dims().data()};
  size_t ranks[2] = {x.rank(), s.rank()};
  k::BroadcastPlan p;
  if (!k::make_broadcast_plan(y.dims().data(), y.rank(), dims, ranks, 2, p))
    fail<UnsupportedError>(ctx.node.describe(), ": cannot broadcast the slope ", s.shape().str(), " onto ",
                           x.shape().str());
  k::prelu_f32(p, x.data<float>(), s.data<float>(), y.data<float>());
}

template <bool kLog>
void run_softmax(ExecContext& ctx) {
  const Tensor& x = ctx.in(0);
  const int64_t r = int64_t(x.rank());
  if (r == 0) {  // softmax of one element
    ctx.out(0).data<float>()[0] = kLog ? 0.f : 1.f;
    return;
  }
  const int64_t axis = normalize_axis(ctx.attrs().get_int_or("axis", -1), r);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(size_t(d));
  for (int64_t d = axis + 1; d < r; ++d) inner *= x.dim(size_t(d));
  k::softmax_f32(x.data<float>(), ctx.out(0).data<float>(), outer, x.dim(size_t(axis)), inner, kLog);
}

}  // namespace

void register_activation_exec() {
  using A = k::Activation;
  set_executor(OpKind::Relu, {run_relu});
  set_executor(OpKind::LeakyRelu, {run_activation<A::leaky_relu>});
  set_executor(OpKind::Sigmoid, {run_activation<A::sigmoid>});
  set_executor(OpKind::HardSigmoid, {run_activation<A::hard_sigmoid>});
  set_executor(OpKind::HardSwish, {run_activation<A::hard_swish>});
  set_executor(OpKind::Tanh, {run_activation<A::tanh>});
  set_executor(OpKind::Erf, {run_activation<A::erf>});
  set_executor(OpKind::Elu, {run_activation<A::elu>});
  set_executor(OpKind::Selu, {run_activation<A::selu>});
  set_executor(OpKind::Softplus, {run_activation<A::softplus>});
  set_executor(OpKind::Gelu, {run_gelu});
  set_executor(OpKind::Clip, {run_clip});
  set_executor(OpKind::PRelu, {run_prelu});
  set_executor(OpKind::Softmax, {run_softmax<false>});
  set_executor(OpKind::LogSoftmax, {run_softmax<true>});
}

}  // namespace mq::ops
