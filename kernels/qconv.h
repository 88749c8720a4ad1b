// int8 Conv2d over NHWC u8 activations and s8 weights [Cout][kh][kw][Cin/groups], lowered
// to qgemm (1×1 stride 1 directly, else im2col into caller scratch) or a depthwise kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/qgemm.h"

namespace mq::kernels {

/// Geometry of one Conv2d (NHWC input, output channel-major weights).
struct QConvShape {
  std::size_t batch = 1, in_h = 0, in_w = 0, in_c = 0;     ///< Input N, H, W, C.
  std::size_t out_c = 0;                                   ///< Output channels.
  std::size_t kh = 1, kw = 1;                              ///< Kernel size.
  std::size_t stride_h = 1, stride_w = 1;                  ///< Strides.
  std::size_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;  ///< Padding (filled with a_zp).
  std::size_t dil_h = 1, dil_w = 1;                        ///< Dilations.
  std::size_t groups = 1;                                  ///< Groups (in_c, out_c divisible).
  std::size_t out_h() const { return (in_h + pad_t + pad_b - dil_h * (kh - 1) - 1) / stride_h + 1; }
  std::size_t out_w() const { return (in_w + pad_l + pad_r - dil_w * (kw - 1) - 1) / stride_w + 1; }
  /// True for groups == in_c == out_c (one filter per channel; a 1-channel conv included).
  bool depthwise() const { return groups == in_c && groups == out_c; }
  /// True when the input is directly the GEMM A matrix.
  bool pointwise() const {
    return kh == 1 && kw == 1 && stride_h == 1 && stride_w == 1 && pad_t + pad_l + pad_b + pad_r == 0 &&
           groups == 1;
  }
};

/// Bytes for qconv_pack's output (per-group packed GEMM weights, or the depthwise layout of
/// kernels/qconv_dw_internal.h: 64-channel blocks × taps × 4 phase vectors, then Σw).
std::size_t qconv_packed_size(const QConvShape& s);

/// Packs weights w [Cout][kh][kw][Cin/groups] (64-byte aligned destination).
void qconv_pack(const QConvShape& s, const std::int8_t* w, void* packed);

/// A convolution kernel over a range of output pixels [p0, p1) (or of output rows of the
/// flattened N·OH rows, for QConvVariant::direct_rows) of the flattened output; `epi` as for
/// qconv.
using QConvRangeFn = void (*)(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x,
                              const void* packed, void* y, std::size_t p0, std::size_t p1);

/// One compiled depthwise variant (s.depthwise(), the depthwise packed layout).
struct QConvDwVariant {
  const char* name;  ///< e.g. "qconv_dw__avx512vnni".
  Isa isa;           ///< Tier the variant needs.
  QConvRangeFn fn;   ///< Output pixels [p0, p1).
};

/// Every compiled depthwise variant, lowest tier first (including those this CPU cannot run).
std::span<const QConvDwVariant> qconv_dw_variants();

/// The best depthwise variant at or below `isa` that the CPU supports.
const QConvDwVariant& qconv_dw_select(Isa isa);

/// Kernels of a dense (not depthwise) convolution that read the NHWC input themselves
/// instead of im2col rows; they use the packed weights and epilogue of the qgemm variant of
/// the same tier. Shapes they do not cover, and the scalar entry, run im2col + qgemm.
struct QConvVariant {
  const char* name;          ///< e.g. "qconv_direct__amx".
  Isa isa;                   ///< Tier the variant needs.
  QConvRangeFn direct_rows;  ///< Whole output rows [r0, r1) (null: none).
  QConvRangeFn indirect;     ///< Output pixels [p0, p1) through tap pointers (null: none).
};

/// Every compiled dense-convolution variant, lowest tier first.
std::span<const QConvVariant> qconv_variants();

/// The best dense-convolution variant at or below `isa` that the CPU supports.
const QConvVariant& qconv_select(Isa isa);

/// Bytes of scratch qconv needs on tier `isa` (im2col rows; 0 for 1×1 and depthwise).
std::size_t qconv_scratch_size(const QConvShape& s, Isa isa = active_isa());

/// Runs the convolution with the variants `isa` selects (qgemm, depthwise, dense). `epi`
/// supplies the epilogue exactly as for qgemm (output kind, a_zp, bias32,
/// multiplier/per_channel, out_zp, qmin/qmax, a_scale/w_scale/bias_f32) with per-channel
/// arrays indexed by output channel; its m/n/k/a/lda/packed_b/c/ldc are ignored. x: NHWC
/// input, y: NHWC output (row stride out_c elements), scratch: qconv_scratch_size(s, isa)
/// bytes, 64-byte aligned. Pixel rows [p0, p1) of the flattened N·OH·OW output only.
void qconv(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x, const void* packed, void* y,
           void* scratch, std::size_t p0, std::size_t p1, Isa isa = active_isa());

}  // namespace mq::kernels
