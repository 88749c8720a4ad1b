#pragma once
/// Elementwise kernels: binary arithmetic and comparisons with numpy broadcasting, unary
/// math, logic, Where and Cast. Instantiated for f32, f64 and the integer types (see the
/// .cpp for the list); every function is pure (no allocation, no errors).
#include <cstdint>

#include "kernels/fp32/broadcast.h"
#include "kernels/fp32/vmath.h"

namespace mq::kernels {

/// Binary arithmetic ops (output type = operand type).
enum class BinaryOp { add, sub, mul, div, pow, max, min };

/// vmath's vectorized form of a BinaryOp other than pow.
inline Arith arith_of(BinaryOp op) { return Arith(int(op) - (op > BinaryOp::pow ? 1 : 0)); }
/// Comparisons (output bool).
enum class CompareOp { equal, less, greater, less_equal, greater_equal };
/// Logic ops on bool operands.
enum class LogicOp { and_, or_, xor_ };
/// Unary ops (output type = operand type). Float-only ones are no-ops on integer types:
/// callers reject those combinations first.
enum class UnaryOp { neg, abs, sqrt, exp, log, reciprocal, floor, ceil, round, sign, sin, cos };

/// y = op(a, b) over the plan's operands 0 (a) and 1 (b). Integer division by zero yields 0.
/// `y` may alias `a` when `a` has the output's layout.
template <class T>
void binary(BinaryOp op, const BroadcastPlan& p, const T* a, const T* b, T* y);
/// y = op(a, b) as bool.
template <class T>
void compare(CompareOp op, const BroadcastPlan& p, const T* a, const T* b, bool* y);
/// y = op(a, b) on bools.
void logic(LogicOp op, const BroadcastPlan& p, const bool* a, const bool* b, bool* y);
/// y[i] = !x[i].
void logical_not(const bool* x, bool* y, int64_t n);
/// y = op(x) over n contiguous elements (`y` may alias `x`).
template <class T>
void unary(UnaryOp op, const T* x, T* y, int64_t n);
/// y = cond ? a : b over the plan's operands 0 (cond), 1 (a) and 2 (b).
template <class T>
void where(const BroadcastPlan& p, const bool* cond, const T* a, const T* b, T* y);
/// y[i] *= s (used by Mean).
template <class T>
void scale(T* y, int64_t n, double s);
/// y[i] = To(x[i]) with C++ conversion semantics (float → int truncates; → bool is x != 0).
template <class From, class To>
void convert(const From* x, To* y, int64_t n);

/// y[i] = the IEEE half-precision value whose bits are x[i], as float (exact).
void f16_to_f32(const uint16_t* x, float* y, int64_t n);
/// y[i] = the bfloat16 value whose bits are x[i], as float (exact).
void bf16_to_f32(const uint16_t* x, float* y, int64_t n);

}  // namespace mq::kernels
