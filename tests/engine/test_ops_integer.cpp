// ONNX integer ops (MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv) and the
// QuantizeLinear / DequantizeLinear edge cases through a Session, against naive loops in
// int64 / double (every u8/s8 combination, per-row / per-column / per-channel zero points).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "engine/session.h"
#include "one_node.h"
#include "ir/error.h"
#include "ir/graph.h"

using namespace mq;

namespace {

// Runs a one-node graph; operands listed in `constants` are graph constants, the others inputs.
std::vector<Tensor> run_node(OpKind op, const std::vector<const Tensor*>& ins, Attributes attrs = {},
                             std::vector<size_t> constants = {}) {
  return test::run_node(op, ins, std::move(attrs), 1, constants, 0);
}

Tensor random_int8(DType t, std::vector<int64_t> dims, uint32_t seed) {
  Tensor x(t, std::move(dims));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u(0, 255);
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (t == DType::u8) x.data<uint8_t>()[i] = uint8_t(u(rng));
    else x.data<int8_t>()[i] = int8_t(u(rng) - 128);
  }
  return x;
}

int64_t at(const Tensor& t, int64_t i) { return t.to_int64()[size_t(i)]; }

Tensor zp_tensor(DType t, const std::vector<int>& v) {
  std::vector<int64_t> dims;
  if (v.size() > 1) dims.push_back(int64_t(v.size()));
  if (t == DType::u8) return Tensor::from_vector<uint8_t>(dims, std::vector<uint8_t>(v.begin(), v.end()));
  return Tensor::from_vector<int8_t>(dims, std::vector<int8_t>(v.begin(), v.end()));
}

}  // namespace

TEST_CASE("MatMulInteger: every u8/s8 combination, per-row and per-column zero points, batch broadcast") {
  for (DType ta : {DType::u8, DType::i8})
    for (DType tb : {DType::u8, DType::i8})
      for (int zpmode = 0; zpmode < 3; ++zpmode) {
        CAPTURE(dtype_name(ta));
        CAPTURE(dtype_name(tb));
        CAPTURE(zpmode);
        const int64_t B = 2, M = 5, K = 7, N = 19;
        Tensor a = random_int8(ta, {B, M, K}, 1);
        Tensor b = random_int8(tb, {K, N}, 2);
        std::vector<int> azp(zpmode == 2 ? M : 1), bzp(zpmode == 2 ? N : 1);
        for (size_t i = 0; i < azp.size(); ++i)
          azp[i] = zpmode == 0 ? 0 : int(3 * i + 1) * (ta == DType::u8 ? 1 : -1);
        for (size_t i = 0; i < bzp.size(); ++i) bzp[i] = zpmode == 0 ? 0 : int(5 * i + 2) % 100;
        Tensor az = zp_tensor(ta, azp), bz = zp_tensor(tb, bzp);
        Tensor y = run_node(OpKind::MatMulInteger, {&a, &b, &az, &bz})[0];
        REQUIRE(y.dtype() == DType::i32);
        REQUIRE(y.dims() == std::vector<int64_t>{B, M, N});
        for (int64_t bb = 0; bb < B; ++bb)
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              int64_t want = 0;
              for (int64_t k = 0; k < K; ++k)
                want += (at(a, (bb * M + i) * K + k) - azp[azp.size() > 1 ? size_t(i) : 0]) *
                        (at(b, k * N + j) - bzp[bzp.size() > 1 ? size_t(j) : 0]);
              REQUIRE(y.data<int32_t>()[(bb * M + i) * N + j] == want);
            }
      }
}

TEST_CASE("MatMulInteger: a constant B of either type, with zero points, is packed once and reused across runs") {
  // The ORT dynamic form (u8 weights with a zero point) and every other pair run on the u8 × s8
  // qgemm plus a row-sum term; the naive loop below is the definition.
  const int64_t K = 9, N = 21;
  for (DType ta : {DType::u8, DType::i8})
    for (DType tb : {DType::u8, DType::i8})
      for (int per_column = 0; per_column < 2; ++per_column) {
        CAPTURE(dtype_name(ta));
        CAPTURE(dtype_name(tb));
        CAPTURE(per_column);
        Tensor b = random_int8(tb, {K, N}, 31);
        std::vector<int> bzp(per_column ? N : 1);
        for (size_t i = 0; i < bzp.size(); ++i) bzp[i] = tb == DType::u8 ? int(121 + i) : int(i % 5) - 2;
        const int azp = ta == DType::u8 ? 7 : -9;
        Graph g;
        Value* av = g.add_input("a", {ta, Shape::unknown_rank(), {}});
        Value* bv = g.add_constant("b", b);
        Value* zv = g.add_constant("az", zp_tensor(ta, {azp}));
        Value* bzv = g.add_constant("bz", zp_tensor(tb, bzp));
        Node* n = g.add_node(OpKind::MatMulInteger, {.name = "n", .inputs = {av, bv, zv, bzv}, .num_outputs = 1});
        g.add_output(n->output(0));
        Session s(g);
        for (int64_t rows : {4, 1, 6}) {
          CAPTURE(rows);
          Tensor a = random_int8(ta, {rows, K}, uint32_t(40 + rows));
          Tensor y = s.run({{"a", a}}).at(n->output(0)->name());
          REQUIRE(y.dims() == std::vector<int64_t>{rows, N});
          for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < N; ++j) {
              int64_t want = 0;
              for (int64_t k = 0; k < K; ++k)
                want += (at(a, i * K + k) - azp) * (at(b, k * N + j) - bzp[per_column ? size_t(j) : 0]);
              REQUIRE(y.data<int32_t>()[i * N + j] == want);
            }
        }
      }
}

TEST_CASE("MatMulInteger: 1-D operands and absent zero points") {
  Tensor a = Tensor::from_vector<uint8_t>({3}, {1, 2, 3});
  Tensor b = Tensor::from_vector<int8_t>({3, 2}, {1, -1, 2, -2, 3, -3});
  Tensor y = run_node(OpKind::MatMulInteger, {&a, &b})[0];
  REQUIRE(y.dims() == std::vector<int64_t>{2});
  CHECK(y.data<int32_t>()[0] == 14);
  CHECK(y.data<int32_t>()[1] == -14);
}

TEST_CASE("QLinearMatMul: ONNX's 2-D example and an s8 output with per-column b scales") {
  Tensor a = Tensor::from_vector<uint8_t>({2, 4}, {208, 236, 0, 238, 3, 214, 255, 29});
  Tensor as = Tensor::from_vector<float>({1}, {0.0066f});
  Tensor az = Tensor::from_vector<uint8_t>({1}, {113});
  Tensor b = Tensor::from_vector<uint8_t>({4, 3}, {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247});
  Tensor bs = Tensor::from_vector<float>({1}, {0.00705f});
  Tensor bz = Tensor::from_vector<uint8_t>({1}, {114});
  Tensor ys = Tensor::from_vector<float>({1}, {0.0107f});
  Tensor yz = Tensor::from_vector<uint8_t>({1}, {118});
  Tensor y = run_node(OpKind::QLinearMatMul, {&a, &as, &az, &b, &bs, &bz, &ys, &yz})[0];
  REQUIRE(y.dtype() == DType::u8);
  const std::vector<int64_t> want = {168, 115, 255, 1, 66, 151};
  CHECK(y.to_int64() == want);

  Tensor a2 = random_int8(DType::i8, {3, 6}, 7);
  Tensor b2 = random_int8(DType::i8, {6, 4}, 8);
  Tensor as2 = Tensor::scalar<float>(0.05f);
  Tensor az2 = Tensor::scalar<int8_t>(-3);
  Tensor bs2 = Tensor::from_vector<float>({4}, {0.01f, 0.02f, 0.03f, 0.04f});
  Tensor bz2 = Tensor::from_vector<int8_t>({4}, {0, 1, -1, 2});
  Tensor ys2 = Tensor::scalar<float>(0.5f);
  Tensor yz2 = Tensor::scalar<int8_t>(-10);
  Tensor y2 = run_node(OpKind::QLinearMatMul, {&a2, &as2, &az2, &b2, &bs2, &bz2, &ys2, &yz2})[0];
  REQUIRE(y2.dtype() == DType::i8);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      int64_t acc = 0;
      for (int64_t k = 0; k < 6; ++k) acc += (at(a2, i * 6 + k) + 3) * (at(b2, k * 4 + j) - at(bz2, j));
      double v = std::nearbyint(double(acc) * 0.05 * bs2.data<float>()[j] / 0.5) - 10;
      CHECK(at(y2, i * 4 + j) == int64_t(std::clamp(v, -128.0, 127.0)));
    }
}

TEST_CASE("ConvInteger: ONNX's padded example, and grouped strided dilated convs vs a naive loop") {
  Tensor x = Tensor::from_vector<uint8_t>({1, 1, 3, 3}, {2, 3, 4, 5, 6, 7, 8, 9, 10});
  Tensor w = Tensor::from_vector<uint8_t>({1, 1, 2, 2}, {1, 1, 1, 1});
  Tensor xz = Tensor::scalar<uint8_t>(1);
  Attributes pads;
  pads.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Tensor y = run_node(OpKind::ConvInteger, {&x, &w, &xz}, pads)[0];
  REQUIRE(y.dims() == std::vector<int64_t>{1, 1, 4, 4});
  const std::vector<int64_t> want = {1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9};
  CHECK(y.to_int64() == want);

  for (DType tx : {DType::u8, DType::i8})
    for (DType tw : {DType::u8, DType::i8})
      for (int zero_w = 0; zero_w < 2; ++zero_w) {  // with and without the weight-offset term
        CAPTURE(zero_w);
        const int64_t N = 2, C = 4, H = 6, W = 7, M = 6, G = 2, KH = 3, KW = 2;
        Tensor xx = random_int8(tx, {N, C, H, W}, 3);
        Tensor ww = random_int8(tw, {M, C / G, KH, KW}, 4);
        std::vector<int> wzp(M);
        for (int64_t i = 0; i < M; ++i) wzp[size_t(i)] = zero_w ? 0 : int(i * 7 % 50);
        Tensor xzz = zp_tensor(tx, {tx == DType::u8 ? 100 : -5});
        Tensor wz = zp_tensor(tw, wzp);
        Attributes a;
        a.set("group", G);
        a.set("strides", std::vector<int64_t>{2, 1});
        a.set("dilations", std::vector<int64_t>{1, 2});
        a.set("pads", std::vector<int64_t>{1, 0, 2, 1});
        // u8 activations: the weight and its zero point as constants (packed once per Session)
        const std::vector<size_t> consts = tx == DType::u8 ? std::vector<size_t>{1, 3} : std::vector<size_t>{};
        Tensor yy = run_node(OpKind::ConvInteger, {&xx, &ww, &xzz, &wz}, a, consts)[0];
        const int64_t OH = (H + 3 - 3) / 2 + 1, OW = (W + 1 - 3) / 1 + 1;
        REQUIRE(yy.dims() == std::vector<int64_t>{N, M, OH, OW});
        const int64_t xzv = at(xzz, 0);
        for (int64_t n = 0; n < N; ++n)
          for (int64_t m = 0; m < M; ++m)
            for (int64_t oy = 0; oy < OH; ++oy)
              for (int64_t ox = 0; ox < OW; ++ox) {
                int64_t acc = 0;
                const int64_t g = m / (M / G);
                for (int64_t ic = 0; ic < C / G; ++ic)
                  for (int64_t ky = 0; ky < KH; ++ky)
                    for (int64_t kx = 0; kx < KW; ++kx) {
                      const int64_t iy = oy * 2 - 1 + ky, ix = ox - 0 + kx * 2;
                      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                      acc += (at(xx, ((n * C + g * (C / G) + ic) * H + iy) * W + ix) - xzv) *
                             (at(ww, ((m * (C / G) + ic) * KH + ky) * KW + kx) - wzp[size_t(m)]);
                    }
                REQUIRE(yy.data<int32_t>()[((n * M + m) * OH + oy) * OW + ox] == acc);
              }
      }
}

TEST_CASE(
    "QLinearConv: a weight zero point (the offset term, then requantization) equals the same conv without one") {
  const int64_t N = 1, C = 6, H = 5, W = 5, M = 6, G = 3;
  Tensor x = random_int8(DType::u8, {N, C, H, W}, 21);
  Tensor w = random_int8(DType::i8, {M, C / G, 3, 3}, 22);
  Tensor xs = Tensor::scalar<float>(0.03f), xz = Tensor::scalar<uint8_t>(120);
  Tensor ws = Tensor::from_vector<float>({M}, {0.01f, 0.02f, 0.01f, 0.03f, 0.02f, 0.01f});
  Tensor wz0 = Tensor::from_vector<int8_t>({M}, {0, 0, 0, 0, 0, 0});
  Tensor wz1 = Tensor::from_vector<int8_t>({M}, {0, 0, 0, 0, 0, 1});  // the weight-offset term
  Tensor ys = Tensor::scalar<float>(0.2f), yz = Tensor::scalar<uint8_t>(100);
  Tensor bias = Tensor::from_vector<int32_t>({M}, {5, -5, 50, -50, 500, -500});
  Attributes a;
  a.set("group", G);
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  a.set("strides", std::vector<int64_t>{2, 2});
  Tensor fast = run_node(OpKind::QLinearConv, {&x, &xs, &xz, &w, &ws, &wz0, &ys, &yz, &bias}, a, {3, 5})[0];
  REQUIRE(fast.dims() == std::vector<int64_t>{N, M, 3, 3});
  // The same data with channel 5's zero point moved into the weight.
  Tensor w1 = w;
  w1 = Tensor(DType::i8, w.dims());
  for (int64_t i = 0; i < w.numel(); ++i) {
    const bool last = i >= 5 * (C / G) * 9;
    const int v = w.data<int8_t>()[i] + (last ? 1 : 0);
    w1.data<int8_t>()[i] = int8_t(v);
  }
  bool overflow = false;
  for (int64_t i = 5 * (C / G) * 9; i < w.numel(); ++i) overflow |= w.data<int8_t>()[i] == 127;
  REQUIRE_FALSE(overflow);
  Tensor slow = run_node(OpKind::QLinearConv, {&x, &xs, &xz, &w1, &ws, &wz1, &ys, &yz, &bias}, a)[0];
  CHECK(fast.to_int64() == slow.to_int64());
}

TEST_CASE("QLinearConv: 1-D conv with per-channel weight scales, bias and s8 output") {
  const int64_t N = 1, C = 2, W = 9, M = 3, K = 3;
  Tensor x = random_int8(DType::u8, {N, C, W}, 11);
  Tensor w = random_int8(DType::i8, {M, C, K}, 12);
  Tensor xs = Tensor::scalar<float>(0.02f), xz = Tensor::scalar<uint8_t>(128);
  Tensor ws = Tensor::from_vector<float>({M}, {0.01f, 0.005f, 0.02f});
  Tensor wz = Tensor::from_vector<int8_t>({M}, {0, 0, 0});
  Tensor ys = Tensor::scalar<float>(0.1f), yz = Tensor::scalar<int8_t>(5);
  Tensor bias = Tensor::from_vector<int32_t>({M}, {100, -2000, 0});
  Attributes a;
  a.set("auto_pad", std::string("SAME_UPPER"));
  Tensor y = run_node(OpKind::QLinearConv, {&x, &xs, &xz, &w, &ws, &wz, &ys, &yz, &bias}, a)[0];
  REQUIRE(y.dtype() == DType::i8);
  REQUIRE(y.dims() == std::vector<int64_t>{N, M, W});
  for (int64_t m = 0; m < M; ++m)
    for (int64_t o = 0; o < W; ++o) {
      int64_t acc = bias.data<int32_t>()[m];
      for (int64_t c = 0; c < C; ++c)
        for (int64_t k = 0; k < K; ++k) {
          const int64_t i = o - 1 + k;
          if (i >= 0 && i < W) acc += (at(x, c * W + i) - 128) * at(w, (m * C + c) * K + k);
        }
      double v = std::nearbyint(double(acc) * 0.02 * ws.data<float>()[m] / 0.1) + 5;
      CHECK(at(y, m * W + o) == int64_t(std::clamp(v, -128.0, 127.0)));
    }
}

TEST_CASE("QuantizeLinear rounds half to even and saturates; DequantizeLinear reads int32 and per-axis") {
  Tensor x = Tensor::from_vector<float>({8}, {0.f, 2.5f, 3.5f, -2.5f, 1000.f, -1000.f, 0.49f, -0.51f});
  Tensor s = Tensor::scalar<float>(1.f);
  Tensor z = Tensor::scalar<int8_t>(0);
  Tensor y = run_node(OpKind::QuantizeLinear, {&x, &s, &z})[0];
  const std::vector<int64_t> want = {0, 2, 4, -2, 127, -128, 0, -1};
  CHECK(y.to_int64() == want);

  Tensor q = Tensor::from_vector<int32_t>({3}, {-7, 0, 1 << 20});
  Tensor ds = Tensor::scalar<float>(0.5f);
  Tensor d = run_node(OpKind::DequantizeLinear, {&q, &ds})[0];
  CHECK(d.to_float() == std::vector<float>{-3.5f, 0.f, float(1 << 19)});

  Tensor q2 = Tensor::from_vector<uint8_t>({2, 2}, {10, 20, 30, 40});
  Tensor s2 = Tensor::from_vector<float>({2}, {1.f, 2.f});
  Tensor z2 = Tensor::from_vector<uint8_t>({2}, {10, 0});
  Attributes ax;
  ax.set("axis", int64_t(0));
  Tensor d2 = run_node(OpKind::DequantizeLinear, {&q2, &s2, &z2}, ax)[0];
  CHECK(d2.to_float() == std::vector<float>{0.f, 10.f, 60.f, 80.f});
}

TEST_CASE("integer ops reject bad operands with an mq::Error") {
  Tensor a = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  Tensor b = Tensor::from_vector<uint8_t>({2, 2}, {1, 2, 3, 4});
  CHECK_THROWS_AS(run_node(OpKind::MatMulInteger, {&a, &b}), Error);
  Tensor bz = Tensor::from_vector<uint8_t>({3}, {1, 2, 3});
  CHECK_THROWS_AS(run_node(OpKind::MatMulInteger, {&b, &b, nullptr, &bz}), Error);
  Tensor bad = Tensor::scalar<float>(0.f);
  Tensor zp = Tensor::scalar<uint8_t>(0);
  CHECK_THROWS_AS(run_node(OpKind::QLinearMatMul, {&b, &bad, &zp, &b, &bad, &zp, &bad, &zp}), Error);
}
