// fp32 GEMM (Eigen), the float baseline of the int8 kernels: C = A · Wᵀ (+ bias).
#pragma once

#include <cstddef>

namespace mq::kernels {

/// C[M×N] (row stride ldc) = A[M×K] (lda) · W[N×K]ᵀ (ldw) + bias[n] (optional);
/// accumulate adds into C. Rows [m0, m1) only, single-threaded.
void sgemm(std::size_t m0, std::size_t m1, std::size_t n, std::size_t k, const float* a,
           std::size_t lda, const float* w, std::size_t ldw, const float* bias, float* c,
           std::size_t ldc, bool accumulate = false);

}  // namespace mq::kernels
