// Byte transposes: 16×16 blocks with SSE2 unpacks (baseline x86-64), scalar edges.
#include "kernels/layout.h"

#include <emmintrin.h>

#include <algorithm>

namespace mq::kernels {
namespace {

// dst[c][r] = src[r][c] for one 16×16 block (row strides in bytes).
inline void transpose16(const std::uint8_t* src, std::size_t ss, std::uint8_t* dst, std::size_t ds) {
  __m128i a[16], b[16];
  for (int i = 0; i < 16; ++i) a[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * ss));
  for (int i = 0; i < 8; ++i) {  // bytes of rows 2i, 2i+1
    b[2 * i] = _mm_unpacklo_epi8(a[2 * i], a[2 * i + 1]);
    b[2 * i + 1] = _mm_unpackhi_epi8(a[2 * i], a[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i)  // 16-bit pairs of rows 4i..4i+3
    for (int j = 0; j < 2; ++j) {
      a[4 * i + 2 * j] = _mm_unpacklo_epi16(b[4 * i + j], b[4 * i + 2 + j]);
      a[4 * i + 2 * j + 1] = _mm_unpackhi_epi16(b[4 * i + j], b[4 * i + 2 + j]);
    }
  for (int i = 0; i < 2; ++i)  // 32-bit quads of rows 8i..8i+7
    for (int j = 0; j < 4; ++j) {
      b[8 * i + 2 * j] = _mm_unpacklo_epi32(a[8 * i + j], a[8 * i + 4 + j]);
      b[8 * i + 2 * j + 1] = _mm_unpackhi_epi32(a[8 * i + j], a[8 * i + 4 + j]);
    }
  for (int j = 0; j < 8; ++j) {  // 64-bit halves of rows 0..7 and 8..15
    a[2 * j] = _mm_unpacklo_epi64(b[j], b[8 + j]);
    a[2 * j + 1] = _mm_unpackhi_epi64(b[j], b[8 + j]);
  }
  // a[k] is now column k of the block.
  for (int k = 0; k < 16; ++k) _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + k * ds), a[k]);
}

}  // namespace

void transpose_u8(const std::uint8_t* src, std::size_t rows, std::size_t cols, std::uint8_t* dst) {
  if (rows == 1 || cols == 1) {  // a vector: the layout does not change
    std::copy(src, src + rows * cols, dst);
    return;
  }
  const std::size_t rows16 = rows / 16 * 16, cols16 = cols / 16 * 16;
  for (std::size_t r0 = 0; r0 < rows16; r0 += 16)
    for (std::size_t c0 = 0; c0 < cols16; c0 += 16)
      transpose16(src + r0 * cols + c0, cols, dst + c0 * rows + r0, rows);
  // Edges: the last rows % 16 rows (all columns) and the last cols % 16 columns.
  for (std::size_t r = rows16; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  for (std::size_t c = cols16; c < cols; ++c)
    for (std::size_t r = 0; r < rows16; ++r) dst[c * rows + r] = src[r * cols + c];
}

void nchw_to_nhwc_u8(const std::uint8_t* src, std::size_t batch, std::size_t c, std::size_t hw,
                     std::uint8_t* dst) {
  for (std::size_t b = 0; b < batch; ++b) transpose_u8(src + b * c * hw, c, hw, dst + b * c * hw);
}

void nhwc_to_nchw_u8(const std::uint8_t* src, std::size_t batch, std::size_t c, std::size_t hw,
                     std::uint8_t* dst) {
  for (std::size_t b = 0; b < batch; ++b) transpose_u8(src + b * c * hw, hw, c, dst + b * c * hw);
}

void nchw_to_nhwc_f32(const float* src, std::size_t batch, std::size_t c, std::size_t hw, float* dst) {
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t i = 0; i < hw; ++i)
      for (std::size_t k = 0; k < c; ++k) dst[(b * hw + i) * c + k] = src[(b * c + k) * hw + i];
}

void nhwc_to_nchw_f32(const float* src, std::size_t batch, std::size_t c, std::size_t hw, float* dst) {
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t i = 0; i < hw; ++i)
      for (std::size_t k = 0; k < c; ++k) dst[(b * c + k) * hw + i] = src[(b * hw + i) * c + k];
}

}  // namespace mq::kernels
