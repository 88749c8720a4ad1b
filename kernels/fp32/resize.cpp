#include "kernels/fp32/resize.h"
#include "kernels/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace mq::kernels {

namespace {

int64_t strides_of(const int64_t* dims, int rank, int64_t* strides) {
  int64_t s = 1;
  for (int k = rank - 1; k >= 0; --k) {
    strides[k] = s;
    s *= dims[k];
  }
  return s;
}

/// Interpolates the value at the output index `o` along dims d.. from the source block at `off`.
template <class T>
float lerp_rec(const T* src, const ResizeLinearParams& p, const int64_t* strides, const int64_t* o, int d,
               int64_t off) {
  if (d == p.rank) return float(src[off]);
  int64_t j = o[d];
  float w = p.weight[d][j];
  float a = lerp_rec(src, p, strides, o, d + 1, off + p.lo[d][j] * strides[d]);
  if (w == 0.f) return a;
  float b = lerp_rec(src, p, strides, o, d + 1, off + p.hi[d][j] * strides[d]);
  return a + w * (b - a);
}

}  // namespace

void resize_nearest(const void* src_v, void* dst_v, const ResizeNearestParams& p) {
  const std::byte* src = static_cast<const std::byte*>(src_v);
  std::byte* dst = static_cast<std::byte*>(dst_v);
  const size_t es = p.elem_size;
  int64_t in_strides[kMaxResizeRank];
  strides_of(p.in_dims, p.rank, in_strides);
  int64_t total = 1;
  for (int k = 0; k < p.rank; ++k) total *= p.out_dims[k];
  if (total == 0) return;
  if (p.rank == 0) {
    std::memcpy(dst, src, es);
    return;
  }
  int64_t o[kMaxResizeRank] = {};
  const int last = p.rank - 1;
  // the innermost dim kept as it is (NHWC channels, or an axis not resized): whole rows
  bool same_last = p.in_dims[last] == p.out_dims[last];
  for (int64_t j = 0; same_last && j < p.out_dims[last]; ++j) same_last = p.index[last][j] == j;
  const size_t row_bytes = size_t(p.out_dims[last]) * es;
  for (int64_t n = 0; n < total; n += p.out_dims[last]) {
    int64_t base = 0;
    for (int k = 0; k < last; ++k) base += p.index[k][o[k]] * in_strides[k];
    const int64_t* li = p.index[last];
    if (same_last) {
      std::memcpy(dst, src + base * int64_t(es), row_bytes);
      dst += row_bytes;
    } else {
      for (int64_t j = 0; j < p.out_dims[last]; ++j) {
        std::memcpy(dst, src + (base + li[j]) * int64_t(es), es);
        dst += es;
      }
    }
    for (int k = last - 1; k >= 0; --k) {
      if (++o[k] < p.out_dims[k]) break;
      o[k] = 0;
    }
  }
}

template <class T>
void resize_linear(const T* src, T* dst, const ResizeLinearParams& p) {
  int64_t in_strides[kMaxResizeRank];
  strides_of(p.in_dims, p.rank, in_strides);
  int64_t total = 1;
  for (int k = 0; k < p.rank; ++k) total *= p.out_dims[k];
  int64_t o[kMaxResizeRank] = {};
  for (int64_t n = 0; n < total; ++n) {
    const float v = lerp_rec(src, p, in_strides, o, 0, 0);
    if constexpr (std::is_same_v<T, float>) {
      dst[n] = v;
    } else {  // int8 values on their own grid: rounded half to even (a convex mix stays in range)
      dst[n] = round_to_grid<T>(v);
    }
    for (int k = p.rank - 1; k >= 0; --k) {
      if (++o[k] < p.out_dims[k]) break;
      o[k] = 0;
    }
  }
}

template void resize_linear<float>(const float*, float*, const ResizeLinearParams&);
template void resize_linear<uint8_t>(const uint8_t*, uint8_t*, const ResizeLinearParams&);
template void resize_linear<int8_t>(const int8_t*, int8_t*, const ResizeLinearParams&);

}  // namespace mq::kernels
