// fp32 GEMM dispatch: Eigen built for AVX-512 or AVX2+FMA when the CPU has them, else a plain
// loop.
#include "kernels/sgemm.h"

#include "kernels/cpu_features.h"

namespace mq::kernels {

void sgemm_eigen_avx2(std::size_t m0, std::size_t m1, std::size_t n, std::size_t k,
                      const float* a, std::size_t lda, const float* w, std::size_t ldw,
                      const float* bias, float* c, std::size_t ldc, bool accumulate);

void sgemm_eigen_avx512(std::size_t m0, std::size_t m1, std::size_t n, std::size_t k,
                        const float* a, std::size_t lda, const float* w, std::size_t ldw,
                        const float* bias, float* c, std::size_t ldc, bool accumulate);

void sgemm(std::size_t m0, std::size_t m1, std::size_t n, std::size_t k, const float* a,
           std::size_t lda, const float* w, std::size_t ldw, const float* bias, float* c,
           std::size_t ldc, bool accumulate) {
  if (static_cast<int>(active_isa()) >= static_cast<int>(Isa::avx512vnni)) {
    sgemm_eigen_avx512(m0, m1, n, k, a, lda, w, ldw, bias, c, ldc, accumulate);
    return;
  }
  if (active_isa() != Isa::scalar) {
    sgemm_eigen_avx2(m0, m1, n, k, a, lda, w, ldw, bias, c, ldc, accumulate);
    return;
  }
  for (std::size_t m = m0; m < m1; ++m)
    for (std::size_t j = 0; j < n; ++j) {
      float s = 0.0f;
      for (std::size_t i = 0; i < k; ++i) s += a[m * lda + i] * w[j * ldw + i];
      if (bias) s += bias[j];
      float& out = c[m * ldc + j];
      out = accumulate ? out + s : s;
    }
}

}  // namespace mq::kernels
