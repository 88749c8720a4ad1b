// The fused LSTM step: interleaving, the scalar reference and the variant list.
#include "kernels/fp32/lstm_step.h"

#include <algorithm>
#include <cmath>

#include "kernels/sgemm_panels.h"
#include "kernels/variant_table.h"

namespace mq::kernels {

void lstm_step_f32__avx512(const LstmStepArgs& a, std::size_t p0, std::size_t p1);

namespace {

constexpr std::size_t U = kLstmPanelUnits, W = kSgemmPanelWidth;

float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

void lstm_step_f32__scalar(const LstmStepArgs& a, std::size_t p0, std::size_t p1) {
  const std::size_t k = a.hidden;
  for (std::size_t j = p0; j < p1; ++j) {
    const std::size_t p = a.descending ? p0 + p1 - 1 - j : j;
    const float* panel = a.r_panels + p * k * W;
    const std::size_t units = std::min(U, a.hidden - p * U);
    for (std::size_t b = 0; b < a.batch; ++b) {
      float g[W];
      for (std::size_t j = 0; j < W; ++j) g[j] = a.xw[b * a.ldxw + p * W + j] + (a.bias ? a.bias[p * W + j] : 0.f);
      for (std::size_t i = 0; a.h && i < k; ++i)
        for (std::size_t j = 0; j < W; ++j) g[j] += a.h[b * a.ldh + i] * panel[i * W + j];
      for (std::size_t u = 0; u < units; ++u) {
        float& c = a.c[b * a.ldc + p * U + u];
        c = sigmoid(g[2 * U + u]) * c + sigmoid(g[u]) * std::tanh(g[3 * U + u]);
        a.h_out[b * a.ldo + p * U + u] = sigmoid(g[U + u]) * std::tanh(c);
      }
    }
  }
}

// The one list of lstm_step variants: drives selection and tests.
constexpr LstmStepVariant variants[] = {
    {"lstm_step_f32__scalar", Isa::scalar, lstm_step_f32__scalar},
    {"lstm_step_f32__avx512", Isa::avx512, lstm_step_f32__avx512},
};

}  // namespace

void lstm_interleave_rows(const float* m, std::size_t hidden, std::size_t cols, std::size_t ld, float* out) {
  std::fill_n(out, lstm_interleaved_rows(hidden) * cols, 0.f);
  for (std::size_t g = 0; g < 4; ++g)
    for (std::size_t u = 0; u < hidden; ++u)
      std::copy_n(m + (g * hidden + u) * ld, cols, out + lstm_interleaved_row(g, u) * cols);
}

std::span<const LstmStepVariant> lstm_step_variants() { return variants; }

const LstmStepVariant& lstm_step_select(Isa isa) { return select_variant(lstm_step_variants(), isa); }

const LstmStepVariant& lstm_step_active() {
  static const LstmStepVariant& v = lstm_step_select(active_isa());
  return v;
}

}  // namespace mq::kernels
