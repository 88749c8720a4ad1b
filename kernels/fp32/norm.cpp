#include "kernels/fp32/norm.h"

#include <cmath>

namespace mq::kernels {

void batch_norm_f32(const float* x, const float* scale, const float* bias, const float* mean, const float* var,
                    float eps, float* y, int64_t n, int64_t c, int64_t spatial) {
  for (int64_t ci = 0; ci < c; ++ci) {
    const float a = scale[ci] / std::sqrt(var[ci] + eps);
    const float b = bias[ci] - mean[ci] * a;
    for (int64_t ni = 0; ni < n; ++ni) {
      const float* xs = x + (ni * c + ci) * spatial;
      float* ys = y + (ni * c + ci) * spatial;
      for (int64_t i = 0; i < spatial; ++i) ys[i] = xs[i] * a + b;
    }
  }
}

namespace {
// Mean and 1/sqrt(var + eps) of n values (two passes, double accumulation).
void moments(const float* x, int64_t n, float eps, float& mean, float& inv_std) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i];
  const double m = n > 0 ? s / double(n) : 0.0;
  double v = 0;
  for (int64_t i = 0; i < n; ++i) v += (x[i] - m) * (x[i] - m);
  v = n > 0 ? v / double(n) : 0.0;
  mean = float(m);
  inv_std = float(1.0 / std::sqrt(v + double(eps)));
}
}  // namespace

void instance_norm_f32(const float* x, const float* scale, const float* bias, float eps, float* y, int64_t n,
                       int64_t c, int64_t spatial) {
  for (int64_t ni = 0; ni < n; ++ni)
    for (int64_t ci = 0; ci < c; ++ci) {
      const float* xs = x + (ni * c + ci) * spatial;
      float* ys = y + (ni * c + ci) * spatial;
      float m, is;
      moments(xs, spatial, eps, m, is);
      const float a = is * scale[ci];
      for (int64_t i = 0; i < spatial; ++i) ys[i] = (xs[i] - m) * a + bias[ci];
    }
}

void layer_norm_f32(const float* x, const float* scale, const float* bias, float eps, float* y, float* mean,
                    float* inv_std, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m, is;
    moments(xr, cols, eps, m, is);
    for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) * is * scale[j] + (bias ? bias[j] : 0.f);
    if (mean) mean[r] = m;
    if (inv_std) inv_std[r] = is;
  }
}

}  // namespace mq::kernels
