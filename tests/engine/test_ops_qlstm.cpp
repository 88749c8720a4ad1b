// The int8 LSTM executors (DynamicQLSTM, QLSTM) through a Session: against the fp32 LSTM on
// the dequantized weights (ONNX semantics of layout, direction and initial states; tolerance
// 0.05 absolute, the u8 quantization of x and h), layout 1 against layout 0 and one thread
// against two (the same bits).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/session.h"
#include "one_node.h"
#include "ir/graph.h"

using namespace mq;

namespace {

Tensor random_f32(std::vector<int64_t> dims, uint32_t seed, float lo, float hi) {
  Tensor t(DType::f32, std::move(dims));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

/// s8 weights [rows × cols] with one scale per row (symmetric), and their dequantized values.
struct QWeights {
  Tensor q, f;
};
QWeights random_weights(int64_t rows, int64_t cols, uint32_t seed) {
  QWeights w{Tensor(DType::i8, {rows, cols}), Tensor(DType::f32, {rows, cols})};
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u(-127, 127);
  QuantParams qp;
  qp.qtype = DType::i8;
  qp.axis = 0;
  for (int64_t r = 0; r < rows; ++r) {
    qp.scales.push_back(0.6f / 127.f / std::sqrt(float(cols)) * (1.f + float(r % 5) / 5.f));
    qp.zero_points.push_back(0);
    for (int64_t k = 0; k < cols; ++k) {
      const int v = u(rng);
      w.q.data<int8_t>()[r * cols + k] = int8_t(v);
      w.f.data<float>()[r * cols + k] = float(v) * qp.scales.back();
    }
  }
  w.q.set_quant(qp);
  return w;
}

/// Runs one node on the inputs (null = absent; W, R and B constants) and returns Y, Y_h, Y_c.
std::vector<Tensor> run_lstm(OpKind op, const std::vector<const Tensor*>& ins, Attributes attrs, int threads) {
  return test::run_node(op, ins, std::move(attrs), 3, {1, 2, 3}, threads);
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.numel() == b.numel() && std::memcmp(a.data<float>(), b.data<float>(), size_t(a.numel()) * 4) == 0;
}

/// [d0, d1, rest] → [d1, d0, rest] (time-major ↔ batch-major).
Tensor swap01(const Tensor& t) {
  std::vector<int64_t> dims = t.dims();
  std::swap(dims[0], dims[1]);
  Tensor o(t.dtype(), dims);
  const int64_t a = t.dim(0), b = t.dim(1), rest = t.numel() / (a * b);
  const size_t es = dtype_size(t.dtype());
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      std::memcpy(static_cast<std::byte*>(o.raw()) + size_t((j * a + i) * rest) * es,
                  static_cast<const std::byte*>(t.raw()) + size_t((i * b + j) * rest) * es, size_t(rest) * es);
  return o;
}

/// Y of layout 0 [T, D, B, H] → layout 1 [B, T, D, H].
Tensor y_to_batch_major(const Tensor& y) {
  const int64_t T = y.dim(0), D = y.dim(1), B = y.dim(2), H = y.dim(3);
  Tensor o(DType::f32, {B, T, D, H});
  for (int64_t t = 0; t < T; ++t)
    for (int64_t d = 0; d < D; ++d)
      for (int64_t b = 0; b < B; ++b)
        std::memcpy(o.data<float>() + ((b * T + t) * D + d) * H, y.data<float>() + ((t * D + d) * B + b) * H,
                    size_t(H) * sizeof(float));
  return o;
}

}  // namespace

TEST_CASE("DynamicQLSTM and QLSTM follow the fp32 LSTM for every layout and direction, with initial states") {
  const int64_t T = 6, B = 3, I = 20, H = 19;
  for (const char* dir : {"forward", "reverse", "bidirectional"}) {
    const int64_t D = std::string(dir) == "bidirectional" ? 2 : 1;
    QWeights w = random_weights(D * 4 * H, I, 11), r = random_weights(D * 4 * H, H, 12);
    const Tensor wf = w.f.reshaped({D, 4 * H, I}), rf = r.f.reshaped({D, 4 * H, H});
    const Tensor bias = random_f32({D, 8 * H}, 13, -0.5f, 0.5f);
    const Tensor x = random_f32({T, B, I}, 14, -2.f, 2.f);
    const Tensor h0 = random_f32({D, B, H}, 15, -0.8f, 0.8f), c0 = random_f32({D, B, H}, 16, -1.f, 1.f);
    for (int64_t layout : {0, 1}) {
      for (OpKind op : {OpKind::DynamicQLSTM, OpKind::QLSTM}) {
        INFO(std::string(dir) << " layout " << layout << " " << (op == OpKind::QLSTM ? "QLSTM" : "DynamicQLSTM"));
        Attributes a;
        a.set("hidden_size", H);
        a.set("direction", std::string(dir));
        a.set("layout", layout);
        const Tensor xl = layout ? swap01(x) : x, h0l = layout ? swap01(h0) : h0, c0l = layout ? swap01(c0) : c0;
        const auto want = run_lstm(OpKind::LSTM, {&xl, &wf, &rf, &bias, nullptr, &h0l, &c0l}, a, 1);
        Attributes qa = a;
        if (op == OpKind::QLSTM) {
          qa.set("x_scale", 4.f / 255.f);
          qa.set("x_zero_point", int64_t(128));
          qa.set("h_scale", 2.f / 255.f);
          qa.set("h_zero_point", int64_t(128));
        }
        const auto got = run_lstm(op, {&xl, &w.q, &r.q, &bias, nullptr, &h0l, &c0l}, qa, 1);
        for (size_t k = 0; k < 3; ++k) {
          REQUIRE(got[k].dims() == want[k].dims());
          float worst = 0.f;
          for (int64_t i = 0; i < got[k].numel(); ++i)
            worst = std::max(worst, std::fabs(got[k].data<float>()[i] - want[k].data<float>()[i]));
          INFO("output " << k);
          CHECK(worst <= 0.05f);
        }
        const auto two = run_lstm(op, {&xl, &w.q, &r.q, &bias, nullptr, &h0l, &c0l}, qa, 2);
        for (size_t k = 0; k < 3; ++k) CHECK(same_bits(two[k], got[k]));
        if (layout == 1) {  // the same bits as layout 0 on the transposed operands
          Attributes a0 = qa;
          a0.set("layout", int64_t(0));
          const auto l0 = run_lstm(op, {&x, &w.q, &r.q, &bias, nullptr, &h0, &c0}, a0, 1);
          CHECK(same_bits(got[0], y_to_batch_major(l0[0])));
          CHECK(same_bits(got[1], swap01(l0[1])));
          CHECK(same_bits(got[2], swap01(l0[2])));
        }
      }
    }
  }
}

TEST_CASE("DynamicQLSTM: a zero initial state gives the bits of no initial state") {
  const int64_t T = 5, B = 2, I = 7, H = 33;
  QWeights w = random_weights(4 * H, I, 21), r = random_weights(4 * H, H, 22);
  const Tensor x = random_f32({T, B, I}, 23, -1.f, 1.f), bias = random_f32({1, 8 * H}, 24, -0.5f, 0.5f);
  Tensor zero(DType::f32, {1, B, H}), negzero(DType::f32, {1, B, H});
  for (int64_t i = 0; i < zero.numel(); ++i) {
    zero.data<float>()[i] = 0.f;
    negzero.data<float>()[i] = -0.f;
  }
  Attributes a;
  a.set("hidden_size", H);
  const auto none = run_lstm(OpKind::DynamicQLSTM, {&x, &w.q, &r.q, &bias}, a, 1);
  const auto zeros = run_lstm(OpKind::DynamicQLSTM, {&x, &w.q, &r.q, &bias, nullptr, &zero, &zero}, a, 1);
  const auto negzeros = run_lstm(OpKind::DynamicQLSTM, {&x, &w.q, &r.q, &bias, nullptr, &negzero, &zero}, a, 1);
  for (size_t k = 0; k < 3; ++k) {
    CHECK(same_bits(zeros[k], none[k]));
    CHECK(same_bits(negzeros[k], none[k]));
  }
}
