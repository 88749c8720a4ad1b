// LSTM gate activations with xsimd (AVX2): sigmoid and tanh vectorized, fp32 c/h update.
#include <cmath>
#include <cstddef>
#include <xsimd/xsimd.hpp>

namespace mq::kernels {
namespace {
using A = xsimd::avx2;
using bf = xsimd::batch<float, A>;

inline bf sigmoid(bf v) { return bf(1.0f) / (bf(1.0f) + xsimd::exp(-v)); }
inline float sigmoid1(float v) { return 1.0f / (1.0f + std::exp(-v)); }

}  // namespace

void lstm_gates__avx2(const float* g, std::size_t H, float* c, float* h) {
  std::size_t j = 0;
  for (; j + bf::size <= H; j += bf::size) {
    const bf i = sigmoid(bf::load_unaligned(g + j));
    const bf o = sigmoid(bf::load_unaligned(g + H + j));
    const bf f = sigmoid(bf::load_unaligned(g + 2 * H + j));
    const bf cc = xsimd::tanh(bf::load_unaligned(g + 3 * H + j));
    const bf cn = f * bf::load_unaligned(c + j) + i * cc;
    cn.store_unaligned(c + j);
    (o * xsimd::tanh(cn)).store_unaligned(h + j);
  }
  for (; j < H; ++j) {
    const float i = sigmoid1(g[j]), o = sigmoid1(g[H + j]), f = sigmoid1(g[2 * H + j]);
    c[j] = f * c[j] + i * std::tanh(g[3 * H + j]);
    h[j] = o * std::tanh(c[j]);
  }
}

}  // namespace mq::kernels
