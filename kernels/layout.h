// Layout changes between NCHW and NHWC (the int8 convolutions run on NHWC).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mq::kernels {

/// dst[c][r] = src[r][c] for a rows × cols byte matrix (cache-blocked).
void transpose_u8(const std::uint8_t* src, std::size_t rows, std::size_t cols, std::uint8_t* dst);

/// NCHW → NHWC: for each of `batch` images, [C][HW] → [HW][C].
void nchw_to_nhwc_u8(const std::uint8_t* src, std::size_t batch, std::size_t c, std::size_t hw, std::uint8_t* dst);

/// NHWC → NCHW: for each of `batch` images, [HW][C] → [C][HW].
void nhwc_to_nchw_u8(const std::uint8_t* src, std::size_t batch, std::size_t c, std::size_t hw, std::uint8_t* dst);

/// The same for floats (fp32 paths that fall back to an NCHW kernel inside an NHWC plan).
void nchw_to_nhwc_f32(const float* src, std::size_t batch, std::size_t c, std::size_t hw, float* dst);
void nhwc_to_nchw_f32(const float* src, std::size_t batch, std::size_t c, std::size_t hw, float* dst);

}  // namespace mq::kernels
