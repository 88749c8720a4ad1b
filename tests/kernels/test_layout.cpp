// NCHW ↔ NHWC byte layout changes against the index formula.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "kernels/layout.h"

using namespace mq::kernels;

TEST_CASE("layout: NCHW → NHWC → NCHW on odd sizes and across 32-byte blocks") {
  struct Dims {
    std::size_t n, c, hw;
  };
  for (Dims d : {Dims{1, 1, 9}, Dims{2, 3, 5}, Dims{1, 33, 65}, Dims{3, 64, 49}, Dims{1, 70, 1}}) {
    std::vector<std::uint8_t> x(d.n * d.c * d.hw), y(x.size()), z(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
    nchw_to_nhwc_u8(x.data(), d.n, d.c, d.hw, y.data());
    bool ok = true;
    for (std::size_t b = 0; b < d.n; ++b)
      for (std::size_t ch = 0; ch < d.c; ++ch)
        for (std::size_t p = 0; p < d.hw; ++p)
          ok = ok && y[(b * d.hw + p) * d.c + ch] == x[(b * d.c + ch) * d.hw + p];
    CHECK(ok);
    nhwc_to_nchw_u8(y.data(), d.n, d.c, d.hw, z.data());
    CHECK(z == x);
  }
}
