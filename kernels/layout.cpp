// Blocked byte transposes: 32×32 blocks keep both the rows read and the rows written in L1.
#include "kernels/layout.h"

#include <algorithm>

namespace mq::kernels {

void transpose_u8(const std::uint8_t* src, std::size_t rows, std::size_t cols, std::uint8_t* dst) {
  constexpr std::size_t blk = 32;
  if (rows == 1 || cols == 1) {  // a vector: the layout does not change
    std::copy(src, src + rows * cols, dst);
    return;
  }
  for (std::size_t r0 = 0; r0 < rows; r0 += blk) {
    const std::size_t r1 = std::min(rows, r0 + blk);
    for (std::size_t c0 = 0; c0 < cols; c0 += blk) {
      const std::size_t c1 = std::min(cols, c0 + blk);
      for (std::size_t c = c0; c < c1; ++c) {
        std::uint8_t* d = dst + c * rows;
        for (std::size_t r = r0; r < r1; ++r) d[r] = src[r * cols + c];
      }
    }
  }
}

void nchw_to_nhwc_u8(const std::uint8_t* src, std::size_t batch, std::size_t c, std::size_t hw,
                     std::uint8_t* dst) {
  for (std::size_t b = 0; b < batch; ++b) transpose_u8(src + b * c * hw, c, hw, dst + b * c * hw);
}

void nhwc_to_nchw_u8(const std::uint8_t* src, std::size_t batch, std::size_t c, std::size_t hw,
                     std::uint8_t* dst) {
  for (std::size_t b = 0; b < batch; ++b) transpose_u8(src + b * c * hw, hw, c, dst + b * c * hw);
}

}  // namespace mq::kernels
