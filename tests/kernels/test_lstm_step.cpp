// Every lstm_step variant against a double-precision LSTM cell computed from the unpacked
// weights: batches of every row-group size (12, 8, 4, 1 and mixes), hidden sizes with partial
// last panels, strided rows, ranges of panels that leave the other units untouched, and
// saturated gates (pre-activations far beyond ±88).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/fp32/lstm_step.h"
#include "kernels/fp32/rnn.h"
#include "kernels/sgemm_panels.h"

using namespace mq::kernels;

namespace {

double sigm(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct Case {
  std::size_t batch, hidden, p0, p1;  // p1 == 0: every panel
  float scale;                        // of R and x·W (large: saturated gates)
  bool with_bias = true;
  bool zero_h = false;      // h passed as null: zeros, no product
  bool descending = false;  // panels read from the last to the first
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
  a.h = t.zero_h ? nullptr : h.data();
  a.ldh = ldh;
  a.r_panels = packed.data();
  a.xw = xwi.data();
  a.ldxw = ldxw;
  a.bias = t.with_bias ? bi.data() : nullptr;
  a.c = c.data();
  a.ldc = ldc;
  a.h_out = out.data();
  a.ldo = ldo;
  a.descending = t.descending;
  v.fn(a, t.p0, p1);
  INFO(v.name << " batch " << B << " hidden " << H << " panels [" << t.p0 << ", " << p1 << ") scale " << t.scale
              << " bias " << t.with_bias << " zero h " << t.zero_h << " descending " << t.descending);
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
        for (std::size_t k = 0; k < H && !t.zero_h; ++k) g[q] += double(h[b * ldh + k]) * r[(q * H + u) * H + k];
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
  const Case cases[] = {{1, 1, 0, 0, 1.f},
                        {1, 8, 0, 0, 1.f},
                        {1, 128, 0, 0, 0.2f},
                        {2, 9, 0, 0, 1.f},
                        {3, 33, 0, 0, 0.5f},
                        {4, 16, 0, 0, 1.f},
                        {5, 64, 0, 0, 0.2f},
                        {8, 70, 0, 0, 0.3f},
                        {12, 24, 0, 0, 1.f},
                        {13, 40, 0, 0, 0.5f},
                        {25, 17, 0, 0, 1.f},
                        {7, 100, 3, 9, 0.3f},
                        {1, 130, 16, 17, 0.2f},
                        {6, 20, 0, 0, 40.f},
                        {1, 200, 0, 0, 30.f},
                        {3, 50, 0, 0, 0.5f, false},
                        {5, 24, 0, 0, 1.f, true, true}};
  for (const LstmStepVariant* v : test::runnable(lstm_step_variants()))
    for (Case t : cases)
      for (bool descending : {false, true}) {
        t.descending = descending;
        check(t, *v);
      }
}

TEST_CASE("fused LSTM direction: batch rows run in separate ranges match one range") {
  // what the engine does on several threads: begin, disjoint row ranges, end; with and
  // without sequence lengths (reversed, so that rows read different times). Not bit for bit:
  // a range's rows form other tiles, and one row alone sums its products in another order.
  const int64_t S = 4, B = 5, I = 7, H = 20;
  const std::size_t rows = lstm_interleaved_rows(std::size_t(H));
  std::vector<float> x(std::size_t(S * B * I)), w(std::size_t(4 * H * I)), r(std::size_t(4 * H * H));
  std::vector<float> b(std::size_t(8 * H)), h0(std::size_t(B * H)), c0(std::size_t(B * H));
  for (auto* v : {&x, &w, &r, &b, &h0, &c0}) test::fill_float(v->data(), v->size(), -0.5f, 0.5f);
  std::vector<float> wi(rows * std::size_t(I)), ri(rows * std::size_t(H)),
      packed(sgemm_panels_packed_floats(rows, std::size_t(H)));
  std::vector<float> sum(std::size_t(4 * H)), bi(rows);
  lstm_interleave_rows(w.data(), std::size_t(H), std::size_t(I), std::size_t(I), wi.data());
  lstm_interleave_rows(r.data(), std::size_t(H), std::size_t(H), std::size_t(H), ri.data());
  sgemm_panels_pack(ri.data(), rows, std::size_t(H), std::size_t(H), packed.data());
  for (std::size_t j = 0; j < sum.size(); ++j) sum[j] = b[j] + b[sum.size() + j];
  lstm_interleave_rows(sum.data(), std::size_t(H), 1, 1, bi.data());
  const std::vector<int32_t> lens = {4, 1, 0, 3, 4};
  for (bool with_lens : {false, true}) {
    RnnParams p;
    p.seq = S;
    p.batch = B;
    p.input = I;
    p.hidden = H;
    p.x_seq_stride = B;
    p.x_batch_stride = 1;
    p.y_seq_stride = B * H;
    p.y_batch_stride = H;
    p.state_batch_stride = H;
    p.reverse = with_lens;
    p.act[0].kind = RnnActKind::sigmoid;
    p.act[1].kind = p.act[2].kind = RnnActKind::tanh;
    REQUIRE(rnn_lstm_fusable(p, false));
    auto run = [&](const std::vector<int64_t>& cuts) {
      std::vector<float> y(std::size_t(S * B * H)), yh(std::size_t(B * H)), yc(std::size_t(B * H));
      std::vector<float> scratch(rnn_scratch_floats(p));
      RnnTensors t;
      t.x = x.data();
      t.w = wi.data();
      t.bias = bi.data();
      t.seq_lens = with_lens ? lens.data() : nullptr;
      t.h0 = h0.data();
      t.c0 = c0.data();
      t.y = y.data();
      t.y_h = yh.data();
      t.y_c = yc.data();
      t.lstm_r_panels = packed.data();
      lstm_fused_begin(p, t, scratch.data());
      for (std::size_t k = 0; k + 1 < cuts.size(); ++k)
        lstm_fused_rows(p, t, scratch.data(), cuts[k], cuts[k + 1]);
      lstm_fused_end(p, t, scratch.data());
      y.insert(y.end(), yh.begin(), yh.end());
      y.insert(y.end(), yc.begin(), yc.end());
      return y;
    };
    CAPTURE(with_lens);
    const std::vector<float> one = run({0, B}), three = run({0, 2, 3, B});
    REQUIRE(one.size() == three.size());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < one.size(); ++i) bad += !(std::fabs(one[i] - three[i]) <= 1e-5f);
    CHECK(bad == 0);
  }
}

TEST_CASE("lstm_step: panels read descending give the ascending order's bits for every unit") {
  // hidden sizes with one block of 8 panels, a partial last block and a partial last panel;
  // every panel, and a range that starts inside a block; batch 1 (the single-row product) and
  // 5 (row groups)
  for (const LstmStepVariant* v : test::runnable(lstm_step_variants()))
    for (const std::size_t H : {std::size_t(8), std::size_t(70), std::size_t(150), std::size_t(515)})
      for (const std::size_t B : {std::size_t(1), std::size_t(5)}) {
        const std::size_t rows = lstm_interleaved_rows(H), panels = lstm_panels(H);
        std::vector<float> r(rows * H), packed(sgemm_panels_packed_floats(rows, H)), h(B * H), xw(B * rows);
        std::vector<float> bias(rows), c0(B * H);
        test::fill_float(r.data(), r.size(), -0.1f, 0.1f);
        for (auto* f : {&h, &xw, &bias, &c0}) test::fill_float(f->data(), f->size(), -1.f, 1.f);
        sgemm_panels_pack(r.data(), rows, H, H, packed.data());
        auto run = [&](bool descending, std::size_t p0) {  // panels [p0, panels), then [0, p0) ascending
          std::vector<float> c = c0, out(B * H, std::nanf(""));
          LstmStepArgs a;
          a.batch = B;
          a.hidden = H;
          a.h = h.data();
          a.ldh = H;
          a.r_panels = packed.data();
          a.xw = xw.data();
          a.ldxw = rows;
          a.bias = bias.data();
          a.c = c.data();
          a.ldc = H;
          a.h_out = out.data();
          a.ldo = H;
          a.descending = descending;
          v->fn(a, p0, panels);
          a.descending = false;
          v->fn(a, 0, p0);
          out.insert(out.end(), c.begin(), c.end());
          return out;
        };
        CAPTURE(v->name);
        CAPTURE(H);
        CAPTURE(B);
        const std::vector<float> up = run(false, 0);
        for (const std::size_t p0 : {std::size_t(0), std::min<std::size_t>(3, panels - 1)}) {
          CAPTURE(p0);
          const std::vector<float> down = run(true, p0);
          std::size_t unset = 0, differ = 0;
          for (std::size_t i = 0; i < up.size(); ++i) {
            unset += std::isnan(up[i]) || std::isnan(down[i]);
            differ += std::memcmp(&up[i], &down[i], sizeof(float)) != 0;
          }
          CHECK(unset == 0);
          CHECK(differ == 0);
        }
      }
}
