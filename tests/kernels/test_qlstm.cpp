// qlstm_sequence on every tier against the fp32 LSTM reference on dequantized weights.
// Tolerance: the dynamic u8 quantization of x and h bounds the error; max |Δ| ≤ 0.03 on y, h
// and c. Every tier gives the same bits, and every gates variant the scalar one's.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/qgemm.h"
#include "kernels/qlstm.h"
#include "kernels/reference/qlstm_ref.h"
#include "kernel_test_util.h"

using namespace mq::kernels;
using mq::kernels::test::Aligned;

namespace {

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

void check_lstm(std::size_t T, std::size_t B, std::size_t In, std::size_t H, bool reverse) {
  std::vector<std::int8_t> wq(4 * H * In), rq(4 * H * H);
  test::fill_int(wq.data(), wq.size(), -127, 127);
  test::fill_int(rq.data(), rq.size(), -127, 127);
  std::vector<float> ws(4 * H), rs(4 * H), bias(4 * H), x(T * B * In), h0(B * H), c0(B * H);
  test::fill_float(ws.data(), ws.size(), 0.5f / 127 / std::sqrt(float(In)), 2.0f / 127 / std::sqrt(float(In)));
  test::fill_float(rs.data(), rs.size(), 0.5f / 127 / std::sqrt(float(H)), 2.0f / 127 / std::sqrt(float(H)));
  test::fill_float(bias.data(), bias.size(), -0.5f, 0.5f);
  test::fill_float(x.data(), x.size(), -2.0f, 2.0f);
  test::fill_float(h0.data(), h0.size(), -0.5f, 0.5f);
  test::fill_float(c0.data(), c0.size(), -0.5f, 0.5f);
  std::vector<float> wf(wq.size()), rf(rq.size());
  for (std::size_t i = 0; i < wq.size(); ++i) wf[i] = wq[i] * ws[i / In];
  for (std::size_t i = 0; i < rq.size(); ++i) rf[i] = rq[i] * rs[i / H];
  std::vector<float> y_ref(T * B * H), h_ref(B * H), c_ref(B * H);
  reference::lstm_f32(T, B, In, H, wf.data(), rf.data(), bias.data(), reverse, x.data(), h0.data(), c0.data(),
                      y_ref.data(), h_ref.data(), c_ref.data());
  Aligned<std::uint8_t> pw(qgemm_packed_size(4 * H, In)), pr(qgemm_packed_size(4 * H, H));
  qgemm_pack_b(wq.data(), In, 4 * H, In, pw.data());
  qgemm_pack_b(rq.data(), H, 4 * H, H, pr.data());
  QLstmParams p;
  p.seq_len = T;
  p.batch = B;
  p.input_size = In;
  p.hidden = H;
  p.packed_w = pw.data();
  p.w_scale = ws.data();
  p.packed_r = pr.data();
  p.r_scale = rs.data();
  p.bias = bias.data();
  p.reverse = reverse;
  Aligned<std::uint8_t> scratch(qlstm_scratch_size(p));
  INFO("T=" << T << " B=" << B << " In=" << In << " H=" << H << " reverse=" << reverse);
  std::vector<float> y0;                                         // the scalar tier's result
  static const std::vector<Isa> tiers = test::runnable_tiers();  // skips reported once
  for (Isa isa : tiers) {
    INFO("tier " << std::string(isa_name(isa)));
    std::vector<float> y(T * B * H), h(B * H), c(B * H);
    qlstm_sequence(p, x.data(), h0.data(), c0.data(), y.data(), h.data(), c.data(), scratch.data(), isa);
    CHECK(max_abs_diff(y, y_ref) <= 0.03f);
    CHECK(max_abs_diff(h, h_ref) <= 0.03f);
    CHECK(max_abs_diff(c, c_ref) <= 0.03f);
    if (y0.empty()) y0 = y;
    CHECK(std::memcmp(y.data(), y0.data(), y.size() * sizeof(float)) == 0);
  }
}

}  // namespace

TEST_CASE("qlstm: sequence matches the fp32 reference within tolerance") {
  check_lstm(5, 1, 16, 8, false);
  check_lstm(7, 3, 33, 20, true);
  check_lstm(4, 2, 64, 64, false);
  check_lstm(1, 1, 5, 3, false);
}

TEST_CASE("qlstm: a zero initial h skips the first product with the bits of computing it") {
  // the first step by hand: x quantized, X·W and the product of h quantized (every value at
  // the zero point) accumulated by qgemm's f32 epilogue, then the gates; R's scales include
  // a negative and an infinite one (0 · ∞ = NaN must come out as computed)
  const std::size_t B = 3, In = 9, H = 21, G = 4 * H;
  std::vector<std::int8_t> wq(G * In), rq(G * H);
  test::fill_int(wq.data(), wq.size(), -127, 127);
  test::fill_int(rq.data(), rq.size(), -127, 127);
  std::vector<float> ws(G), rs(G), bias(G), x(B * In), c0(B * H);
  test::fill_float(ws.data(), G, 0.001f, 0.01f);
  test::fill_float(rs.data(), G, 0.001f, 0.01f);
  rs[5] = -0.004f;
  rs[G - 2] = INFINITY;
  test::fill_float(bias.data(), G, -0.5f, 0.5f);
  bias[7] = -0.0f;
  test::fill_float(x.data(), x.size(), -2.0f, 2.0f);
  test::fill_float(c0.data(), c0.size(), -0.5f, 0.5f);
  Aligned<std::uint8_t> pw(qgemm_packed_size(G, In)), pr(qgemm_packed_size(G, H));
  qgemm_pack_b(wq.data(), In, G, In, pw.data());
  qgemm_pack_b(rq.data(), H, G, H, pr.data());
  QLstmParams p;
  p.seq_len = 1;
  p.batch = B;
  p.input_size = In;
  p.hidden = H;
  p.packed_w = pw.data();
  p.w_scale = ws.data();
  p.packed_r = pr.data();
  p.r_scale = rs.data();
  p.bias = bias.data();
  Aligned<std::uint8_t> scratch(qlstm_scratch_size(p));
  for (Isa isa : test::runnable_tiers()) {
    INFO("tier " << std::string(isa_name(isa)));
    const QuantKernels& qk = *quant_select(isa).kernels;
    float lo, hi;
    qk.minmax_f32(x.data(), x.size(), &lo, &hi);
    const QuantAffine xq = choose_u8_params(lo, hi), hq = choose_u8_params(0.0f, 0.0f);
    std::vector<std::uint8_t> xu(x.size()), hu(B * H, std::uint8_t(hq.zero_point));
    qk.quantize_u8(x.data(), x.size(), xq, xu.data());
    std::vector<float> g(B * G);
    QGemmParams gp;
    gp.m = B;
    gp.n = G;
    gp.k = In;
    gp.a = xu.data();
    gp.lda = In;
    gp.a_zp = xq.zero_point;
    gp.packed_b = pw.data();
    gp.output = QGemmOutput::f32;
    gp.c = g.data();
    gp.ldc = G;
    gp.per_channel = true;
    gp.a_scale = xq.scale;
    gp.w_scale = ws.data();
    gp.bias_f32 = bias.data();
    qgemm_select(isa).fn(gp, 0, B, 0, G);
    gp.k = H;
    gp.a = hu.data();
    gp.lda = H;
    gp.a_zp = hq.zero_point;
    gp.packed_b = pr.data();
    gp.a_scale = hq.scale;
    gp.w_scale = rs.data();
    gp.bias_f32 = nullptr;
    gp.accumulate = true;
    qgemm_select(isa).fn(gp, 0, B, 0, G);
    std::vector<float> c_want = c0, h_want(B * H);
    for (std::size_t b = 0; b < B; ++b)
      lstm_gates_select(isa).fn(g.data() + b * G, H, c_want.data() + b * H, h_want.data() + b * H);
    std::vector<float> y(B * H), h(B * H), c(B * H);
    qlstm_sequence(p, x.data(), nullptr, c0.data(), y.data(), h.data(), c.data(), scratch.data(), isa);
    for (std::size_t i = 0; i < B * H; ++i) {
      INFO("element " << i);
      if (std::isnan(h_want[i])) CHECK(std::isnan(h[i]));
      else CHECK(std::memcmp(&h[i], &h_want[i], sizeof(float)) == 0);
      if (std::isnan(c_want[i])) CHECK(std::isnan(c[i]));
      else CHECK(std::memcmp(&c[i], &c_want[i], sizeof(float)) == 0);
    }
  }
}

TEST_CASE("qlstm: every gates variant gives the scalar variant's bits") {
  // magnitudes from the polynomial ranges to beyond exp's limits (±88.376), plus the edges:
  // signed zeros, tanh's branch point 0.625, exp's limits, infinities, a subnormal
  const float edges[] = {
      0.0f,        -0.0f,        0.625f, -0.625f, 0.62499994f, 88.3762626647949f, -88.3762626647949f,
      44.1881313f, -44.1881313f, 87.0f,  -87.0f,  INFINITY,    -INFINITY,         1e-40f,
      3.0e6f,      -3.0e6f};
  for (float range : {0.5f, 3.0f, 12.0f, 100.0f, 1e4f}) {
    for (std::size_t H : {1, 3, 4, 8, 15, 16, 17, 31, 33, 48, 63, 64, 67, 100, 128}) {
      std::vector<float> g(4 * H), c0(H);
      test::fill_float(g.data(), g.size(), -range, range);
      test::fill_float(c0.data(), c0.size(), -range / 4, range / 4);
      for (std::size_t i = 0; i < g.size(); i += 7) g[i] = edges[(i / 7 + H) % std::size(edges)];
      for (std::size_t i = 0; i < c0.size(); i += 5) c0[i] = edges[(i / 5) % std::size(edges)];
      const LstmGatesVariant& ref = lstm_gates_variants()[0];
      std::vector<float> c_ref = c0, h_ref(H);
      ref.fn(g.data(), H, c_ref.data(), h_ref.data());
      for (const LstmGatesVariant* v : test::runnable(lstm_gates_variants())) {
        INFO(std::string(v->name) << " H=" << H << " range=" << range);
        std::vector<float> c = c0, h(H);
        v->fn(g.data(), H, c.data(), h.data());
        // NaN (from ∞ − ∞ in the cell update) may carry another sign or payload
        for (std::size_t u = 0; u < H; ++u) {
          if (std::isnan(c_ref[u])) CHECK(std::isnan(c[u]));
          else CHECK(std::memcmp(&c[u], &c_ref[u], sizeof(float)) == 0);
          if (std::isnan(h_ref[u])) CHECK(std::isnan(h[u]));
          else CHECK(std::memcmp(&h[u], &h_ref[u], sizeof(float)) == 0);
        }
      }
    }
  }
}

TEST_CASE("qlstm: a NaN gate gives NaN cells in every gates variant") {
  const std::size_t H = 40;
  for (std::size_t gate = 0; gate < 4; ++gate) {
    std::vector<float> g(4 * H), c0(H);
    test::fill_float(g.data(), g.size(), -3.0f, 3.0f);
    test::fill_float(c0.data(), c0.size(), -1.0f, 1.0f);
    g[gate * H + 37] = NAN;
    for (const LstmGatesVariant* v : test::runnable(lstm_gates_variants())) {
      INFO(std::string(v->name) << " gate " << gate);
      std::vector<float> c = c0, h(H);
      v->fn(g.data(), H, c.data(), h.data());
      CHECK(std::isnan(h[37]));
      if (gate != 1) CHECK(std::isnan(c[37]));  // the output gate leaves c alone
      CHECK(!std::isnan(h[36]));
    }
  }
}
