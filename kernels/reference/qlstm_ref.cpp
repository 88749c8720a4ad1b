#include "kernels/reference/qlstm_ref.h"

#include <cmath>
#include <vector>

namespace mq::kernels::reference {

void lstm_f32(std::size_t T, std::size_t B, std::size_t In, std::size_t H, const float* w, const float* r,
              const float* bias, bool reverse, const float* x, const float* h0, const float* c0, float* y,
              float* h_out, float* c_out) {
  std::vector<float> h(B * H, 0.0f), c(B * H, 0.0f), g(4 * H);
  if (h0) h.assign(h0, h0 + B * H);
  if (c0) c.assign(c0, c0 + B * H);
  auto sig = [](float v) { return 1.0f / (1.0f + std::exp(-v)); };
  for (std::size_t s = 0; s < T; ++s) {
    const std::size_t t = reverse ? T - 1 - s : s;
    std::vector<float> hn(B * H);
    for (std::size_t b = 0; b < B; ++b) {
      for (std::size_t j = 0; j < 4 * H; ++j) {
        double acc = bias ? bias[j] : 0.0;
        for (std::size_t k = 0; k < In; ++k) acc += double(x[(t * B + b) * In + k]) * w[j * In + k];
        for (std::size_t k = 0; k < H; ++k) acc += double(h[b * H + k]) * r[j * H + k];
        g[j] = static_cast<float>(acc);
      }
      for (std::size_t j = 0; j < H; ++j) {
        const float i = sig(g[j]), o = sig(g[H + j]), f = sig(g[2 * H + j]), cc = std::tanh(g[3 * H + j]);
        float& cv = c[b * H + j];
        cv = f * cv + i * cc;
        hn[b * H + j] = o * std::tanh(cv);
      }
    }
    h = hn;
    if (y)
      for (std::size_t i = 0; i < B * H; ++i) y[t * B * H + i] = h[i];
  }
  for (std::size_t i = 0; i < B * H; ++i) {
    h_out[i] = h[i];
    c_out[i] = c[i];
  }
}

}  // namespace mq::kernels::reference
