#include "kernels/fp32/activation.h"

#include "kernels/fp32/vmath.h"

#include <algorithm>
#include <cmath>

namespace mq::kernels {

namespace {

inline float sigmoid(float v) {
  if (v >= 0.f) return 1.f / (1.f + std::exp(-v));
  const float e = std::exp(v);
  return e / (1.f + e);
}

template <class F>
void map(const float* x, float* y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

/// GELU's tanh approximation, 0.5·v·(1 + tanh(√(2/π)·(v + 0.044715·v³))), on the vectorized
/// tanh (x and y may be the same buffer).
void gelu_tanh_f32(const float* x, float* y, int64_t n) {
  constexpr int64_t kBlock = 256;
  constexpr float k = 0.79788456080286536f;  // sqrt(2 / pi)
  float u[kBlock];
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t len = std::min(kBlock, n - b);
    const float* xb = x + b;
    for (int64_t i = 0; i < len; ++i) u[i] = k * (xb[i] + 0.044715f * xb[i] * xb[i] * xb[i]);
    tanh_f32(u, u, len);
    float* yb = y + b;
    for (int64_t i = 0; i < len; ++i) yb[i] = 0.5f * xb[i] * (1.f + u[i]);
  }
}

}  // namespace

void activation_f32(Activation act, const ActivationParams& p, const float* x, float* y, int64_t n) {
  const float a = p.alpha, b = p.beta;
  switch (act) {
    case Activation::relu: return map(x, y, n, [](float v) { return v < 0.f ? 0.f : v; });  // NaN stays NaN
    case Activation::leaky_relu: return map(x, y, n, [a](float v) { return v < 0.f ? a * v : v; });
    case Activation::sigmoid: return sigmoid_f32(x, y, n);
    case Activation::hard_sigmoid:
      return map(x, y, n, [a, b](float v) { return std::clamp(a * v + b, 0.f, 1.f); });
    case Activation::hard_swish:
      return map(x, y, n, [](float v) { return v * std::clamp(v / 6.f + 0.5f, 0.f, 1.f); });
    case Activation::tanh: return tanh_f32(x, y, n);
    case Activation::erf: return erf_f32(x, y, n);
    case Activation::elu: return map(x, y, n, [a](float v) { return v < 0.f ? a * std::expm1(v) : v; });
    case Activation::selu: return map(x, y, n, [a, b](float v) { return b * (v <= 0.f ? a * std::expm1(v) : v); });
    case Activation::softplus:
      return map(x, y, n,
                 [](float v) { return v > 0.f ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)); });
    case Activation::gelu: return gelu_f32(x, y, n);
    case Activation::gelu_tanh: return gelu_tanh_f32(x, y, n);
  }
}

template <class T>
void relu(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < T(0) ? T(0) : x[i];  // NaN stays NaN, as ONNX Runtime
}

template <class T>
void clip(const T* x, T* y, int64_t n, T lo, T hi) {
  for (int64_t i = 0; i < n; ++i) {
    T v = x[i];
    v = v < lo ? lo : v;
    y[i] = v > hi ? hi : v;
  }
}

void prelu_f32(const BroadcastPlan& p, const float* x, const float* slope, float* y) {
  broadcast_binary(p, x, slope, y, [](float v, float s) { return v < 0.f ? s * v : v; });
}

void softmax_f32(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  for (int64_t o = 0; o < outer; ++o) {
    const float* xb = x + o * n * inner;
    float* yb = y + o * n * inner;
    for (int64_t j = 0; j < inner; ++j) {
      float m = -INFINITY;
      for (int64_t k = 0; k < n; ++k) m = std::max(m, xb[k * inner + j]);
      float sum = 0.f;
      for (int64_t k = 0; k < n; ++k) {
        const float e = std::exp(xb[k * inner + j] - m);
        sum += e;
        if (!log) yb[k * inner + j] = e;
      }
      if (log) {
        const float ls = std::log(sum) + m;
        for (int64_t k = 0; k < n; ++k) yb[k * inner + j] = xb[k * inner + j] - ls;
      } else {
        const float r = 1.f / sum;
        for (int64_t k = 0; k < n; ++k) yb[k * inner + j] *= r;
      }
    }
  }
}

#define MQ_INST(T)                              \
  template void relu<T>(const T*, T*, int64_t); \
  template void clip<T>(const T*, T*, int64_t, T, T);
MQ_INST(float)
MQ_INST(double)
MQ_INST(int8_t)
MQ_INST(uint8_t)
MQ_INST(int16_t)
MQ_INST(uint16_t)
MQ_INST(int32_t)
MQ_INST(uint32_t)
MQ_INST(int64_t)
MQ_INST(uint64_t)
#undef MQ_INST

}  // namespace mq::kernels
