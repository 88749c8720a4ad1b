#include "kernels/fp32/layer_epilogue.h"

#include <algorithm>
#include <cmath>

namespace mq::kernels {

namespace {
inline float sigmoid(float v) {
  if (v >= 0.f) return 1.f / (1.f + std::exp(-v));
  const float e = std::exp(v);
  return e / (1.f + e);
}
inline float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }  // NaN stays NaN

template <class F>
void map(float* y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(y[i]);
}
}  // namespace

void apply_layer_epilogue(const LayerEpilogue& e, float* y, const float* z, int64_t n) {
  const bool add = e.residual && z;
  if (add && e.residual_first)
    for (int64_t i = 0; i < n; ++i) y[i] += z[i];
  const float a = e.alpha, b = e.beta;
  switch (e.act) {
    case LayerActivation::none: break;
    case LayerActivation::relu: map(y, n, [](float v) { return v < 0.f ? 0.f : v; }); break;
    case LayerActivation::leaky_relu: map(y, n, [a](float v) { return v < 0.f ? a * v : v; }); break;
    case LayerActivation::clip: map(y, n, [a, b](float v) { return clampf(v, a, b); }); break;
    case LayerActivation::sigmoid: map(y, n, sigmoid); break;
    case LayerActivation::tanh: map(y, n, [](float v) { return std::tanh(v); }); break;
    case LayerActivation::silu: map(y, n, [](float v) { return v * sigmoid(v); }); break;
    case LayerActivation::hard_swish: map(y, n, [](float v) { return v * clampf(v / 6.f + 0.5f, 0.f, 1.f); }); break;
    case LayerActivation::hard_sigmoid: map(y, n, [a, b](float v) { return clampf(a * v + b, 0.f, 1.f); }); break;
    case LayerActivation::gelu:
      map(y, n, [](float v) { return 0.5f * v * (1.f + std::erf(v * 0.70710678118654752f)); });
      break;
  }
  if (add && !e.residual_first)
    for (int64_t i = 0; i < n; ++i) y[i] += z[i];
}

}  // namespace mq::kernels
