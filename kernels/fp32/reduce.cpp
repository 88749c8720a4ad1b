#include "kernels/fp32/reduce.h"

#include <cmath>
#include <limits>

namespace mq::kernels {

namespace {

/// Folds x's runs into y with `f(acc, v)`.
template <class T, class F>
void fold(const BroadcastPlan& p, const T* x, T* y, F f) {
  for_each_run(p, [&](const int64_t* off, int64_t o, int64_t n) {
    const T* px = x + o;
    T* py = y + off[0];
    if (p.inner_stride(0)) {
      for (int64_t i = 0; i < n; ++i) py[i] = f(py[i], px[i]);
    } else {
      T acc = *py;
      for (int64_t i = 0; i < n; ++i) acc = f(acc, px[i]);
      *py = acc;
    }
  });
}

}  // namespace

template <class T>
void reduce(ReduceOp op, const BroadcastPlan& p, const T* x, T* y, int64_t out_numel, int64_t count) {
  using L = std::numeric_limits<T>;
  T init = T(0);
  if (op == ReduceOp::prod) init = T(1);
  if (op == ReduceOp::max) init = L::has_infinity ? -L::infinity() : L::lowest();
  if (op == ReduceOp::min) init = L::has_infinity ? L::infinity() : L::max();
  for (int64_t i = 0; i < out_numel; ++i) y[i] = init;
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::mean: fold(p, x, y, [](T a, T v) { return T(a + v); }); break;
    case ReduceOp::prod: fold(p, x, y, [](T a, T v) { return T(a * v); }); break;
    case ReduceOp::l2: fold(p, x, y, [](T a, T v) { return T(a + v * v); }); break;
    case ReduceOp::max:
      fold(p, x, y, [](T a, T v) {
        if constexpr (L::has_quiet_NaN)
          if (std::isnan(v)) return v;
        return v > a ? v : a;
      });
      break;
    case ReduceOp::min:
      fold(p, x, y, [](T a, T v) {
        if constexpr (L::has_quiet_NaN)
          if (std::isnan(v)) return v;
        return v < a ? v : a;
      });
      break;
  }
  if (op == ReduceOp::mean && count > 0)
    for (int64_t i = 0; i < out_numel; ++i) y[i] = T(y[i] / T(count));
  if (op == ReduceOp::l2)
    for (int64_t i = 0; i < out_numel; ++i) y[i] = T(std::sqrt(double(y[i])));
}

template <class T>
void arg_reduce(const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner, bool max, bool last) {
  for (int64_t o = 0; o < outer; ++o) {
    const T* xb = x + o * n * inner;
    int64_t* yb = y + o * inner;
    for (int64_t j = 0; j < inner; ++j) {
      T best = xb[j];
      int64_t bi = 0;
      for (int64_t k = 1; k < n; ++k) {
        const T v = xb[k * inner + j];
        const bool better = max ? (last ? v >= best : v > best) : (last ? v <= best : v < best);
        if (better) {
          best = v;
          bi = k;
        }
      }
      yb[j] = bi;
    }
  }
}

#define MQ_INST(T)                                                                         \
  template void reduce<T>(ReduceOp, const BroadcastPlan&, const T*, T*, int64_t, int64_t); \
  template void arg_reduce<T>(const T*, int64_t*, int64_t, int64_t, int64_t, bool, bool);
MQ_INST(float)
MQ_INST(double)
MQ_INST(int8_t)
MQ_INST(uint8_t)
MQ_INST(int32_t)
MQ_INST(int64_t)
#undef MQ_INST

}  // namespace mq::kernels
