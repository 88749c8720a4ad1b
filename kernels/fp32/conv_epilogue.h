#pragma once
/// What a fused fp32 convolution does after the product: bias (in the conv), then an
/// activation, then the addition of a residual operand (y = act(conv(x) + b) + z).
#include <cstdint>

namespace mq::kernels {

/// Activations a convolution's epilogue can apply.
enum class ConvActivation { none, relu, leaky_relu, clip, sigmoid, tanh, silu, hard_swish, hard_sigmoid, gelu };

struct ConvEpilogue {
  ConvActivation act = ConvActivation::none;
  float alpha = 0.f;  ///< leaky_relu slope; clip min; hard_sigmoid alpha
  float beta = 0.f;   ///< clip max; hard_sigmoid beta
  bool residual = false;  ///< y += z after the activation (z given to the kernel)
};

/// y[i] = act(y[i]) (+ z[i] when the epilogue has a residual and z is not null), over n
/// floats: the reference every fused path must match.
void apply_conv_epilogue(const ConvEpilogue& e, float* y, const float* z, int64_t n);

}  // namespace mq::kernels
