// fp32 GEMM dispatch: oneDNN's JIT sgemm (it picks AVX-512 or AVX2 itself) unless the scalar
// tier is forced, then a plain loop.
#include "kernels/sgemm.h"

#include <oneapi/dnnl/dnnl.h>

#include "kernels/cpu_features.h"

extern "C" void omp_set_num_threads(int);  // libgomp, oneDNN's threading runtime here

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
  if (m1 <= m0) return;
  // a small matrix-vector product (an RNN step): Eigen's GEMV, without oneDNN's per-call cost
  const bool small_gemv = m1 - m0 <= 2 && n * k <= (std::size_t(1) << 18);
  if (active_isa() != Isa::scalar && n > 0 && k > 0 && !small_gemv) {
    // single-threaded: callers split rows over the Session's threads
    omp_set_num_threads(1);
    float* c0 = c + m0 * ldc;
    if (bias && !accumulate)
      for (std::size_t m = m0; m < m1; ++m)
        for (std::size_t j = 0; j < n; ++j) c[m * ldc + j] = bias[j];
    const float beta = accumulate || bias ? 1.f : 0.f;
    if (dnnl_sgemm('N', 'T', dnnl_dim_t(m1 - m0), dnnl_dim_t(n), dnnl_dim_t(k), 1.f, a + m0 * lda, dnnl_dim_t(lda), w,
                   dnnl_dim_t(ldw), beta, c0, dnnl_dim_t(ldc)) == dnnl_success) {
      if (bias && accumulate)
        for (std::size_t m = m0; m < m1; ++m)
          for (std::size_t j = 0; j < n; ++j) c[m * ldc + j] += bias[j];
      return;
    }
  }
  if (active_isa() != Isa::scalar) {
    if (static_cast<int>(active_isa()) >= static_cast<int>(Isa::avx512vnni)) {
      sgemm_eigen_avx512(m0, m1, n, k, a, lda, w, ldw, bias, c, ldc, accumulate);
      return;
    }
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
