#pragma once
/// fp32 2-D convolution: im2col + GEMM (a direct GEMM for 1×1 stride-1 unpadded kernels).
#include <cstddef>
#include <cstdint>

namespace mq::kernels {

/// Geometry of one Conv2d (NCHW input, [M, C/group, kH, kW] weight).
struct Conv2dParams {
  int64_t n = 1, c = 1, h = 1, w = 1;  ///< input batch, channels, height, width
  int64_t m = 1, kh = 1, kw = 1;       ///< output channels, kernel height, kernel width
  int64_t oh = 1, ow = 1;              ///< output height, width
  int64_t group = 1;                   ///< channel groups (group == c == m: depthwise)
  int64_t stride_h = 1, stride_w = 1;  ///< strides
  int64_t pad_top = 0, pad_left = 0;   ///< leading pads (trailing pads follow from oh/ow)
  int64_t dil_h = 1, dil_w = 1;        ///< dilations
};

/// Floats of scratch conv2d_f32 needs.
size_t conv2d_scratch_floats(const Conv2dParams& p);

/// y[n,m,oh,ow] = conv(x, w) + bias (bias may be null). `scratch` holds
/// conv2d_scratch_floats(p) floats.
void conv2d_f32(const Conv2dParams& p, const float* x, const float* w, const float* bias, float* y,
                float* scratch);

/// Output size and leading/trailing pads of one spatial dim of a conv or pooling window.
struct SpatialGeometry {
  int64_t out = 0, pad_begin = 0, pad_end = 0;
};
/// auto_pad: 0 NOTSET (pads given), 1 VALID, 2 SAME_UPPER, 3 SAME_LOWER.
SpatialGeometry spatial_geometry(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
                                 int64_t pad_end, int auto_pad, bool ceil_mode);

}  // namespace mq::kernels
