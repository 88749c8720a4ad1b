#pragma once
/// Scalar kernels for ONNX's integer ops (MatMulInteger, ConvInteger, QLinearMatMul,
/// QLinearConv) in every combination the ops allow: u8 or s8 operands, any zero points
/// (per row / per column / per output channel). int32 accumulation wraps. The fast u8×s8
/// paths with zero weight zero points live in kernels/qgemm.h and kernels/qconv.h.
#include <cstddef>
#include <cstdint>

namespace mq::kernels {

/// Element type of an 8-bit integer operand or output.
enum class Int8Type : std::uint8_t { u8, s8 };

/// y[m][n] = Σ_k (a[m][k] − a_zp[m]) · (b[k][n] − b_zp[n]) (int32, wrapping).
struct IntMatMulParams {
  std::size_t m = 0, n = 0, k = 0;     ///< Problem size.
  const void* a = nullptr;             ///< A [M×K], row stride lda elements.
  Int8Type a_type = Int8Type::u8;      ///< Element type of A.
  std::size_t lda = 0;                 ///< Row stride of A (≥ k).
  const void* b = nullptr;             ///< B [K×N], row stride ldb elements.
  Int8Type b_type = Int8Type::u8;      ///< Element type of B.
  std::size_t ldb = 0;                 ///< Row stride of B (≥ n).
  const std::int32_t* a_zp = nullptr;  ///< A's zero point(s): a_zp[row · a_zp_stride]; null: 0.
  std::size_t a_zp_stride = 0;         ///< 0 (one zero point) or 1 (one per row).
  const std::int32_t* b_zp = nullptr;  ///< B's zero point(s): b_zp[col · b_zp_stride]; null: 0.
  std::size_t b_zp_stride = 0;         ///< 0 (one zero point) or 1 (one per column).
  std::int32_t* y = nullptr;           ///< Output [M×N], row stride ldy.
  std::size_t ldy = 0;                 ///< Row stride of y (≥ n).
};

/// Computes the whole product.
void matmul_integer(const IntMatMulParams& p);

/// y[n,m,oh,ow] = Σ (x − x_zp) · (w − w_zp[m]) over the window; NCHW input, weight
/// [M, C/group, kH, kW]; padded positions hold x_zp (they add nothing). int32, wrapping.
struct IntConvParams {
  std::int64_t n = 1, c = 1, h = 1, w = 1;  ///< Input batch, channels, height, width.
  std::int64_t m = 1, kh = 1, kw = 1;       ///< Output channels, kernel height, width.
  std::int64_t oh = 1, ow = 1;              ///< Output height, width.
  std::int64_t group = 1;                   ///< Channel groups.
  std::int64_t stride_h = 1, stride_w = 1;  ///< Strides.
  std::int64_t pad_top = 0, pad_left = 0;   ///< Leading pads.
  std::int64_t dil_h = 1, dil_w = 1;        ///< Dilations.
  const void* x = nullptr;                  ///< Input.
  Int8Type x_type = Int8Type::u8;           ///< Input element type.
  std::int32_t x_zp = 0;                    ///< Input zero point.
  const void* wt = nullptr;                 ///< Weight.
  Int8Type w_type = Int8Type::u8;           ///< Weight element type.
  const std::int32_t* w_zp = nullptr;       ///< Weight zero point(s) w_zp[m · w_zp_stride]; null: 0.
  std::size_t w_zp_stride = 0;              ///< 0 or 1 (per output channel).
  std::int32_t* y = nullptr;                ///< Output [N, M, OH, OW].
};

/// Computes the whole convolution.
void conv_integer(const IntConvParams& p);

/// y[i] = clamp(rne(float(acc[i] + bias) · multiplier) + zp, range of `type`)
/// (the int32 sum wraps; the product is computed in float).
void requantize_i32(const std::int32_t* acc, std::size_t n, std::int32_t bias, float multiplier, std::int32_t zp,
                    Int8Type type, void* y);

}  // namespace mq::kernels
