#pragma once
/// Resize kernels. The caller maps every output coordinate to source coordinates once per
/// dim (index tables); the kernels only gather. Nearest works on raw bytes (every dtype);
/// linear interpolates f32 or int8 values.
#include <cstddef>
#include <cstdint>

namespace mq::kernels {

/// Highest rank the resize kernels accept (callers check it).
inline constexpr int kMaxResizeRank = 8;

/// Nearest: out[o0,..,on] = in[index[0][o0], .., index[n][on]].
struct ResizeNearestParams {
  int rank = 0;
  const int64_t* in_dims = nullptr;
  const int64_t* out_dims = nullptr;
  const int64_t* const* index = nullptr;  ///< per dim, out_dims[d] source indices in [0, in_dims[d])
  size_t elem_size = 0;
};

void resize_nearest(const void* src, void* dst, const ResizeNearestParams& p);

/// Linear along every dim: out = Σ over corners of Π (1-w or w) · in[lo or hi].
struct ResizeLinearParams {
  int rank = 0;
  const int64_t* in_dims = nullptr;
  const int64_t* out_dims = nullptr;
  const int64_t* const* lo = nullptr;    ///< per dim, out_dims[d] lower source indices
  const int64_t* const* hi = nullptr;    ///< per dim, upper source indices
  const float* const* weight = nullptr;  ///< per dim, weight of `hi` (0 reads `lo` only)
};

/// float, or int8 values on their own grid (the result keeps the input's quantization:
/// rounded half to even).
template <class T>
void resize_linear(const T* src, T* dst, const ResizeLinearParams& p);

}  // namespace mq::kernels
