// NCHW ↔ NHWC byte layout changes against the index formula; Concat's pitched block copies.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "kernels/fp32/shape.h"
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

TEST_CASE("copy_blocks: packed rows into a pitched destination at every short length, nothing else written") {
  for (size_t block : {1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 48, 72, 100, 511, 512, 513, 700}) {
    CAPTURE(block);
    const int64_t rows = 5;
    const size_t pitch = block + 13;
    std::vector<uint8_t> src(size_t(rows) * block), dst(size_t(rows) * pitch + 8, 0xEE);
    for (size_t i = 0; i < src.size(); ++i) src[i] = uint8_t(i * 7 + 1);
    copy_blocks(src.data(), dst.data() + 4, rows, block, pitch);
    for (size_t i = 0; i < dst.size(); ++i) {
      const size_t at = i - 4, r = at / pitch, c = at % pitch;
      const bool inside = i >= 4 && r < size_t(rows) && c < block;
      REQUIRE(dst[i] == (inside ? src[r * block + c] : 0xEE));
    }
  }
}
