#pragma once
/// Pooling over 1 to 3 spatial dims (fewer dims are padded with leading size-1 dims).
#include <cstdint>

namespace mq::kernels {

/// Geometry of one pooling (NC + 3 spatial dims; unused leading spatial dims have size 1).
struct PoolParams {
  int64_t nc = 1;                     ///< batch × channels
  int64_t in[3] = {1, 1, 1};          ///< input spatial dims
  int64_t out[3] = {1, 1, 1};         ///< output spatial dims
  int64_t kernel[3] = {1, 1, 1};      ///< window
  int64_t stride[3] = {1, 1, 1};      ///< strides
  int64_t dilation[3] = {1, 1, 1};    ///< dilations
  int64_t pad_begin[3] = {0, 0, 0};   ///< leading pads
  int64_t pad_end[3] = {0, 0, 0};     ///< trailing pads
  bool count_include_pad = false;     ///< average: divide by the window size within pads
  bool column_major_indices = false;  ///< max: storage_order 1 (spatial dims reversed)
};

/// Max pooling; `indices` (may be null) receive the maxima's positions in the flattened input
/// (a window lying entirely in the padding yields the lowest value and index -1).
template <class T>
void max_pool(const PoolParams& p, const T* x, T* y, int64_t* indices);
/// 2-D max pooling of x stored [N, H, W, C] (p.nc = N·C; spatial dims in p.in[1..2]).
template <class T>
void max_pool_nhwc(const PoolParams& p, int64_t channels, const T* x, T* y);
/// Average pooling. int8 values average on their own grid (the result keeps the input's
/// scale and zero point): round(Σ x / count) half to even, saturated; with count_include_pad
/// the padding reads `zero_point` (real 0). Floats ignore `zero_point`.
template <class T>
void avg_pool(const PoolParams& p, const T* x, T* y, int32_t zero_point = 0);
/// 2-D average pooling of int8 x stored [N, H, W, C] (p.nc = N·C), as avg_pool.
template <class T>
void avg_pool_nhwc(const PoolParams& p, int64_t channels, const T* x, T* y, int32_t zero_point);
/// Global average pooling of int8 values on their own grid, x [n, c, spatial] or (nhwc)
/// [n, spatial, c] into y [n, c].
template <class T>
void global_avg_pool_int8(const T* x, T* y, int64_t n, int64_t spatial, int64_t c, bool nhwc);
/// Global average / max over `spatial` elements of each of `nc` planes.
void global_avg_pool_f32(const float* x, float* y, int64_t nc, int64_t spatial);
void global_max_pool_f32(const float* x, float* y, int64_t nc, int64_t spatial);
/// Global max / average pooling of x stored [n, spatial, c] into y [n, c] (max skips NaN).
void global_pool_nhwc_f32(const float* x, float* y, int64_t n, int64_t spatial, int64_t c, bool is_max);

}  // namespace mq::kernels
