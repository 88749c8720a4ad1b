#include "kernels/fp32/layer_epilogue.h"

#include "kernels/fp32/activation.h"
#include "kernels/fp32/vmath.h"

namespace mq::kernels {

void apply_layer_epilogue(const LayerEpilogue& e, float* y, const float* z, int64_t n) {
  const bool add = e.residual && z;
  if (add && e.residual_first)
    for (int64_t i = 0; i < n; ++i) y[i] += z[i];
  const ActivationParams ap{e.alpha, e.beta};
  switch (e.act) {
    case LayerActivation::none: break;
    case LayerActivation::relu: relu(y, y, n); break;
    case LayerActivation::leaky_relu: activation_f32(Activation::leaky_relu, ap, y, y, n); break;
    case LayerActivation::clip: clip(y, y, n, e.alpha, e.beta); break;
    case LayerActivation::sigmoid: activation_f32(Activation::sigmoid, ap, y, y, n); break;
    case LayerActivation::tanh: activation_f32(Activation::tanh, ap, y, y, n); break;
    case LayerActivation::silu: silu_f32(y, y, n); break;
    case LayerActivation::hard_swish: activation_f32(Activation::hard_swish, ap, y, y, n); break;
    case LayerActivation::hard_sigmoid: activation_f32(Activation::hard_sigmoid, ap, y, y, n); break;
    case LayerActivation::gelu: activation_f32(Activation::gelu, ap, y, y, n); break;
    case LayerActivation::gelu_tanh: activation_f32(Activation::gelu_tanh, ap, y, y, n); break;
  }
  if (add && !e.residual_first)
    for (int64_t i = 0; i < n; ++i) y[i] += z[i];
}

}  // namespace mq::kernels
