// Layer executors (Linear, Gemm, MatMul, Conv2d, LSTM) and pooling through a Session on
// small hand-built graphs, against naive loops. Tolerance: 1e-4 absolute + 1e-4 relative.
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>

#include <cmath>
#include <random>

#include "engine/session.h"
#include "one_node.h"
#include "ir/graph.h"

using namespace mq;
using test::run_node;

namespace {
Tensor random_tensor(std::vector<int64_t> dims, uint32_t seed) {
  Tensor t(DType::f32, std::move(dims));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

void check_close(const Tensor& got, const std::vector<float>& want) {
  REQUIRE(size_t(got.numel()) == want.size());
  const float* g = got.data<float>();
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("element " << i);
    REQUIRE(std::fabs(g[i] - want[i]) <= 1e-4f + 1e-4f * std::fabs(want[i]));
  }
}

ValueType f32(const std::vector<int64_t>& d) { return {DType::f32, Shape(d), {}}; }

struct ConvCase {
  int64_t n, c, h, w, m, kh, kw, group, sh, sw, dh, dw, pt, pl, pb, pr;
  bool bias;
};

std::vector<float> naive_conv(const ConvCase& k, const Tensor& x, const Tensor& w, const Tensor* b, int64_t oh,
                              int64_t ow) {
  std::vector<float> y(size_t(k.n * k.m * oh * ow));
  const int64_t cg = k.c / k.group, mg = k.m / k.group;
  const float *X = x.data<float>(), *W = w.data<float>();
  for (int64_t n = 0; n < k.n; ++n)
    for (int64_t m = 0; m < k.m; ++m)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double s = b ? b->data<float>()[m] : 0.0;
          const int64_t g = m / mg;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t i = 0; i < k.kh; ++i)
              for (int64_t j = 0; j < k.kw; ++j) {
                const int64_t iy = oy * k.sh - k.pt + i * k.dh, ix = ox * k.sw - k.pl + j * k.dw;
                if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
                s += X[((n * k.c + g * cg + ci) * k.h + iy) * k.w + ix] * W[((m * cg + ci) * k.kh + i) * k.kw + j];
              }
          y[size_t(((n * k.m + m) * oh + oy) * ow + ox)] = float(s);
        }
  return y;
}
}  // namespace

TEST_CASE("Conv2d matches a naive loop: groups, depthwise, strides, dilations, asymmetric pads, 1x1") {
  const ConvCase cases[] = {
      {1, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},   // plain, padded
      {2, 4, 9, 8, 6, 3, 2, 2, 2, 1, 1, 2, 0, 1, 2, 0, true},   // groups, stride, dilation, asym pads
      {1, 4, 8, 8, 8, 3, 3, 4, 2, 2, 2, 2, 2, 2, 2, 2, false},  // depthwise with multiplier 2
      {2, 5, 4, 3, 7, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, true},   // 1x1 direct GEMM
      {1, 2, 5, 5, 2, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, true},   // 1x1 strided (im2col path)
  };
  uint32_t seed = 1;
  for (const ConvCase& k : cases) {
    CAPTURE(seed);
    Tensor x = random_tensor({k.n, k.c, k.h, k.w}, seed++);
    Tensor w = random_tensor({k.m, k.c / k.group, k.kh, k.kw}, seed++);
    Tensor b = random_tensor({k.m}, seed++);
    Attributes a;
    a.set("group", k.group);
    a.set("strides", std::vector<int64_t>{k.sh, k.sw});
    a.set("dilations", std::vector<int64_t>{k.dh, k.dw});
    a.set("pads", std::vector<int64_t>{k.pt, k.pl, k.pb, k.pr});
    auto y = run_node(OpKind::Conv2d, {&x, &w, k.bias ? &b : nullptr}, a);
    const int64_t oh = (k.h + k.pt + k.pb - ((k.kh - 1) * k.dh + 1)) / k.sh + 1;
    const int64_t ow = (k.w + k.pl + k.pr - ((k.kw - 1) * k.dw + 1)) / k.sw + 1;
    CHECK(y[0].dims() == std::vector<int64_t>{k.n, k.m, oh, ow});
    check_close(y[0], naive_conv(k, x, w, k.bias ? &b : nullptr, oh, ow));
  }
}

TEST_CASE("Conv2d auto_pad SAME_LOWER resolves pads from the input shape") {
  Tensor x = random_tensor({1, 2, 5, 6}, 7), w = random_tensor({3, 2, 2, 3}, 8);
  Attributes a;
  a.set("auto_pad", std::string("SAME_LOWER"));
  a.set("strides", std::vector<int64_t>{2, 2});
  auto y = run_node(OpKind::Conv2d, {&x, &w}, a);
  // out = ceil(5/2)=3, ceil(6/2)=3; total pad H = 2*2+2-5 = 1 (lower: top 1), W = 4+3-6 = 1.
  ConvCase k{1, 2, 5, 6, 3, 2, 3, 1, 2, 2, 1, 1, 1, 1, 0, 0, false};
  CHECK(y[0].dims() == std::vector<int64_t>{1, 3, 3, 3});
  check_close(y[0], naive_conv(k, x, w, nullptr, 3, 3));
}

TEST_CASE("Conv2d rejects channel/group mismatches at inference") {
  Graph g;
  Value* x = g.add_input("x", f32({1, 4, 5, 5}));
  Value* w = g.add_constant("w", Tensor(DType::f32, {6, 3, 3, 3}));
  Attributes a;
  a.set("group", int64_t(2));
  CHECK_THROWS_AS(g.add_node(OpKind::Conv2d, {.name = "c", .inputs = {x, w}, .attrs = a}), ShapeError);
}

TEST_CASE("Linear, Gemm and MatMul match naive products") {
  Tensor x = random_tensor({2, 3, 5}, 11), w = random_tensor({4, 5}, 12), b = random_tensor({4}, 13);
  auto y = run_node(OpKind::Linear, {&x, &w, &b}, {});
  std::vector<float> want;
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t o = 0; o < 4; ++o) {
      double s = b.data<float>()[o];
      for (int64_t i = 0; i < 5; ++i) s += x.data<float>()[r * 5 + i] * w.data<float>()[o * 5 + i];
      want.push_back(float(s));
    }
  CHECK(y[0].dims() == std::vector<int64_t>{2, 3, 4});
  check_close(y[0], want);

  // Gemm: transA, transB, alpha, beta, C broadcast as a column [M,1].
  Tensor a = random_tensor({5, 3}, 14), bb = random_tensor({4, 5}, 15), c = random_tensor({3, 1}, 16);
  Attributes at;
  at.set("transA", int64_t(1));
  at.set("transB", int64_t(1));
  at.set("alpha", 0.5f);
  at.set("beta", 2.f);
  auto gy = run_node(OpKind::Gemm, {&a, &bb, &c}, at);
  want.clear();
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      double s = 0;
      for (int64_t k = 0; k < 5; ++k) s += a.data<float>()[k * 3 + i] * bb.data<float>()[j * 5 + k];
      want.push_back(float(0.5 * s + 2.0 * c.data<float>()[i]));
    }
  check_close(gy[0], want);

  // MatMul with broadcast batch dims: [2,1,3,4] x [3,4,2] -> [2,3,3,2]; and 1-D x 2-D.
  Tensor ma = random_tensor({2, 1, 3, 4}, 17), mb = random_tensor({3, 4, 2}, 18);
  auto my = run_node(OpKind::MatMul, {&ma, &mb}, {});
  CHECK(my[0].dims() == std::vector<int64_t>{2, 3, 3, 2});
  want.clear();
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t q = 0; q < 3; ++q)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 2; ++j) {
          double s = 0;
          for (int64_t k = 0; k < 4; ++k)
            s += ma.data<float>()[(p * 3 + i) * 4 + k] * mb.data<float>()[(q * 4 + k) * 2 + j];
          want.push_back(float(s));
        }
  check_close(my[0], want);
  Tensor v = random_tensor({4}, 19), m2 = random_tensor({4, 3}, 20);
  auto vy = run_node(OpKind::MatMul, {&v, &m2}, {});
  CHECK(vy[0].dims() == std::vector<int64_t>{3});
}

namespace {
float sigm(float v) { return 1.f / (1.f + std::exp(-v)); }

// Naive bidirectional LSTM (layout 0, gates i,o,f,c, peepholes (none when P is empty),
// sequence lengths, initial state); returns Y [S,2,B,H], Y_h and Y_c [2,B,H] concatenated.
std::vector<float> naive_bilstm(const Tensor& X, const Tensor& W, const Tensor& R, const Tensor& Bs,
                                const Tensor& P, const std::vector<int32_t>& lens, const Tensor& h0,
                                const Tensor& c0, int64_t S, int64_t B, int64_t I, int64_t H) {
  std::vector<float> Y(size_t(S * 2 * B * H), 0.f), Yh(size_t(2 * B * H)), Yc(size_t(2 * B * H));
  for (int64_t d = 0; d < 2; ++d)
    for (int64_t b = 0; b < B; ++b) {
      std::vector<float> h(static_cast<size_t>(H)), c(static_cast<size_t>(H));
      for (int64_t j = 0; j < H; ++j) {
        h[size_t(j)] = h0.data<float>()[(d * B + b) * H + j];
        c[size_t(j)] = c0.data<float>()[(d * B + b) * H + j];
      }
      const int64_t L = lens[size_t(b)];
      for (int64_t s = 0; s < L; ++s) {
        const int64_t t = d == 0 ? s : L - 1 - s;
        std::vector<float> gate(size_t(4 * H));
        for (int64_t q = 0; q < 4 * H; ++q) {
          double acc = Bs.data<float>()[d * 8 * H + q] + Bs.data<float>()[d * 8 * H + 4 * H + q];
          for (int64_t i = 0; i < I; ++i)
            acc += X.data<float>()[(t * B + b) * I + i] * W.data<float>()[(d * 4 * H + q) * I + i];
          for (int64_t k = 0; k < H; ++k) acc += h[size_t(k)] * R.data<float>()[(d * 4 * H + q) * H + k];
          gate[size_t(q)] = float(acc);
        }
        const std::vector<float> none(size_t(3 * H), 0.f);
        const float* p = P.numel() ? P.data<float>() + d * 3 * H : none.data();
        for (int64_t j = 0; j < H; ++j) {
          const float i = sigm(gate[size_t(j)] + p[j] * c[size_t(j)]);
          const float f = sigm(gate[size_t(2 * H + j)] + p[2 * H + j] * c[size_t(j)]);
          const float cc = std::tanh(gate[size_t(3 * H + j)]);
          c[size_t(j)] = f * c[size_t(j)] + i * cc;
          const float o = sigm(gate[size_t(H + j)] + p[H + j] * c[size_t(j)]);
          h[size_t(j)] = o * std::tanh(c[size_t(j)]);
        }
        for (int64_t j = 0; j < H; ++j) Y[size_t(((t * 2 + d) * B + b) * H + j)] = h[size_t(j)];
      }
      for (int64_t j = 0; j < H; ++j) {
        Yh[size_t((d * B + b) * H + j)] = h[size_t(j)];
        Yc[size_t((d * B + b) * H + j)] = c[size_t(j)];
      }
    }
  Y.insert(Y.end(), Yh.begin(), Yh.end());
  Y.insert(Y.end(), Yc.begin(), Yc.end());
  return Y;
}
}  // namespace

TEST_CASE("bidirectional LSTM with peepholes, sequence_lens and initial state matches a naive loop") {
  const int64_t S = 5, B = 3, I = 4, H = 3;
  Tensor X = random_tensor({S, B, I}, 21), W = random_tensor({2, 4 * H, I}, 22);
  Tensor R = random_tensor({2, 4 * H, H}, 23), Bs = random_tensor({2, 8 * H}, 24);
  Tensor P = random_tensor({2, 3 * H}, 25), h0 = random_tensor({2, B, H}, 26), c0 = random_tensor({2, B, H}, 27);
  std::vector<int32_t> lens = {5, 2, 0};
  Tensor L = Tensor::from_vector<int32_t>({B}, lens);
  Attributes a;
  a.set("direction", std::string("bidirectional"));
  a.set("hidden_size", H);
  auto out = run_node(OpKind::LSTM, {&X, &W, &R, &Bs, &L, &h0, &c0, &P}, a, 3);
  CHECK(out[0].dims() == std::vector<int64_t>{S, 2, B, H});
  CHECK(out[1].dims() == std::vector<int64_t>{2, B, H});
  std::vector<float> want = naive_bilstm(X, W, R, Bs, P, lens, h0, c0, S, B, I, H);
  std::vector<float> got(out[0].data<float>(), out[0].data<float>() + out[0].numel());
  got.insert(got.end(), out[1].data<float>(), out[1].data<float>() + out[1].numel());
  got.insert(got.end(), out[2].data<float>(), out[2].data<float>() + out[2].numel());
  Tensor g = Tensor::from_vector<float>({int64_t(got.size())}, got);
  check_close(g, want);
}

TEST_CASE("Linear over large constant weights (few rows: the panel-packed path) matches a naive product") {
  // 1100 × 256 floats (over 1 MiB, a partial last panel of 32 columns); 5 rows; 1 and 2
  // threads; with Relu in the epilogue
  const int64_t M = 5, N = 1100, K = 256;
  Tensor x = random_tensor({M, K}, 41), w = random_tensor({N, K}, 42), b = random_tensor({N}, 43);
  std::vector<float> want;
  for (int64_t r = 0; r < M; ++r)
    for (int64_t o = 0; o < N; ++o) {
      double s = b.data<float>()[o];
      for (int64_t i = 0; i < K; ++i) s += double(x.data<float>()[r * K + i]) * w.data<float>()[o * K + i];
      want.push_back(std::max(float(s), 0.f));
    }
  Attributes a;
  a.set("activation", std::string("Relu"));
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    check_close(run_node(OpKind::Linear, {&x, &w, &b}, a, 1, {1, 2}, threads)[0], want);
  }
}

TEST_CASE("bidirectional LSTM over large constant weights (the panel-packed path) matches a naive loop") {
  // W and R of 1024 × 256 floats per direction (1 MiB each), 12 input rows
  const int64_t S = 4, B = 3, I = 256, H = 256;
  Tensor X = random_tensor({S, B, I}, 51), W = random_tensor({2, 4 * H, I}, 52);
  Tensor R = random_tensor({2, 4 * H, H}, 53), Bs = random_tensor({2, 8 * H}, 54);
  for (Tensor* t : {&W, &R})  // keep the gates out of saturation
    for (int64_t i = 0; i < t->numel(); ++i) t->data<float>()[i] *= 0.05f;
  Tensor P = random_tensor({2, 3 * H}, 55), h0 = random_tensor({2, B, H}, 56), c0 = random_tensor({2, B, H}, 57);
  std::vector<int32_t> lens = {4, 2, 3};
  Tensor L = Tensor::from_vector<int32_t>({B}, lens);
  Attributes a;
  a.set("direction", std::string("bidirectional"));
  a.set("hidden_size", H);
  const std::vector<float> want = naive_bilstm(X, W, R, Bs, P, lens, h0, c0, S, B, I, H);
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    auto out = run_node(OpKind::LSTM, {&X, &W, &R, &Bs, &L, &h0, &c0, &P}, a, 3, {1, 2, 3}, threads);
    std::vector<float> got(out[0].data<float>(), out[0].data<float>() + out[0].numel());
    got.insert(got.end(), out[1].data<float>(), out[1].data<float>() + out[1].numel());
    got.insert(got.end(), out[2].data<float>(), out[2].data<float>() + out[2].numel());
    check_close(Tensor::from_vector<float>({int64_t(got.size())}, got), want);
  }
}

TEST_CASE("LSTM with constant weights and the usual cell (the fused step) matches a naive loop") {
  // H 84: a partial last panel of 8 units; 4·H·H·B is enough for a direction's steps to split
  // over two threads; forward and bidirectional, with and without sequence_lens
  const int64_t S = 5, B = 3, I = 6, H = 84;
  Tensor X = random_tensor({S, B, I}, 61), W = random_tensor({2, 4 * H, I}, 62);
  Tensor R = random_tensor({2, 4 * H, H}, 63), Bs = random_tensor({2, 8 * H}, 64);
  for (int64_t i = 0; i < R.numel(); ++i) R.data<float>()[i] *= 0.2f;
  Tensor h0 = random_tensor({2, B, H}, 66), c0 = random_tensor({2, B, H}, 67), none(DType::f32, {0});
  for (const std::vector<int32_t>& lens : {std::vector<int32_t>{}, std::vector<int32_t>{5, 2, 0}}) {
    Tensor L = Tensor::from_vector<int32_t>({B}, lens.empty() ? std::vector<int32_t>(size_t(B), S) : lens);
    const std::vector<float> want = naive_bilstm(
        X, W, R, Bs, none, lens.empty() ? std::vector<int32_t>(size_t(B), S) : lens, h0, c0, S, B, I, H);
    for (const std::string dir : {"forward", "bidirectional"})
      for (int threads : {1, 2}) {
        CAPTURE(lens.size());
        CAPTURE(dir);
        CAPTURE(threads);
        const int64_t D = dir == "forward" ? 1 : 2;
        Tensor w = W, r = R, bs = Bs, hi = h0, ci = c0;
        if (D == 1) {  // the first direction's operands
          w = Tensor::from_vector<float>({1, 4 * H, I}, {W.data<float>(), W.data<float>() + 4 * H * I});
          r = Tensor::from_vector<float>({1, 4 * H, H}, {R.data<float>(), R.data<float>() + 4 * H * H});
          bs = Tensor::from_vector<float>({1, 8 * H}, {Bs.data<float>(), Bs.data<float>() + 8 * H});
          hi = Tensor::from_vector<float>({1, B, H}, {h0.data<float>(), h0.data<float>() + B * H});
          ci = Tensor::from_vector<float>({1, B, H}, {c0.data<float>(), c0.data<float>() + B * H});
        }
        Attributes a;
        a.set("direction", dir);
        a.set("hidden_size", H);
        // B a graph input (biases interleaved per run) on two threads, a constant on one
        auto out = run_node(OpKind::LSTM, {&X, &w, &r, &bs, lens.empty() ? nullptr : &L, &hi, &ci}, a, 3,
                            threads == 1 ? std::vector<size_t>{1, 2, 3} : std::vector<size_t>{1, 2}, threads);
        std::vector<float> expect;  // want's entries of the directions run
        for (int64_t t = 0; t < S; ++t)
          for (int64_t d = 0; d < D; ++d)
            expect.insert(expect.end(), want.begin() + ((t * 2 + d) * B) * H,
                          want.begin() + ((t * 2 + d + 1) * B) * H);
        for (int64_t k = 0; k < 2; ++k)
          expect.insert(expect.end(), want.begin() + S * 2 * B * H + k * 2 * B * H,
                        want.begin() + S * 2 * B * H + k * 2 * B * H + D * B * H);
        std::vector<float> got(out[0].data<float>(), out[0].data<float>() + out[0].numel());
        got.insert(got.end(), out[1].data<float>(), out[1].data<float>() + out[1].numel());
        got.insert(got.end(), out[2].data<float>(), out[2].data<float>() + out[2].numel());
        check_close(Tensor::from_vector<float>({int64_t(got.size())}, got), expect);
      }
  }
}

TEST_CASE("fused LSTM without an initial state (the first step's product skipped) matches a naive loop") {
  const int64_t S = 3, B = 2, I = 5, H = 12;
  Tensor X = random_tensor({S, B, I}, 71), W = random_tensor({2, 4 * H, I}, 72);
  Tensor R = random_tensor({2, 4 * H, H}, 73), Bs = random_tensor({2, 8 * H}, 74);
  Tensor zeros(DType::f32, {2, B, H}), none(DType::f32, {0});
  Attributes a;
  a.set("direction", std::string("bidirectional"));
  a.set("hidden_size", H);
  const std::vector<float> want = naive_bilstm(X, W, R, Bs, none, {S, S}, zeros, zeros, S, B, I, H);
  auto out = run_node(OpKind::LSTM, {&X, &W, &R, &Bs}, a, 3, {1, 2, 3});
  std::vector<float> got(out[0].data<float>(), out[0].data<float>() + out[0].numel());
  got.insert(got.end(), out[1].data<float>(), out[1].data<float>() + out[1].numel());
  got.insert(got.end(), out[2].data<float>(), out[2].data<float>() + out[2].numel());
  check_close(Tensor::from_vector<float>({int64_t(got.size())}, got), want);
}

TEST_CASE("LSTM layout 1 equals layout 0 with transposed operands; unknown activation is unsupported") {
  const int64_t S = 4, B = 2, I = 3, H = 2;
  Tensor X = random_tensor({S, B, I}, 31), W = random_tensor({1, 4 * H, I}, 32),
         R = random_tensor({1, 4 * H, H}, 33);
  Tensor Xt(DType::f32, {B, S, I});
  for (int64_t t = 0; t < S; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < I; ++i) Xt.data<float>()[(b * S + t) * I + i] = X.data<float>()[(t * B + b) * I + i];
  Attributes a;
  a.set("hidden_size", H);
  auto y0 = run_node(OpKind::LSTM, {&X, &W, &R}, a, 2);
  a.set("layout", int64_t(1));
  auto y1 = run_node(OpKind::LSTM, {&Xt, &W, &R}, a, 2);
  CHECK(y1[0].dims() == std::vector<int64_t>{B, S, 1, H});
  std::vector<float> want;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < S; ++t)
      for (int64_t j = 0; j < H; ++j) want.push_back(y0[0].data<float>()[(t * B + b) * H + j]);
  check_close(y1[0], want);
  check_close(y1[1], std::vector<float>(y0[1].data<float>(), y0[1].data<float>() + y0[1].numel()));
  a.set("activations", std::vector<std::string>{"Sigmoid", "Tanh", "Gelu"});
  CHECK_THROWS_AS(run_node(OpKind::LSTM, {&Xt, &W, &R}, a, 2), UnsupportedError);
}

TEST_CASE("MaxPool with ceil mode, pads and the Indices output; AveragePool count_include_pad") {
  Tensor x = Tensor::from_vector<float>({1, 1, 3, 3}, {1, 5, 2, 7, 3, 9, 4, 8, 6});
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{2, 2});
  a.set("strides", std::vector<int64_t>{2, 2});
  a.set("ceil_mode", int64_t(1));
  auto y = run_node(OpKind::MaxPool, {&x}, a, 2);
  CHECK(y[0].dims() == std::vector<int64_t>{1, 1, 2, 2});
  check_close(y[0], {7, 9, 8, 6});
  CHECK(std::vector<int64_t>(y[1].data<int64_t>(), y[1].data<int64_t>() + 4) == std::vector<int64_t>{3, 5, 7, 8});
  a.set("storage_order", int64_t(1));
  y = run_node(OpKind::MaxPool, {&x}, a, 2);
  CHECK(std::vector<int64_t>(y[1].data<int64_t>(), y[1].data<int64_t>() + 4) == std::vector<int64_t>{1, 7, 5, 8});

  Attributes avg;
  avg.set("kernel_shape", std::vector<int64_t>{2, 2});
  avg.set("pads", std::vector<int64_t>{1, 1, 0, 0});
  avg.set("count_include_pad", int64_t(1));
  auto z = run_node(OpKind::AveragePool, {&x}, avg);
  CHECK(z[0].dims() == std::vector<int64_t>{1, 1, 3, 3});
  CHECK(z[0].data<float>()[0] == doctest::Approx(0.25));  // 1 / 4 with 3 padded cells
  avg.set("count_include_pad", int64_t(0));
  z = run_node(OpKind::AveragePool, {&x}, avg);
  CHECK(z[0].data<float>()[0] == doctest::Approx(1.0));
}

TEST_CASE("GlobalMaxPool and GlobalAveragePool match a naive loop on long rows (NaN skipped by max)") {
  for (int64_t spatial : {int64_t(1), int64_t(15), int64_t(17), int64_t(508)}) {
    CAPTURE(spatial);
    Tensor x = random_tensor({2, 3, spatial}, uint32_t(spatial));
    if (spatial > 1) x.data<float>()[5] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> want_max, want_avg;
    for (int64_t c = 0; c < 6; ++c) {
      float m = std::numeric_limits<float>::lowest();
      double s = 0;
      for (int64_t i = 0; i < spatial; ++i) {
        const float v = x.data<float>()[c * spatial + i];
        m = std::max(m, v);
        s += v;
      }
      want_max.push_back(m);
      want_avg.push_back(float(s / double(spatial)));
    }
    auto y = run_node(OpKind::GlobalMaxPool, {&x}, {});
    CHECK(y[0].dims() == std::vector<int64_t>{2, 3, 1});
    for (size_t i = 0; i < 6; ++i) CHECK(y[0].data<float>()[i] == want_max[i]);  // max is exact
    auto z = run_node(OpKind::GlobalAveragePool, {&x}, {});
    for (size_t i = 0; i < 6; ++i) {
      if (std::isnan(want_avg[i])) CHECK(std::isnan(z[0].data<float>()[i]));
      else CHECK(z[0].data<float>()[i] == doctest::Approx(want_avg[i]).epsilon(1e-6));
    }
  }
}

TEST_CASE("BatchNormalization, LayerNormalization with its statistics outputs") {
  Tensor x = random_tensor({2, 3, 2, 2}, 41);
  Tensor s = Tensor::from_vector<float>({3}, {1, 2, 3}), b = Tensor::from_vector<float>({3}, {0, 1, -1});
  Tensor m = Tensor::from_vector<float>({3}, {0.1f, 0.2f, 0.3f}), v = Tensor::from_vector<float>({3}, {1, 4, 9});
  Attributes a;
  a.set("epsilon", 0.f);
  auto y = run_node(OpKind::BatchNormalization, {&x, &s, &b, &m, &v}, a);
  std::vector<float> want;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t ch = (i / 4) % 3;
    want.push_back((x.data<float>()[i] - m.data<float>()[ch]) / std::sqrt(v.data<float>()[ch]) *
                       s.data<float>()[ch] +
                   b.data<float>()[ch]);
  }
  check_close(y[0], want);

  Tensor ls = Tensor::from_vector<float>({2, 2}, {1, 1, 1, 1});
  Attributes la;
  la.set("axis", int64_t(2));
  la.set("epsilon", 0.f);
  auto ly = run_node(OpKind::LayerNormalization, {&x, &ls}, la, 3);
  CHECK(ly[1].dims() == std::vector<int64_t>{2, 3, 1, 1});
  double mean = 0;
  for (int i = 0; i < 4; ++i) mean += x.data<float>()[i];
  mean /= 4;
  CHECK(ly[1].data<float>()[0] == doctest::Approx(mean).epsilon(1e-5));
  double sum = 0;
  for (int i = 0; i < 4; ++i) sum += ly[0].data<float>()[i];
  CHECK(std::fabs(sum) < 1e-5);
}
