#pragma once
/// What a fused fp32 convolution or Linear does after the product: bias (in the conv), then an
/// activation and the addition of a residual operand, in either order:
/// y = act(conv(x) + b) + z, or with residual_first y = act(conv(x) + b + z).
#include <cstdint>

namespace mq::kernels {

/// Activations a convolution's epilogue can apply.
enum class LayerActivation {
  none,
  relu,
  leaky_relu,
  clip,
  sigmoid,
  tanh,
  silu,
  hard_swish,
  hard_sigmoid,
  gelu,
  gelu_tanh
};

struct LayerEpilogue {
  LayerActivation act = LayerActivation::none;
  float alpha = 0.f;            ///< leaky_relu slope; clip min; hard_sigmoid alpha
  float beta = 0.f;             ///< clip max; hard_sigmoid beta
  bool residual = false;        ///< y += z (z given to the kernel)
  bool residual_first = false;  ///< add z before the activation instead of after
};

/// The epilogue over n floats of y (z: the residual, when the epilogue has one): the
/// reference every fused path must match.
void apply_layer_epilogue(const LayerEpilogue& e, float* y, const float* z, int64_t n);

}  // namespace mq::kernels
