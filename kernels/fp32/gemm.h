#pragma once
/// fp32 matrix products (row-major, dense) on Eigen.
#include <cstdint>

namespace mq::kernels {

/// C[m,n] = alpha·op(A)·op(B) + beta·C. op(A) is [m,k] (A is stored [k,m] when trans_a);
/// op(B) is [k,n] (B is stored [n,k] when trans_b). When beta is 0, C is not read.
struct GemmParams {
  int64_t m = 0, n = 0, k = 0;  ///< product sizes
  bool trans_a = false;         ///< A stored transposed
  bool trans_b = false;         ///< B stored transposed
  float alpha = 1.f;            ///< scale of the product
  float beta = 0.f;             ///< scale of C's previous content
};

/// C = alpha·op(A)·op(B) + beta·C.
void gemm_f32(const GemmParams& p, const float* a, const float* b, float* c);

/// Y[m,n] = X[m,k]·W[n,k]ᵀ + bias[n] (bias may be null).
void linear_f32(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t k, int64_t n);

/// Rows [row_begin, row_end) of Y[m,n] = mask[m,k]·Wt[k,n] + bias[n] for a 0/1 mask (one byte
/// per element, nonzero = 1; a one-hot encoding): each row the sum of the rows of Wt its mask
/// selects, in order of k — a one-hot row gives exactly its Wt row (plus bias).
void masked_row_sums(const uint8_t* mask, const float* wt, const float* bias, float* y, int64_t row_begin,
                     int64_t row_end, int64_t k, int64_t n);

}  // namespace mq::kernels
