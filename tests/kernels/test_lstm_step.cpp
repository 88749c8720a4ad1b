// Every lstm_step variant against a double-precision LSTM cell computed from the unpacked
// weights: batches of every row-group size (12, 8, 4, 1 and mixes), hidden sizes with partial
// last panels, strided rows, ranges of panels that leave the other units untouched, and
// saturated gates (pre-activations far beyond ±88).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/fp32/lstm_step.h"
#include "kernels/sgemm_panels.h"

using namespace mq::kernels;

namespace {

double sigm(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct Case {
  std::size_t batch, hidden, p0, p1;  // p1 == 0: every panel
  float scale;                        // of R and x·W (large: saturated gates)
  bool with_bias = true;
};

void check(const Case& t, const LstmStepVariant& v) {
  const std::size_t H = t.hidden, B = t.batch, rows = lstm_interleaved_rows(H);
  const std::size_t p1 = t.p1 ? t.p1 : lstm_panels(H);
  const std::size_t ldh = H + 3, ldc = H + 1, ldo = H + 5, ldxw = rows + 7;
  std::vector<float> r(4 * H * H), xw(4 * H * B), h(B * ldh), c(B * ldc), out(B * ldo), bias(4 * H);
  test::fill_float(r.data(), r.size(), -t.scale, t.scale);
  test::fill_float(xw.data(), xw.size(), -t.scale, t.scale);
  test::fill_float(h.data(), h.size(), -1.f, 1.f);
  test::fill_float(bias.data(), bias.size(), -1.f, 1.f);
  test::fill_float(c.data(), c.size(), -2.f, 2.f);
  test::fill_float(out.data(), out.size(), -1.f, 1.f);
  const std::vector<float> c0 = c, out0 = out;
  std::vector<float> ri(rows * H), packed(sgemm_panels_packed_floats(rows, H)), xwi(B * ldxw), bi(rows);
  lstm_interleave_rows(r.data(), H, H, H, ri.data());
  lstm_interleave_rows(bias.data(), H, 1, 1, bi.data());
  sgemm_panels_pack(ri.data(), rows, H, H, packed.data());
  for (std::size_t b = 0; b < B; ++b) lstm_interleave_rows(xw.data() + b * 4 * H, H, 1, 1, xwi.data() + b * ldxw);
  LstmStepArgs a;
  a.batch = B;
  a.hidden = H;
  a.h = h.data();
  a.ldh = ldh;
  a.r_panels = packed.data();
  a.xw = xwi.data();
  a.ldxw = ldxw;
  a.bias = t.with_bias ? bi.data() : nullptr;
  a.c = c.data();
  a.ldc = ldc;
  a.h_out = out.data();
  a.ldo = ldo;
  v.fn(a, t.p0, p1);
  INFO(v.name << " batch " << B << " hidden " << H << " panels [" << t.p0 << ", " << p1 << ") scale " << t.scale
              << " bias " << t.with_bias);
  std::size_t bad = 0, touched = 0;
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t u = 0; u < H; ++u) {
      const bool inside = u >= t.p0 * kLstmPanelUnits && u < p1 * kLstmPanelUnits;
      if (!inside) {
        touched += c[b * ldc + u] != c0[b * ldc + u] || out[b * ldo + u] != out0[b * ldo + u];
        continue;
      }
      double g[4];
      for (std::size_t q = 0; q < 4; ++q) {
        g[q] = double(xw[b * 4 * H + q * H + u]) + (t.with_bias ? bias[q * H + u] : 0.f);
        for (std::size_t k = 0; k < H; ++k) g[q] += double(h[b * ldh + k]) * r[(q * H + u) * H + k];
      }
      const double cn = sigm(g[2]) * c0[b * ldc + u] + sigm(g[0]) * std::tanh(g[3]);
      const double hn = sigm(g[1]) * std::tanh(cn);
      const double tol = 1e-6 * (1.0 + double(H) * t.scale);
      if (!(std::fabs(c[b * ldc + u] - cn) <= tol && std::fabs(out[b * ldo + u] - hn) <= tol)) ++bad;
    }
  CHECK(bad == 0);
  CHECK(touched == 0);
  for (std::size_t b = 0; b < B; ++b)  // the padding columns between rows stay as they were
    for (std::size_t u = H; u < ldo; ++u) CHECK(out[b * ldo + u] == out0[b * ldo + u]);
}

}  // namespace

TEST_CASE("lstm_step: every variant matches a double-precision LSTM cell") {
  const Case cases[] = {
      {1, 1, 0, 0, 1.f},      {1, 8, 0, 0, 1.f},    {1, 128, 0, 0, 0.2f}, {2, 9, 0, 0, 1.f},
      {3, 33, 0, 0, 0.5f},    {4, 16, 0, 0, 1.f},   {5, 64, 0, 0, 0.2f},  {8, 70, 0, 0, 0.3f},
      {12, 24, 0, 0, 1.f},    {13, 40, 0, 0, 0.5f}, {25, 17, 0, 0, 1.f},  {7, 100, 3, 9, 0.3f},
      {1, 130, 16, 17, 0.2f}, {6, 20, 0, 0, 40.f},  {1, 200, 0, 0, 30.f}, {3, 50, 0, 0, 0.5f, false}};
  for (const LstmStepVariant* v : test::runnable(lstm_step_variants()))
    for (const Case& t : cases) check(t, *v);
}
