// Averages of int8 values on their own grid (AveragePool, GlobalAveragePool, Resize linear):
// the float kernels' result on the same integers, rounded half to even; NCHW and NHWC agree.
// int8 MaxPool in NHWC: the NCHW window scan's bytes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/fp32/pool.h"
#include "kernels/fp32/resize.h"

using namespace mq::kernels;

namespace {

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = uint8_t(d(rng));
  return v;
}

uint8_t rounded(float v) { return uint8_t(std::nearbyint(v)); }

/// Elements where `nhwc` ([N, HW, C]) differs from `nchw` ([N, C, HW]).
template <class T>
size_t nhwc_mismatches(const std::vector<T>& nhwc, const std::vector<T>& nchw, int64_t N, int64_t C, int64_t HW) {
  size_t wrong = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < HW; ++i)
        wrong += nhwc[size_t((n * HW + i) * C + c)] != nchw[size_t((n * C + c) * HW + i)];
  return wrong;
}

}  // namespace

TEST_CASE("int8 AveragePool: the float average of the same integers rounded half to even, in NCHW and NHWC") {
  const int64_t N = 2, C = 5, H = 9, W = 8;
  const std::vector<uint8_t> x = random_bytes(size_t(N * C * H * W), 1);
  for (bool include_pad : {false, true}) {
    CAPTURE(include_pad);
    PoolParams p;
    p.nc = N * C;
    p.in[1] = H;
    p.in[2] = W;
    p.kernel[1] = p.kernel[2] = 3;
    p.stride[1] = p.stride[2] = 2;
    p.pad_begin[1] = p.pad_begin[2] = p.pad_end[1] = p.pad_end[2] = 1;
    p.out[1] = 5;
    p.out[2] = 4;
    p.count_include_pad = include_pad;
    const int32_t zp = 100;  // the padding reads real 0 = the zero point
    const size_t out_n = size_t(N * C * p.out[1] * p.out[2]);
    // float reference on x − zp, then back on the grid
    std::vector<float> xf(x.size()), yf(out_n);
    for (size_t i = 0; i < x.size(); ++i) xf[i] = float(int(x[i]) - zp);
    avg_pool(p, xf.data(), yf.data());
    std::vector<uint8_t> y(out_n);
    avg_pool(p, x.data(), y.data(), zp);
    size_t wrong = 0, ties = 0;
    for (size_t i = 0; i < out_n; ++i) {
      wrong += y[i] != rounded(yf[i] + float(zp));
      ties += yf[i] - std::floor(yf[i]) == 0.5f;
    }
    CHECK(wrong == 0);
    // half-way averages (windows of 4 or 6 at the edges) occur and round to even as
    // QuantizeLinear does; counting the padding, every window holds 9
    if (!include_pad) CHECK(ties > 0);
    // NHWC: the same values per channel
    std::vector<uint8_t> xn(x.size()), yn(out_n);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < H * W; ++i)
          xn[size_t((n * H * W + i) * C + c)] = x[size_t((n * C + c) * H * W + i)];
    avg_pool_nhwc(p, C, xn.data(), yn.data(), zp);
    CHECK(nhwc_mismatches(yn, y, N, C, p.out[1] * p.out[2]) == 0);
  }
}

TEST_CASE("int8 GlobalAveragePool and linear Resize round the float result of the same integers") {
  const int64_t N = 2, C = 3, S = 37;
  const std::vector<uint8_t> x = random_bytes(size_t(N * C * S), 2);
  std::vector<uint8_t> y(size_t(N * C)), yn(size_t(N * C));
  global_avg_pool_int8(x.data(), y.data(), N, S, C, false);
  for (int64_t i = 0; i < N * C; ++i) {
    double s = 0;
    for (int64_t k = 0; k < S; ++k) s += x[size_t(i * S + k)];
    CHECK(int(y[size_t(i)]) == int(std::nearbyint(s / double(S))));
  }
  std::vector<uint8_t> xn(x.size());  // the same planes stored [N, S, C]
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t k = 0; k < S; ++k) xn[size_t((n * S + k) * C + c)] = x[size_t((n * C + c) * S + k)];
  global_avg_pool_int8(xn.data(), yn.data(), N, S, C, true);
  CHECK(yn == y);

  // 1-D linear resize 5 → 9 (half-pixel weights 0.25 / 0.75 and ends clamped)
  const std::vector<uint8_t> r = {0, 10, 255, 3, 128};
  const int64_t in_dims[1] = {5}, out_dims[1] = {9};
  std::vector<int64_t> lo(9), hi(9);
  std::vector<float> w(9);
  for (int64_t o = 0; o < 9; ++o) {
    const double s = std::clamp((double(o) + 0.5) * 5.0 / 9.0 - 0.5, 0.0, 4.0), f = std::floor(s);
    lo[size_t(o)] = int64_t(f);
    hi[size_t(o)] = std::min<int64_t>(int64_t(f) + 1, 4);
    w[size_t(o)] = float(s - f);
  }
  const int64_t* lp[1] = {lo.data()};
  const int64_t* hp[1] = {hi.data()};
  const float* wp[1] = {w.data()};
  ResizeLinearParams p{1, in_dims, out_dims, lp, hp, wp};
  std::vector<float> rf(r.begin(), r.end()), of(9);
  std::vector<uint8_t> oq(9);
  resize_linear(rf.data(), of.data(), p);
  resize_linear(r.data(), oq.data(), p);
  for (size_t i = 0; i < 9; ++i) CHECK(int(oq[i]) == int(rounded(of[i])));
}

TEST_CASE("int8 MaxPool in NHWC (rows, then columns) gives the NCHW window scan's bytes") {
  struct Case {
    int64_t h, w, k_h, k_w, stride, pad, dil;
  };
  const Case cases[] = {{13, 13, 5, 5, 1, 2, 1}, {13, 13, 13, 13, 1, 6, 1}, {9, 11, 3, 3, 2, 1, 1},
                        {10, 7, 2, 4, 2, 0, 1},  {12, 12, 3, 3, 1, 2, 2},   {5, 6, 1, 3, 1, 1, 1},
                        {6, 5, 4, 1, 3, 2, 1}};
  const int64_t N = 2, C = 19;
  for (const Case& c : cases) {
    CAPTURE(c.k_h);
    CAPTURE(c.k_w);
    CAPTURE(c.stride);
    CAPTURE(c.dil);
    PoolParams p;
    p.nc = N * C;
    p.in[1] = c.h;
    p.in[2] = c.w;
    p.kernel[1] = c.k_h;
    p.kernel[2] = c.k_w;
    p.stride[1] = p.stride[2] = c.stride;
    p.dilation[1] = p.dilation[2] = c.dil;
    p.pad_begin[1] = p.pad_begin[2] = c.pad;
    p.pad_end[1] = p.pad_end[2] = c.pad > 0 ? c.pad - 1 : 0;  // asymmetric
    p.out[1] = (c.h + c.pad + p.pad_end[1] - c.dil * (c.k_h - 1) - 1) / c.stride + 1;
    p.out[2] = (c.w + c.pad + p.pad_end[2] - c.dil * (c.k_w - 1) - 1) / c.stride + 1;
    const int64_t HW = c.h * c.w, OHW = p.out[1] * p.out[2];
    const std::vector<uint8_t> x = random_bytes(size_t(N * C * HW), uint32_t(c.h * 31 + c.k_w));
    std::vector<uint8_t> want(size_t(N * C * OHW)), x_nhwc(x.size()), y_nhwc(want.size());
    max_pool(p, x.data(), want.data(), nullptr);  // NCHW, window by window
    for (int64_t n = 0; n < N; ++n)
      for (int64_t ch = 0; ch < C; ++ch)
        for (int64_t i = 0; i < HW; ++i) x_nhwc[size_t((n * HW + i) * C + ch)] = x[size_t((n * C + ch) * HW + i)];
    max_pool_nhwc(p, C, x_nhwc.data(), y_nhwc.data());
    CHECK(nhwc_mismatches(y_nhwc, want, N, C, OHW) == 0);
    // s8: the same bytes read as signed values (−128 the lowest)
    std::vector<int8_t> xs(x_nhwc.size()), ys(y_nhwc.size()), ws(want.size()), xs_nchw(x.size());
    for (size_t i = 0; i < x.size(); ++i) xs_nchw[i] = int8_t(x[i]);
    for (size_t i = 0; i < x.size(); ++i) xs[i] = int8_t(x_nhwc[i]);
    max_pool(p, xs_nchw.data(), ws.data(), nullptr);
    max_pool_nhwc(p, C, xs.data(), ys.data());
    CHECK(nhwc_mismatches(ys, ws, N, C, OHW) == 0);
  }
}
