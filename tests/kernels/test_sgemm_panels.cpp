// Every sgemm_panels variant against a double-precision product: row groups of every size
// (12, 8, 4, 1 and their mixes), partial last panels, strided A and C, bias or none, and a
// range of panels that leaves the other columns untouched.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/sgemm_panels.h"

using namespace mq::kernels;

namespace {

struct Case {
  std::size_t m, n, k;
  bool bias;
  std::size_t p0, p1;  // panels run; p1 == 0: all of them
};

void check(const Case& t, const SGemmPanelsVariant& v) {
  const std::size_t panels = (t.n + kSgemmPanelWidth - 1) / kSgemmPanelWidth;
  const std::size_t p1 = t.p1 ? t.p1 : panels;
  const std::size_t lda = t.k + 3, ldw = t.k + 1, ldc = t.n + 5;
  std::vector<float> a(t.m * lda + 1), w(t.n * ldw + 1), bias(t.n), c(t.m * ldc + 1);
  test::fill_float(a.data(), a.size(), -1.0f, 1.0f);
  test::fill_float(w.data(), w.size(), -1.0f, 1.0f);
  test::fill_float(bias.data(), bias.size(), -1.0f, 1.0f);
  test::fill_float(c.data(), c.size(), -1.0f, 1.0f);
  const std::vector<float> c0 = c;
  std::vector<float> packed(sgemm_panels_packed_floats(t.n, t.k)), scratch(sgemm_panels_scratch_floats(t.m, t.k));
  sgemm_panels_pack(w.data(), t.n, t.k, ldw, packed.data());
  v.fn(t.m, t.n, t.k, a.data(), lda, packed.data(), t.p0, p1, t.bias ? bias.data() : nullptr, c.data(), ldc,
       scratch.data());
  INFO(v.name << " m " << t.m << " n " << t.n << " k " << t.k << " bias " << t.bias << " panels [" << t.p0 << ", "
              << p1 << ")");
  std::size_t bad = 0, touched = 0;
  for (std::size_t r = 0; r < t.m; ++r)
    for (std::size_t j = 0; j < ldc; ++j) {
      const float got = c[r * ldc + j];
      const bool inside = j < t.n && j >= t.p0 * kSgemmPanelWidth && j < p1 * kSgemmPanelWidth;
      if (!inside) {
        if (got != c0[r * ldc + j]) ++touched;
        continue;
      }
      double s = t.bias ? double(bias[j]) : 0.0;
      for (std::size_t i = 0; i < t.k; ++i) s += double(a[r * lda + i]) * double(w[j * ldw + i]);
      if (!(std::fabs(got - s) <= 1e-5 * (1.0 + double(t.k)))) ++bad;
    }
  CHECK(bad == 0);
  CHECK(touched == 0);
  CHECK(c.back() == c0.back());
}

}  // namespace

TEST_CASE("sgemm_panels: every variant matches a double-precision product") {
  const Case cases[] = {{1, 1, 1, false, 0, 0},
                        {1, 2048, 64, true, 0, 0},
                        {3, 17, 5, true, 0, 0},
                        {4, 32, 7, false, 0, 0},
                        {7, 33, 9, true, 0, 0},
                        {8, 64, 16, true, 0, 0},
                        {12, 31, 40, false, 0, 0},
                        {13, 70, 33, true, 0, 0},
                        {20, 100, 129, true, 0, 0},
                        {25, 96, 17, false, 1, 3},
                        {33, 130, 11, true, 2, 5},
                        {2, 65, 300, true, 1, 2},
                        // several row groups over several panels (the next panel prefetched by
                        // the first two groups): 12 + 8, 12 + 4 + 1 in a middle range, 12 + 12
                        {20, 300, 1025, true, 0, 0},
                        {17, 161, 257, false, 1, 4},
                        {24, 97, 63, true, 0, 0}};
  for (const SGemmPanelsVariant* v : test::runnable(sgemm_panels_variants()))
    for (const Case& t : cases) check(t, *v);
}
