#include "kernels/fp32/gemm.h"

#include <Eigen/Core>
#include <algorithm>

namespace mq::kernels {

namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using CMap = Eigen::Map<const RowMat>;
using MMap = Eigen::Map<RowMat>;

template <class A, class B>
void finish(const GemmParams& p, const A& a, const B& b, float* c) {
  MMap cm(c, p.m, p.n);
  if (p.beta == 0.f) {
    cm.noalias() = p.alpha * (a * b);
  } else {
    if (p.beta != 1.f) cm *= p.beta;
    cm.noalias() += p.alpha * (a * b);
  }
}
}  // namespace

void gemm_f32(const GemmParams& p, const float* a, const float* b, float* c) {
  if (p.m == 0 || p.n == 0) return;
  if (p.k == 0) {
    MMap cm(c, p.m, p.n);
    if (p.beta == 0.f) cm.setZero();
    else cm *= p.beta;
    return;
  }
  CMap am(a, p.trans_a ? p.k : p.m, p.trans_a ? p.m : p.k);
  CMap bm(b, p.trans_b ? p.n : p.k, p.trans_b ? p.k : p.n);
  if (p.trans_a) {
    if (p.trans_b) finish(p, am.transpose(), bm.transpose(), c);
    else finish(p, am.transpose(), bm, c);
  } else {
    if (p.trans_b) finish(p, am, bm.transpose(), c);
    else finish(p, am, bm, c);
  }
}

void masked_row_sums(const uint8_t* mask, const float* wt, const float* bias, float* y, int64_t row_begin,
                     int64_t row_end, int64_t k, int64_t n) {
  for (int64_t i = row_begin; i < row_end; ++i) {
    float* yi = y + i * n;
    if (bias) std::copy(bias, bias + n, yi);
    else std::fill(yi, yi + n, 0.f);
    const uint8_t* mi = mask + i * k;
    for (int64_t j = 0; j < k; ++j) {
      if (!mi[j]) continue;
      const float* wj = wt + j * n;
      for (int64_t c = 0; c < n; ++c) yi[c] += wj[c];
    }
  }
}

void linear_f32(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t k, int64_t n) {
  if (m == 0 || n == 0) return;
  MMap ym(y, m, n);
  if (k == 0) {
    ym.setZero();
  } else {
    CMap xm(x, m, k);
    CMap wm(w, n, k);
    ym.noalias() = xm * wm.transpose();
  }
  if (bias) ym.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias, n);
}

}  // namespace mq::kernels
