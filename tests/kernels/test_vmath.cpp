// Vectorized exp, sigmoid, tanh: close to the C library's, NaN and infinities handled, and
// bit-identical on every ISA tier this CPU runs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/fp32/vmath.h"
#include "kernels/fp32/vmath_kernels.h"
#include "kernel_test_util.h"

using namespace mq::kernels;

namespace {

std::vector<float> inputs() {
  std::vector<float> x = {0.f,
                          -0.f,
                          1e-8f,
                          -1e-8f,
                          1e-4f,
                          0.3f,
                          0.624f,
                          0.626f,
                          -0.7f,
                          1.f,
                          5.f,
                          -9.f,
                          20.f,
                          -20.f,
                          80.f,
                          -80.f,
                          88.f,
                          88.7f,
                          89.f,
                          -87.f,
                          -88.f,
                          -100.f,
                          -104.f,
                          -200.f,
                          1000.f,
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN()};
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-30.f, 30.f);
  for (int i = 0; i < 997; ++i) x.push_back(u(rng));  // an odd count: the tail path runs too
  return x;
}

void check(const char* what, const std::vector<float>& x, const std::vector<float>& got, double (*ref)(double),
           double rtol, double atol) {
  INFO(what);
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = ref(double(x[i]));
    CAPTURE(x[i]);
    if (std::isnan(want)) {
      CHECK(std::isnan(got[i]));
    } else if (std::isinf(want)) {
      CHECK(got[i] == float(want));
    } else {
      CHECK(std::fabs(double(got[i]) - want) <= atol + rtol * std::fabs(want));
    }
  }
}

double sigmoid_ref(double v) { return 1.0 / (1.0 + std::exp(-v)); }
double exp_ref(double v) { return v > 88.72283905 ? INFINITY : (v < -87.33654 ? 0.0 : std::exp(v)); }
double tanh_ref(double v) { return std::tanh(v); }
// below x = -87 silu_f32 gives x / (1 + e^88) (below 1e-35 in magnitude, -inf at -inf) where
// x·σ(x) is smaller still (and NaN at -inf)
double silu_ref(double v) { return v == -INFINITY ? v : v / (1.0 + std::exp(-v)); }

}  // namespace

TEST_CASE("vmath: exp, sigmoid and tanh close to the C library, NaN propagated") {
  const std::vector<float> x = inputs();
  std::vector<float> y(x.size());
  exp_f32(x.data(), y.data(), int64_t(x.size()));
  check("exp", x, y, exp_ref, 4e-7, 0);
  sigmoid_f32(x.data(), y.data(), int64_t(x.size()));
  // ONNX Runtime's rational approximation: 1.6e-7 absolute at most (relative error grows for
  // the tiny values below x ≈ −10)
  check("sigmoid", x, y, sigmoid_ref, 4e-7, 2e-7);
  tanh_f32(x.data(), y.data(), int64_t(x.size()));
  check("tanh", x, y, tanh_ref, 4e-7, 1e-38);
  erf_f32(x.data(), y.data(), int64_t(x.size()));
  check(
      "erf", x, y, [](double v) { return std::erf(v); }, 2e-6, 4e-7);
  gelu_f32(x.data(), y.data(), int64_t(x.size()));
  check(
      "gelu", x, y, [](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }, 2e-6,
      1e-6);  // 1 + erf cancels for x < -3, as in float Gelu anywhere
  silu_f32(x.data(), y.data(), int64_t(x.size()));
  check("silu", x, y, silu_ref, 4e-7, 1e-35);
  tanh_f32(x.data(), y.data(), int64_t(x.size()));
  std::vector<float> in_place = x;  // y may alias x
  tanh_f32(in_place.data(), in_place.data(), int64_t(x.size()));
  CHECK(std::memcmp(in_place.data(), y.data(), x.size() * sizeof(float)) == 0);
}

TEST_CASE("vmath: every ISA tier gives the same bits") {
  const std::vector<float> x = inputs();
  const auto run = [&](const VMathKernels& k) {
    std::vector<float> out(5 * x.size());
    const int64_t n = int64_t(x.size());
    k.exp(x.data(), out.data(), n);
    k.sigmoid(x.data(), out.data() + n, n);
    k.tanh(x.data(), out.data() + 2 * n, n);
    k.erf(x.data(), out.data() + 3 * n, n);
    k.gelu(x.data(), out.data() + 4 * n, n);
    return out;
  };
  const std::vector<float> want = run(*vmath_variants()[0].kernels);
  // the same bits, except that a NaN may come out with another sign or payload
  const auto same = [&](const std::vector<float>& got) {
    size_t differ = 0;
    for (size_t i = 0; i < want.size(); ++i)
      if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0 && !(std::isnan(got[i]) && std::isnan(want[i])))
        ++differ;
    return differ;
  };
  for (const VMathVariant* v : test::runnable(vmath_variants())) {
    INFO(std::string(v->name));
    CHECK(same(run(*v->kernels)) == 0);
  }
}

TEST_CASE("vmath: SiLU on every ISA tier within a few ulp of x / (1 + e^-x), tails, NaN, in place") {
  const std::vector<float> x = inputs();
  for (const VMathVariant* v : test::runnable(vmath_variants())) {
    INFO(std::string(v->name));
    for (size_t n : {x.size(), size_t(1), size_t(15), size_t(17)}) {  // the tail alone and after full vectors
      CAPTURE(n);
      std::vector<float> in(x.begin(), x.begin() + std::ptrdiff_t(n)), y(n);
      v->kernels->silu(in.data(), y.data(), int64_t(n));
      check("silu", in, y, silu_ref, 4e-7, 1e-35);
      v->kernels->silu(in.data(), in.data(), int64_t(n));
      CHECK(std::memcmp(in.data(), y.data(), n * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("vmath: arith on every tier equals the scalar float operations, scalars on either side, tails") {
  const std::vector<float> a = inputs();
  std::vector<float> b = inputs();
  std::reverse(b.begin(), b.end());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto ref = [&](int op, float u, float v) -> float {
    switch (op) {
      case 0: return u + v;
      case 1: return u - v;
      case 2: return u * v;
      case 3: return u / v;
      case 4: return (std::isnan(u) || u > v) ? u : v;
      default: return (std::isnan(u) || u < v) ? u : v;
    }
  };
  for (const VMathVariant* v : test::runnable(vmath_variants()))
    for (int op = 0; op < 6; ++op)
      for (int64_t n : {int64_t(1), int64_t(7), int64_t(16), int64_t(33), int64_t(a.size())})
        for (int mode = 0; mode < 4; ++mode) {  // both arrays, a scalar, b scalar, both scalars
          CAPTURE(op);
          CAPTURE(n);
          CAPTURE(mode);
          const int64_t sa = (mode == 0 || mode == 2) ? 1 : 0, sb = (mode == 0 || mode == 1) ? 1 : 0;
          std::vector<float> y(size_t(n), nan);
          v->kernels->arith(op, a.data(), sa, b.data(), sb, y.data(), n);
          size_t wrong = 0;
          for (int64_t i = 0; i < n; ++i) {
            const float want = ref(op, a[size_t(sa ? i : 0)], b[size_t(sb ? i : 0)]);
            if (std::memcmp(&want, &y[size_t(i)], 4) != 0 && !(std::isnan(want) && std::isnan(y[size_t(i)])))
              ++wrong;
          }
          CHECK(wrong == 0);
        }
  // the public entry point with aliasing output (y = a)
  std::vector<float> y = a;
  arith_f32(Arith::mul, y.data(), 1, b.data(), 1, y.data(), int64_t(y.size()));
  for (size_t i = 0; i < a.size(); ++i)
    if (!std::isnan(y[i])) CHECK(y[i] == a[i] * b[i]);
}
