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

TEST_CASE(
    "strided_copy: byte transposes ending in a few columns (space-to-depth, 3-channel NHWC) by the formula") {
  // The interleave of up to 8 source rows (AVX512-VBMI where the tier has it, 16 columns at a
  // time, then the tail) against dst[i] = src[Σ i_k·stride_k].
  struct Case {
    std::vector<int64_t> dims, strides;
  };
  auto s2d = [](int64_t h, int64_t w) {  // [3, 2h, 2w] → [h, w, dw, dh, c] (YOLOv5's Focus)
    return Case{{h, w, 2, 2, 3}, {4 * w, 2, 1, 2 * w, 4 * h * w}};
  };
  const std::vector<Case> cases = {
      s2d(3, 8),
      s2d(4, 13),
      s2d(2, 208),
      s2d(1, 5),                                     // 16, 26, 416 and 10 columns a row
      {{7, 19, 3}, {19, 1, 7 * 19}},                 // NCHW → NHWC, 3 channels
      {{5, 33, 2, 4}, {33, 1, 5 * 33 * 4, 5 * 33}},  // two trailing dims of 8 bytes
      {{6, 40, 5}, {40, 1, 240}},                    // 5 channels
      {{4, 20, 9}, {20, 1, 80}},                     // 9 columns: the other paths
  };
  for (const Case& c : cases) {
    int64_t n = 1, span = 1;
    for (size_t k = 0; k < c.dims.size(); ++k) {
      n *= c.dims[k];
      span += (c.dims[k] - 1) * c.strides[k];
    }
    CAPTURE(c.dims.size());
    CAPTURE(n);
    std::vector<uint8_t> src(static_cast<size_t>(span)), got(static_cast<size_t>(n) + 64, 0xEE), want(got);
    for (size_t i = 0; i < src.size(); ++i) src[i] = uint8_t(i * 37 + 11);
    for (int64_t i = 0; i < n; ++i) {
      int64_t rest = i, off = 0;
      for (size_t k = c.dims.size(); k-- > 0;) {
        off += (rest % c.dims[k]) * c.strides[k];
        rest /= c.dims[k];
      }
      want[size_t(i)] = src[size_t(off)];
    }
    StridedCopyParams p;
    p.rank = int(c.dims.size());
    p.dims = c.dims.data();
    p.strides = c.strides.data();
    p.elem_size = 1;
    strided_copy(src.data(), got.data(), p);
    CHECK(got == want);  // nothing written past the end either
  }
}
