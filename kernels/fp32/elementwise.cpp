#include "kernels/fp32/elementwise.h"

#include "kernels/fp32/vmath.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace mq::kernels {

namespace {

template <class T>
constexpr bool kFloat = std::is_floating_point_v<T>;

template <class T>
T max_op(T a, T b) {
  if constexpr (kFloat<T>) return (std::isnan(a) || a > b) ? a : b;  // NaN propagates
  else return a > b ? a : b;
}
template <class T>
T min_op(T a, T b) {
  if constexpr (kFloat<T>) return (std::isnan(a) || a < b) ? a : b;
  else return a < b ? a : b;
}
template <class T>
T div_op(T a, T b) {
  if constexpr (kFloat<T>) {
    return a / b;
  } else {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<T>)
      if (b == T(-1)) return T(0) - a;  // avoids the INT_MIN / -1 trap (wraps like numpy)
    return T(a / b);
  }
}
template <class T>
T pow_op(T a, T b) {
  if constexpr (std::is_same_v<T, float>) return std::pow(a, b);
  else return T(std::pow(double(a), double(b)));
}

}  // namespace

template <class T>
void binary(BinaryOp op, const BroadcastPlan& p, const T* a, const T* b, T* y) {
  if constexpr (std::is_same_v<T, float>) {
    if (op != BinaryOp::pow && p.inner() >= 16) {  // vectorized per run (the same IEEE operations)
      for_each_run(p, [&](const int64_t* off, int64_t o, int64_t n) {
        arith_f32(arith_of(op), a + off[0], p.inner_stride(0), b + off[1], p.inner_stride(1), y + o, n);
      });
      return;
    }
  }
  switch (op) {
    case BinaryOp::add: return broadcast_binary(p, a, b, y, [](T u, T v) { return T(u + v); });
    case BinaryOp::sub: return broadcast_binary(p, a, b, y, [](T u, T v) { return T(u - v); });
    case BinaryOp::mul: return broadcast_binary(p, a, b, y, [](T u, T v) { return T(u * v); });
    case BinaryOp::div: return broadcast_binary(p, a, b, y, div_op<T>);
    case BinaryOp::pow: return broadcast_binary(p, a, b, y, pow_op<T>);
    case BinaryOp::max: return broadcast_binary(p, a, b, y, max_op<T>);
    case BinaryOp::min: return broadcast_binary(p, a, b, y, min_op<T>);
  }
}

template <class T>
void compare(CompareOp op, const BroadcastPlan& p, const T* a, const T* b, bool* y) {
  switch (op) {
    case CompareOp::equal: return broadcast_binary(p, a, b, y, [](T u, T v) { return u == v; });
    case CompareOp::less: return broadcast_binary(p, a, b, y, [](T u, T v) { return u < v; });
    case CompareOp::greater: return broadcast_binary(p, a, b, y, [](T u, T v) { return u > v; });
    case CompareOp::less_equal: return broadcast_binary(p, a, b, y, [](T u, T v) { return u <= v; });
    case CompareOp::greater_equal: return broadcast_binary(p, a, b, y, [](T u, T v) { return u >= v; });
  }
}

void logic(LogicOp op, const BroadcastPlan& p, const bool* a, const bool* b, bool* y) {
  switch (op) {
    case LogicOp::and_: return broadcast_binary(p, a, b, y, [](bool u, bool v) { return u && v; });
    case LogicOp::or_: return broadcast_binary(p, a, b, y, [](bool u, bool v) { return u || v; });
    case LogicOp::xor_: return broadcast_binary(p, a, b, y, [](bool u, bool v) { return u != v; });
  }
}

void logical_not(const bool* x, bool* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = !x[i];
}

template <class T>
void unary(UnaryOp op, const T* x, T* y, int64_t n) {
  auto apply = [&](auto f) {
    for (int64_t i = 0; i < n; ++i) y[i] = T(f(x[i]));
  };
  switch (op) {
    case UnaryOp::neg: return apply([](T v) { return T(0) - v; });
    case UnaryOp::abs:
      if constexpr (std::is_unsigned_v<T>) return apply([](T v) { return v; });
      else return apply([](T v) { return v < T(0) ? T(0) - v : v; });
    case UnaryOp::sign: return apply([](T v) { return T((T(0) < v) - (v < T(0))); });
    case UnaryOp::reciprocal: return apply([](T v) { return div_op<T>(T(1), v); });
    default: break;
  }
  if constexpr (kFloat<T>) {
    switch (op) {
      case UnaryOp::sqrt: return apply([](T v) { return std::sqrt(v); });
      case UnaryOp::exp: return apply([](T v) { return std::exp(v); });
      case UnaryOp::log: return apply([](T v) { return std::log(v); });
      case UnaryOp::floor: return apply([](T v) { return std::floor(v); });
      case UnaryOp::ceil: return apply([](T v) { return std::ceil(v); });
      case UnaryOp::round: return apply([](T v) { return std::nearbyint(v); });  // half to even
      case UnaryOp::sin: return apply([](T v) { return std::sin(v); });
      case UnaryOp::cos: return apply([](T v) { return std::cos(v); });
      default: break;
    }
  } else {
    // floor/ceil/round of an integer is the integer itself
    if (op == UnaryOp::floor || op == UnaryOp::ceil || op == UnaryOp::round) return apply([](T v) { return v; });
  }
}

template <class T>
void where(const BroadcastPlan& p, const bool* cond, const T* a, const T* b, T* y) {
  for_each_run(p, [&](const int64_t* off, int64_t o, int64_t n) {
    const int64_t sc = p.inner_stride(0), sa = p.inner_stride(1), sb = p.inner_stride(2);
    const bool* pc = cond + off[0];
    const T* pa = a + off[1];
    const T* pb = b + off[2];
    T* py = y + o;
    for (int64_t i = 0; i < n; ++i) py[i] = pc[i * sc] ? pa[i * sa] : pb[i * sb];
  });
}

template <class T>
void scale(T* y, int64_t n, double s) {
  for (int64_t i = 0; i < n; ++i) y[i] = T(double(y[i]) * s);
}

template <class From, class To>
void convert(const From* x, To* y, int64_t n) {
  if constexpr (std::is_same_v<From, bool> && !std::is_same_v<To, bool>) {
    // bytes 0 / 1: a loop the compiler vectorizes (a bool load is not)
    const auto* b = reinterpret_cast<const uint8_t*>(x);
    for (int64_t i = 0; i < n; ++i) y[i] = To(b[i] != 0);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const From v = x[i];
    if constexpr (std::is_same_v<To, bool>) {
      y[i] = v != From(0);
    } else if constexpr (kFloat<From> && !kFloat<To>) {
      // saturate instead of the undefined behaviour of an out-of-range conversion
      using L = std::numeric_limits<To>;
      if (std::isnan(v)) y[i] = To(0);
      else if (v <= From(L::lowest())) y[i] = L::lowest();
      else if (v >= From(L::max())) y[i] = L::max();
      else y[i] = To(v);
    } else {
      y[i] = To(v);
    }
  }
}

void f16_to_f32(const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t h = x[i];
    const uint32_t sign = (h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t mant = h & 0x3ffu;
    float v;
    if (exp == 0) {
      v = std::ldexp(float(mant), -24);  // zero or subnormal
    } else if (exp == 31) {
      v = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
    } else {
      v = std::ldexp(float(mant | 0x400u), int(exp) - 25);
    }
    y[i] = sign ? -v : v;
  }
}

void bf16_to_f32(const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = uint32_t(x[i]) << 16;
    float v;
    std::memcpy(&v, &bits, sizeof v);
    y[i] = v;
  }
}

#define MQ_NUMERIC_TYPES(X) \
  X(float) X(double) X(int8_t) X(uint8_t) X(int16_t) X(uint16_t) X(int32_t) X(uint32_t) X(int64_t) X(uint64_t)

#define MQ_INST(T)                                                                      \
  template void binary<T>(BinaryOp, const BroadcastPlan&, const T*, const T*, T*);      \
  template void compare<T>(CompareOp, const BroadcastPlan&, const T*, const T*, bool*); \
  template void unary<T>(UnaryOp, const T*, T*, int64_t);                               \
  template void where<T>(const BroadcastPlan&, const bool*, const T*, const T*, T*);    \
  template void scale<T>(T*, int64_t, double);
MQ_NUMERIC_TYPES(MQ_INST)
#undef MQ_INST
template void compare<bool>(CompareOp, const BroadcastPlan&, const bool*, const bool*, bool*);
template void where<bool>(const BroadcastPlan&, const bool*, const bool*, const bool*, bool*);

// (clang-format cannot lay out a list of macro calls)
// clang-format off
#define MQ_INST_TO(From, To) template void convert<From, To>(const From*, To*, int64_t);
#define MQ_INST_FROM(From)                                                              \
  MQ_INST_TO(From, float) MQ_INST_TO(From, double) MQ_INST_TO(From, int8_t)             \
  MQ_INST_TO(From, uint8_t) MQ_INST_TO(From, int16_t) MQ_INST_TO(From, uint16_t)        \
  MQ_INST_TO(From, int32_t) MQ_INST_TO(From, uint32_t) MQ_INST_TO(From, int64_t)        \
  MQ_INST_TO(From, uint64_t) MQ_INST_TO(From, bool)
// clang-format on
MQ_NUMERIC_TYPES(MQ_INST_FROM)
MQ_INST_FROM(bool)
#undef MQ_INST_FROM
#undef MQ_INST_TO

}  // namespace mq::kernels
