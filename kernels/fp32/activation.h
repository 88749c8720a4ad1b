#pragma once
/// fp32 activation kernels (Clip and Relu also for integer types). Pure: pointers, sizes and
/// parameters; `y` may alias `x` for the pointwise ones.
#include <cstdint>

#include "kernels/fp32/broadcast.h"

namespace mq::kernels {

/// Pointwise activations with at most two float parameters.
enum class Activation {
  relu,
  leaky_relu,
  sigmoid,
  hard_sigmoid,
  hard_swish,
  tanh,
  erf,
  elu,
  selu,
  softplus,
  gelu,
  gelu_tanh
};

/// Parameters of an activation (meaning per kind: leaky_relu alpha; hard_sigmoid alpha, beta;
/// elu alpha; selu alpha, gamma).
struct ActivationParams {
  float alpha = 0.f;
  float beta = 0.f;
};

/// y = act(x) over n contiguous floats.
void activation_f32(Activation act, const ActivationParams& p, const float* x, float* y, int64_t n);

/// y = max(x, 0) for any numeric T.
template <class T>
void relu(const T* x, T* y, int64_t n);

/// y = min(max(x, lo), hi).
template <class T>
void clip(const T* x, T* y, int64_t n, T lo, T hi);

/// y = x < 0 ? slope * x : x, slope broadcast onto x (plan operands 0 = x, 1 = slope).
void prelu_f32(const BroadcastPlan& p, const float* x, const float* slope, float* y);

/// Softmax (or log-softmax) over the middle dim of x viewed as [outer, n, inner].
void softmax_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, bool log);

}  // namespace mq::kernels
