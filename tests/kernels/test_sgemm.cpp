// Every sgemm variant, and sgemm's dispatch, against a double-precision product within a
// relative tolerance (float sums in different orders differ in their last bits).
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/sgemm.h"

using namespace mq::kernels;

namespace {

struct Case {
  std::size_t m0, m1, n, k;
  bool bias, accumulate;
};

// C rows [m0, m1) of A·Wᵀ (+ bias) (+ C) in double; rows outside stay as they were.
std::vector<double> expected(const Case& t, const std::vector<float>& a, const std::vector<float>& w,
                             const std::vector<float>& bias, const std::vector<float>& c0, std::size_t lda,
                             std::size_t ldw, std::size_t ldc) {
  std::vector<double> c(c0.begin(), c0.end());
  for (std::size_t m = t.m0; m < t.m1; ++m)
    for (std::size_t j = 0; j < t.n; ++j) {
      double s = 0.0;
      for (std::size_t i = 0; i < t.k; ++i) s += double(a[m * lda + i]) * double(w[j * ldw + i]);
      if (t.bias) s += bias[j];
      c[m * ldc + j] = t.accumulate ? c[m * ldc + j] + s : s;
    }
  return c;
}

void check(const Case& t, SGemmFn fn, const std::string& name) {
  const std::size_t lda = t.k + 3, ldw = t.k + 1, ldc = t.n + 2, rows = t.m1 + 1;
  std::vector<float> a(rows * lda), w(t.n * ldw + 1), bias(t.n + 1), c0(rows * ldc);
  test::fill_float(a.data(), a.size(), -1.0f, 1.0f);
  test::fill_float(w.data(), w.size(), -1.0f, 1.0f);
  test::fill_float(bias.data(), bias.size(), -1.0f, 1.0f);
  test::fill_float(c0.data(), c0.size(), -1.0f, 1.0f);
  const std::vector<double> want = expected(t, a, w, bias, c0, lda, ldw, ldc);
  std::vector<float> c = c0;
  fn(t.m0, t.m1, t.n, t.k, a.data(), lda, w.data(), ldw, t.bias ? bias.data() : nullptr, c.data(), ldc,
     t.accumulate);
  INFO(name << " rows [" << t.m0 << ", " << t.m1 << ") n " << t.n << " k " << t.k << " bias " << t.bias
            << " accumulate " << t.accumulate);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < c.size(); ++i)
    if (!(std::fabs(c[i] - want[i]) <= 1e-5 * (1.0 + double(t.k)))) ++bad;
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("sgemm: every variant and the dispatch match a double-precision product") {
  const Case cases[] = {{0, 1, 1, 1, false, false},    {0, 3, 17, 5, true, false},
                        {2, 9, 33, 64, true, true},    {0, 2, 40, 100, false, true},
                        {1, 40, 70, 129, true, false}, {0, 64, 48, 256, false, false}};
  for (const SGemmVariant* v : test::runnable(sgemm_variants()))
    for (const Case& t : cases) check(t, v->fn, v->name);
  for (const Case& t : cases) check(t, sgemm, "sgemm");
}
