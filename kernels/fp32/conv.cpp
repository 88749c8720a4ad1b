#include "kernels/fp32/conv.h"

#include <Eigen/Core>
#include <algorithm>
#include <cstring>

namespace mq::kernels {

namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

bool is_direct(const Conv2dParams& p) {
  return p.kh == 1 && p.kw == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 && p.pad_left == 0 &&
         p.oh == p.h && p.ow == p.w;
}

// col[(ci*kh + i)*kw + j, oy*ow + ox] = x[ci, oy*sh - pt + i*dh, ox*sw - pl + j*dw] (0 outside).
void im2col(const Conv2dParams& p, int64_t cg, const float* x, float* col) {
  const int64_t plane = p.oh * p.ow;
  for (int64_t ci = 0; ci < cg; ++ci) {
    const float* xc = x + ci * p.h * p.w;
    for (int64_t i = 0; i < p.kh; ++i) {
      for (int64_t j = 0; j < p.kw; ++j) {
        float* dst = col + ((ci * p.kh + i) * p.kw + j) * plane;
        for (int64_t oy = 0; oy < p.oh; ++oy) {
          const int64_t iy = oy * p.stride_h - p.pad_top + i * p.dil_h;
          float* row = dst + oy * p.ow;
          if (iy < 0 || iy >= p.h) {
            std::fill(row, row + p.ow, 0.f);
            continue;
          }
          const float* xr = xc + iy * p.w;
          for (int64_t ox = 0; ox < p.ow; ++ox) {
            const int64_t ix = ox * p.stride_w - p.pad_left + j * p.dil_w;
            row[ox] = (ix >= 0 && ix < p.w) ? xr[ix] : 0.f;
          }
        }
      }
    }
  }
}
}  // namespace

size_t conv2d_scratch_floats(const Conv2dParams& p) {
  if (is_direct(p)) return 0;
  return size_t((p.c / p.group) * p.kh * p.kw * p.oh * p.ow);
}

void conv2d_f32(const Conv2dParams& p, const float* x, const float* w, const float* bias, float* y,
                float* scratch) {
  const int64_t cg = p.c / p.group, mg = p.m / p.group;
  const int64_t kdim = cg * p.kh * p.kw, plane = p.oh * p.ow;
  const bool direct = is_direct(p);
  for (int64_t n = 0; n < p.n; ++n) {
    for (int64_t g = 0; g < p.group; ++g) {
      const float* xg = x + (n * p.c + g * cg) * p.h * p.w;
      const float* col = xg;
      if (!direct) {
        im2col(p, cg, xg, scratch);
        col = scratch;
      }
      Eigen::Map<const RowMat> wm(w + g * mg * kdim, mg, kdim);
      Eigen::Map<const RowMat> cm(col, kdim, plane);
      Eigen::Map<RowMat> ym(y + (n * p.m + g * mg) * plane, mg, plane);
      if (kdim == 0) ym.setZero();
      else ym.noalias() = wm * cm;
      if (bias) ym.colwise() += Eigen::Map<const Eigen::VectorXf>(bias + g * mg, mg);
    }
  }
}

SpatialGeometry spatial_geometry(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
                                 int64_t pad_end, int auto_pad, bool ceil_mode) {
  SpatialGeometry g;
  const int64_t eff = (kernel - 1) * dilation + 1;
  if (auto_pad == 2 || auto_pad == 3) {
    g.out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>(0, (g.out - 1) * stride + eff - in);
    g.pad_begin = auto_pad == 2 ? total / 2 : total - total / 2;
    g.pad_end = total - g.pad_begin;
    return g;
  }
  if (auto_pad == 1) pad_begin = pad_end = 0;
  g.pad_begin = pad_begin;
  g.pad_end = pad_end;
  const int64_t span = in + pad_begin + pad_end - eff;
  if (span < 0) {
    g.out = 0;
    return g;
  }
  g.out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // A window may not start in the trailing padding (ceil mode).
  if (ceil_mode && (g.out - 1) * stride >= in + pad_begin) --g.out;
  return g;
}

}  // namespace mq::kernels
