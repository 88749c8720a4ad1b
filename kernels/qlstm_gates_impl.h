// LSTM gate activations and the c/h update for one batch row, written once for every xsimd
// arch. xsimd's exp and tanh are the same algorithm on every arch and the library is built
// without FMA contraction, so every tier produces the same bits. Tails are computed in a
// zero-padded batch rather than with libm. Included by qlstm.cpp (SSE2, the x86-64 baseline)
// and qlstm_gates__avx2.cpp; the anonymous namespace keeps each file's copy its own.
#pragma once
#include <cstddef>
#include <cstring>
#include <xsimd/xsimd.hpp>

namespace mq::kernels {
namespace {

template <class A>
inline void lstm_gates_impl(const float* g, std::size_t H, float* c, float* h) {
  using bf = xsimd::batch<float, A>;
  constexpr std::size_t w = bf::size;
  const auto sigmoid = [](bf v) { return bf(1.0f) / (bf(1.0f) + xsimd::exp(-v)); };
  const auto step = [&](bf gi, bf go, bf gf, bf gc, bf cv, bf* c_out, bf* h_out) {
    const bf cn = sigmoid(gf) * cv + sigmoid(gi) * xsimd::tanh(gc);
    *c_out = cn;
    *h_out = sigmoid(go) * xsimd::tanh(cn);
  };
  std::size_t j = 0;
  for (; j + w <= H; j += w) {
    bf cn, hn;
    step(bf::load_unaligned(g + j), bf::load_unaligned(g + H + j), bf::load_unaligned(g + 2 * H + j),
         bf::load_unaligned(g + 3 * H + j), bf::load_unaligned(c + j), &cn, &hn);
    cn.store_unaligned(c + j);
    hn.store_unaligned(h + j);
  }
  if (j < H) {
    const std::size_t r = H - j;
    alignas(64) float in[5][w] = {};
    std::memcpy(in[0], g + j, r * sizeof(float));
    std::memcpy(in[1], g + H + j, r * sizeof(float));
    std::memcpy(in[2], g + 2 * H + j, r * sizeof(float));
    std::memcpy(in[3], g + 3 * H + j, r * sizeof(float));
    std::memcpy(in[4], c + j, r * sizeof(float));
    bf cn, hn;
    step(bf::load_aligned(in[0]), bf::load_aligned(in[1]), bf::load_aligned(in[2]), bf::load_aligned(in[3]),
         bf::load_aligned(in[4]), &cn, &hn);
    alignas(64) float out[2][w];
    cn.store_aligned(out[0]);
    hn.store_aligned(out[1]);
    std::memcpy(c + j, out[0], r * sizeof(float));
    std::memcpy(h + j, out[1], r * sizeof(float));
  }
}

}  // namespace
}  // namespace mq::kernels
