#include "kernels/fp32/pool.h"
#include "kernels/quant.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <cstdint>
#include <limits>
#include <vector>

namespace mq::kernels {

namespace {
// Calls fn(output offset, window positions per dim) for every output element of one plane.
struct Window {
  int64_t start[3], count[3];
};
Window window(const PoolParams& p, const int64_t o[3]) {
  Window w{};
  for (int d = 0; d < 3; ++d) {
    w.start[d] = o[d] * p.stride[d] - p.pad_begin[d];
    w.count[d] = p.kernel[d];
  }
  return w;
}
}  // namespace

// 2-D windows without dilation or indices: the clipped window bounds are computed once per
// output row / column, and the inner loops have no branches.
template <class T>
void max_pool_2d(const PoolParams& p, const T* x, T* y) {
  const int64_t H = p.in[1], W = p.in[2], OH = p.out[1], OW = p.out[2];
  if (p.kernel[1] == 2 && p.kernel[2] == 2 && p.stride[1] == 2 && p.stride[2] == 2 && p.pad_begin[1] == 0 &&
      p.pad_begin[2] == 0 && 2 * OH <= H && 2 * OW <= W) {  // the common 2×2 / 2 window
    for (int64_t c = 0; c < p.nc; ++c) {
      const T* xc = x + c * H * W;
      T* yc = y + c * OH * OW;
      for (int64_t oy = 0; oy < OH; ++oy) {
        const T* r0 = xc + 2 * oy * W;
        const T* r1 = r0 + W;
        for (int64_t ox = 0; ox < OW; ++ox)
          yc[oy * OW + ox] = std::max(std::max(r0[2 * ox], r0[2 * ox + 1]), std::max(r1[2 * ox], r1[2 * ox + 1]));
      }
    }
    return;
  }
  std::vector<int64_t> x0(static_cast<size_t>(OW)), x1(static_cast<size_t>(OW));
  for (int64_t ox = 0; ox < OW; ++ox) {
    const int64_t s = ox * p.stride[2] - p.pad_begin[2];
    x0[size_t(ox)] = std::max<int64_t>(0, s);
    x1[size_t(ox)] = std::min<int64_t>(W, s + p.kernel[2]);
  }
  for (int64_t c = 0; c < p.nc; ++c) {
    const T* xc = x + c * H * W;
    T* yc = y + c * OH * OW;
    for (int64_t oy = 0; oy < OH; ++oy) {
      const int64_t s = oy * p.stride[1] - p.pad_begin[1];
      const int64_t y0 = std::max<int64_t>(0, s), y1 = std::min<int64_t>(H, s + p.kernel[1]);
      for (int64_t ox = 0; ox < OW; ++ox) {
        T best = std::numeric_limits<T>::lowest();
        for (int64_t iy = y0; iy < y1; ++iy)
          for (int64_t ix = x0[size_t(ox)]; ix < x1[size_t(ox)]; ++ix) best = std::max(best, xc[iy * W + ix]);
        yc[oy * OW + ox] = best;
      }
    }
  }
}

template <class T>
void max_pool(const PoolParams& p, const T* x, T* y, int64_t* indices) {
  if (!indices && p.in[0] == 1 && p.out[0] == 1 && p.kernel[0] == 1 && p.dilation[1] == 1 && p.dilation[2] == 1)
    return max_pool_2d(p, x, y);
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2];
  const int64_t out_plane = p.out[0] * p.out[1] * p.out[2];
  for (int64_t c = 0; c < p.nc; ++c) {
    const T* xc = x + c * in_plane;
    int64_t o[3], k = 0;
    for (o[0] = 0; o[0] < p.out[0]; ++o[0])
      for (o[1] = 0; o[1] < p.out[1]; ++o[1])
        for (o[2] = 0; o[2] < p.out[2]; ++o[2], ++k) {
          Window w = window(p, o);
          T best = std::numeric_limits<T>::lowest();
          int64_t best_at = -1;
          for (int64_t a = 0; a < w.count[0]; ++a) {
            const int64_t i0 = w.start[0] + a * p.dilation[0];
            if (i0 < 0 || i0 >= p.in[0]) continue;
            for (int64_t b = 0; b < w.count[1]; ++b) {
              const int64_t i1 = w.start[1] + b * p.dilation[1];
              if (i1 < 0 || i1 >= p.in[1]) continue;
              for (int64_t e = 0; e < w.count[2]; ++e) {
                const int64_t i2 = w.start[2] + e * p.dilation[2];
                if (i2 < 0 || i2 >= p.in[2]) continue;
                const int64_t at = (i0 * p.in[1] + i1) * p.in[2] + i2;
                if (best_at < 0 || xc[at] > best) {
                  best = xc[at];
                  best_at = p.column_major_indices ? (i2 * p.in[1] + i1) * p.in[0] + i0 : at;
                }
              }
            }
          }
          y[c * out_plane + k] = best;
          if (indices) indices[c * out_plane + k] = best_at < 0 ? -1 : c * in_plane + best_at;
        }
  }
}

namespace {

// a[c] = max(a[c], b[c]) as the window scan compares (a NaN in b never replaces a).
template <class T>
inline void max_into(T* a, const T* b, int64_t n) {
  for (int64_t c = 0; c < n; ++c) a[c] = a[c] < b[c] ? b[c] : a[c];
}

// int8 values in two passes, exact for any window: the maximum over each input row's
// horizontal windows, then over the vertical windows of those (k_h + k_w instead of k_h·k_w
// channel vectors an output; YOLOv5's SPP pools 5, 9 and 13 wide).
template <class T>
void max_pool_nhwc_separable(const PoolParams& p, int64_t C, const T* x, T* y) {
  const int64_t N = C > 0 ? p.nc / C : 0;
  const int64_t IH = p.in[1], IW = p.in[2], OH = p.out[1], OW = p.out[2];
  std::vector<T> rows(static_cast<size_t>(IH * OW * C));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t ih = 0; ih < IH; ++ih)
      for (int64_t ow = 0; ow < OW; ++ow) {
        T* a = rows.data() + (ih * OW + ow) * C;
        std::fill(a, a + C, std::numeric_limits<T>::lowest());
        for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
          const int64_t iw = ow * p.stride[2] - p.pad_begin[2] + kw * p.dilation[2];
          if (iw >= 0 && iw < IW) max_into(a, x + ((n * IH + ih) * IW + iw) * C, C);
        }
      }
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        T* a = y + ((n * OH + oh) * OW + ow) * C;
        std::fill(a, a + C, std::numeric_limits<T>::lowest());
        for (int64_t kh = 0; kh < p.kernel[1]; ++kh) {
          const int64_t ih = oh * p.stride[1] - p.pad_begin[1] + kh * p.dilation[1];
          if (ih >= 0 && ih < IH) max_into(a, rows.data() + (ih * OW + ow) * C, C);
        }
      }
  }
}

}  // namespace

template <class T>
void max_pool_nhwc(const PoolParams& p, int64_t channels, const T* x, T* y) {
  if constexpr (!std::is_floating_point_v<T>) {
    if (p.kernel[1] * p.kernel[2] > p.kernel[1] + p.kernel[2]) {
      max_pool_nhwc_separable(p, channels, x, y);
      return;
    }
  }
  const int64_t C = channels, N = C > 0 ? p.nc / C : 0;
  const int64_t IH = p.in[1], IW = p.in[2], OH = p.out[1], OW = p.out[2];
  std::vector<T> acc(static_cast<size_t>(C));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        std::fill(acc.begin(), acc.end(), std::numeric_limits<T>::lowest());
        T* a = acc.data();
        for (int64_t kh = 0; kh < p.kernel[1]; ++kh) {
          const int64_t ih = oh * p.stride[1] - p.pad_begin[1] + kh * p.dilation[1];
          if (ih < 0 || ih >= IH) continue;
          for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
            const int64_t iw = ow * p.stride[2] - p.pad_begin[2] + kw * p.dilation[2];
            if (iw < 0 || iw >= IW) continue;
            max_into(a, x + ((n * IH + ih) * IW + iw) * C, C);
          }
        }
        std::copy(acc.begin(), acc.end(), y + ((n * OH + oh) * OW + ow) * C);
      }
}

template void max_pool_nhwc<float>(const PoolParams&, int64_t, const float*, float*);
template void max_pool_nhwc<uint8_t>(const PoolParams&, int64_t, const uint8_t*, uint8_t*);
template void max_pool_nhwc<int8_t>(const PoolParams&, int64_t, const int8_t*, int8_t*);

template void max_pool<float>(const PoolParams&, const float*, float*, int64_t*);
template void max_pool<uint8_t>(const PoolParams&, const uint8_t*, uint8_t*, int64_t*);
template void max_pool<int8_t>(const PoolParams&, const int8_t*, int8_t*, int64_t*);

namespace {
// An average of int8 values on their own grid: rounded half to even (as QuantizeLinear),
// saturated; floats as they are.
template <class T, class Acc>
T average_of(Acc sum, int64_t n) {
  if constexpr (std::is_floating_point_v<T>) {
    return n > 0 ? T(sum / T(n)) : T(0);
  } else {
    return round_to_grid<T>(n > 0 ? double(sum) / double(n) : 0.0);
  }
}
template <class T>
using Sum = std::conditional_t<std::is_floating_point_v<T>, float, int64_t>;
}  // namespace

template <class T>
void avg_pool(const PoolParams& p, const T* x, T* y, int32_t zero_point) {
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2];
  const int64_t out_plane = p.out[0] * p.out[1] * p.out[2];
  for (int64_t c = 0; c < p.nc; ++c) {
    const T* xc = x + c * in_plane;
    int64_t o[3], k = 0;
    for (o[0] = 0; o[0] < p.out[0]; ++o[0])
      for (o[1] = 0; o[1] < p.out[1]; ++o[1])
        for (o[2] = 0; o[2] < p.out[2]; ++o[2], ++k) {
          Window w = window(p, o);
          Sum<T> sum = 0;
          int64_t n_in = 0, n_pad = 0;
          for (int64_t a = 0; a < w.count[0]; ++a) {
            const int64_t i0 = w.start[0] + a * p.dilation[0];
            const bool in0 = i0 >= 0 && i0 < p.in[0];
            const bool pad0 = i0 >= -p.pad_begin[0] && i0 < p.in[0] + p.pad_end[0];
            for (int64_t b = 0; b < w.count[1]; ++b) {
              const int64_t i1 = w.start[1] + b * p.dilation[1];
              const bool in1 = i1 >= 0 && i1 < p.in[1];
              const bool pad1 = i1 >= -p.pad_begin[1] && i1 < p.in[1] + p.pad_end[1];
              for (int64_t e = 0; e < w.count[2]; ++e) {
                const int64_t i2 = w.start[2] + e * p.dilation[2];
                const bool in2 = i2 >= 0 && i2 < p.in[2];
                const bool pad2 = i2 >= -p.pad_begin[2] && i2 < p.in[2] + p.pad_end[2];
                if (in0 && in1 && in2) {
                  sum += Sum<T>(xc[(i0 * p.in[1] + i1) * p.in[2] + i2]);
                  ++n_in;
                } else if (pad0 && pad1 && pad2) {
                  ++n_pad;
                }
              }
            }
          }
          if (p.count_include_pad) sum += Sum<T>(n_pad) * Sum<T>(zero_point);  // padding reads real 0
          y[c * out_plane + k] = average_of<T>(sum, p.count_include_pad ? n_in + n_pad : n_in);
        }
  }
}

template void avg_pool<float>(const PoolParams&, const float*, float*, int32_t);
template void avg_pool<uint8_t>(const PoolParams&, const uint8_t*, uint8_t*, int32_t);
template void avg_pool<int8_t>(const PoolParams&, const int8_t*, int8_t*, int32_t);

template <class T>
void avg_pool_nhwc(const PoolParams& p, int64_t channels, const T* x, T* y, int32_t zero_point) {
  const int64_t C = channels, N = C > 0 ? p.nc / C : 0;
  const int64_t IH = p.in[1], IW = p.in[2], OH = p.out[1], OW = p.out[2];
  std::vector<Sum<T>> acc(static_cast<size_t>(C));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        std::fill(acc.begin(), acc.end(), Sum<T>(0));
        int64_t n_in = 0, n_pad = 0;
        for (int64_t kh = 0; kh < p.kernel[1]; ++kh) {
          const int64_t ih = oh * p.stride[1] - p.pad_begin[1] + kh * p.dilation[1];
          const bool pad_h = ih >= -p.pad_begin[1] && ih < IH + p.pad_end[1];
          for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
            const int64_t iw = ow * p.stride[2] - p.pad_begin[2] + kw * p.dilation[2];
            if (ih < 0 || ih >= IH || iw < 0 || iw >= IW) {
              n_pad += pad_h && iw >= -p.pad_begin[2] && iw < IW + p.pad_end[2];
              continue;
            }
            ++n_in;
            const T* px = x + ((n * IH + ih) * IW + iw) * C;
            for (int64_t c = 0; c < C; ++c) acc[size_t(c)] += Sum<T>(px[c]);
          }
        }
        const int64_t count = p.count_include_pad ? n_in + n_pad : n_in;
        const Sum<T> pad_sum = p.count_include_pad ? Sum<T>(n_pad) * Sum<T>(zero_point) : Sum<T>(0);
        T* py = y + ((n * OH + oh) * OW + ow) * C;
        for (int64_t c = 0; c < C; ++c) py[c] = average_of<T>(acc[size_t(c)] + pad_sum, count);
      }
}

template void avg_pool_nhwc<uint8_t>(const PoolParams&, int64_t, const uint8_t*, uint8_t*, int32_t);
template void avg_pool_nhwc<int8_t>(const PoolParams&, int64_t, const int8_t*, int8_t*, int32_t);

template <class T>
void global_avg_pool_int8(const T* x, T* y, int64_t n, int64_t spatial, int64_t c, bool nhwc) {
  std::vector<int64_t> sum(static_cast<size_t>(c));
  for (int64_t b = 0; b < n; ++b) {
    const T* xb = x + b * spatial * c;
    std::fill(sum.begin(), sum.end(), int64_t(0));
    if (nhwc) {
      for (int64_t i = 0; i < spatial; ++i)
        for (int64_t j = 0; j < c; ++j) sum[size_t(j)] += xb[i * c + j];
    } else {
      for (int64_t j = 0; j < c; ++j)
        for (int64_t i = 0; i < spatial; ++i) sum[size_t(j)] += xb[j * spatial + i];
    }
    for (int64_t j = 0; j < c; ++j) y[b * c + j] = average_of<T>(sum[size_t(j)], spatial);
  }
}

template void global_avg_pool_int8<uint8_t>(const uint8_t*, uint8_t*, int64_t, int64_t, int64_t, bool);
template void global_avg_pool_int8<int8_t>(const int8_t*, int8_t*, int64_t, int64_t, int64_t, bool);

template <class T>
void global_max_pool_int8(const T* x, T* y, int64_t n, int64_t spatial, int64_t c, bool nhwc) {
  for (int64_t b = 0; b < n; ++b) {
    const T* xb = x + b * spatial * c;
    T* yb = y + b * c;
    std::fill(yb, yb + c, std::numeric_limits<T>::lowest());
    if (nhwc) {
      for (int64_t i = 0; i < spatial; ++i)
        for (int64_t j = 0; j < c; ++j) yb[j] = std::max(yb[j], xb[i * c + j]);
    } else {
      for (int64_t j = 0; j < c; ++j) {
        T m = std::numeric_limits<T>::lowest();
        for (int64_t i = 0; i < spatial; ++i) m = std::max(m, xb[j * spatial + i]);
        yb[j] = m;
      }
    }
  }
}

template void global_max_pool_int8<uint8_t>(const uint8_t*, uint8_t*, int64_t, int64_t, int64_t, bool);
template void global_max_pool_int8<int8_t>(const int8_t*, int8_t*, int64_t, int64_t, int64_t, bool);

void global_avg_pool_f32(const float* x, float* y, int64_t nc, int64_t spatial) {
  constexpr int64_t L = 8;  // independent partial sums, so the loop vectorizes
  for (int64_t c = 0; c < nc; ++c) {
    const float* xc = x + c * spatial;
    double part[L] = {};
    int64_t i = 0;
    for (; i + L <= spatial; i += L)
      for (int64_t j = 0; j < L; ++j) part[j] += xc[i + j];
    double s = 0;
    for (; i < spatial; ++i) s += xc[i];
    for (int64_t j = 0; j < L; ++j) s += part[j];
    y[c] = spatial > 0 ? float(s / double(spatial)) : 0.f;
  }
}

void global_max_pool_f32(const float* x, float* y, int64_t nc, int64_t spatial) {
  constexpr int64_t L = 16;  // independent maxima, so the loop vectorizes (NaN is skipped, as before)
  for (int64_t c = 0; c < nc; ++c) {
    const float* xc = x + c * spatial;
    float part[L];
    std::fill(part, part + L, std::numeric_limits<float>::lowest());
    int64_t i = 0;
    for (; i + L <= spatial; i += L)
      for (int64_t j = 0; j < L; ++j) part[j] = part[j] < xc[i + j] ? xc[i + j] : part[j];
    float m = std::numeric_limits<float>::lowest();
    for (; i < spatial; ++i) m = std::max(m, xc[i]);
    for (int64_t j = 0; j < L; ++j) m = std::max(m, part[j]);
    y[c] = m;
  }
}

void global_pool_nhwc_f32(const float* x, float* y, int64_t n, int64_t spatial, int64_t c, bool is_max) {
  std::vector<double> sum(is_max ? 0 : size_t(c));
  for (int64_t b = 0; b < n; ++b) {
    const float* xb = x + b * spatial * c;
    float* yb = y + b * c;
    if (is_max) {
      std::fill(yb, yb + c, std::numeric_limits<float>::lowest());
      for (int64_t i = 0; i < spatial; ++i)
        for (int64_t j = 0; j < c; ++j) yb[j] = yb[j] < xb[i * c + j] ? xb[i * c + j] : yb[j];
    } else {
      std::fill(sum.begin(), sum.end(), 0.0);
      for (int64_t i = 0; i < spatial; ++i)
        for (int64_t j = 0; j < c; ++j) sum[size_t(j)] += xb[i * c + j];
      for (int64_t j = 0; j < c; ++j) yb[j] = spatial > 0 ? float(sum[size_t(j)] / double(spatial)) : 0.f;
    }
  }
}

}  // namespace mq::kernels
