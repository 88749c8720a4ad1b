// Eigen's fp32 GEMM built for AVX2+FMA (kernels/sgemm_eigen_impl.h).
#include "kernels/sgemm.h"

#define Eigen mq_eigen_avx2
#include "kernels/sgemm_eigen_impl.h"

namespace mq::kernels {

void sgemm_f32__avx2(std::size_t m0, std::size_t m1, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                     const float* w, std::size_t ldw, const float* bias, float* c, std::size_t ldc,
                     bool accumulate) {
  sgemm_eigen_impl(m0, m1, n, k, a, lda, w, ldw, bias, c, ldc, accumulate);
}

}  // namespace mq::kernels
