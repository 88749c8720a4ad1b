// fp32 GEMM: the variant list (a plain loop, Eigen built for AVX2 and for AVX-512) and the
// dispatch through oneDNN's JIT sgemm.
#include "kernels/sgemm.h"

#include <oneapi/dnnl/dnnl.h>

#include "kernels/variant_table.h"

extern "C" void omp_set_num_threads(int);  // libgomp, oneDNN's threading runtime here

namespace mq::kernels {

void sgemm_f32__avx2(std::size_t m0, std::size_t m1, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                     const float* w, std::size_t ldw, const float* bias, float* c, std::size_t ldc,
                     bool accumulate);
void sgemm_f32__avx512(std::size_t m0, std::size_t m1, std::size_t n, std::size_t k, const float* a,
                       std::size_t lda, const float* w, std::size_t ldw, const float* bias, float* c,
                       std::size_t ldc, bool accumulate);

namespace {

void sgemm_f32__scalar(std::size_t m0, std::size_t m1, std::size_t n, std::size_t k, const float* a,
                       std::size_t lda, const float* w, std::size_t ldw, const float* bias, float* c,
                       std::size_t ldc, bool accumulate) {
  for (std::size_t m = m0; m < m1; ++m)
    for (std::size_t j = 0; j < n; ++j) {
      float s = 0.0f;
      for (std::size_t i = 0; i < k; ++i) s += a[m * lda + i] * w[j * ldw + i];
      if (bias) s += bias[j];
      float& out = c[m * ldc + j];
      out = accumulate ? out + s : s;
    }
}

// The one list of sgemm variants: drives selection, tests and benchmarks.
constexpr SGemmVariant variants[] = {
    {"sgemm_f32__scalar", Isa::scalar, sgemm_f32__scalar},
    {"sgemm_f32__avx2", Isa::avx2, sgemm_f32__avx2},
    {"sgemm_f32__avx512", Isa::avx512, sgemm_f32__avx512},
};

// oneDNN's sgemm on rows [m0, m1); false when it declines the call.
bool sgemm_onednn(std::size_t m0, std::size_t m1, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                  const float* w, std::size_t ldw, const float* bias, float* c, std::size_t ldc, bool accumulate) {
  // single-threaded: callers split rows over the Session's threads
  omp_set_num_threads(1);
  if (bias && !accumulate)
    for (std::size_t m = m0; m < m1; ++m)
      for (std::size_t j = 0; j < n; ++j) c[m * ldc + j] = bias[j];
  const float beta = accumulate || bias ? 1.f : 0.f;
  if (dnnl_sgemm('N', 'T', dnnl_dim_t(m1 - m0), dnnl_dim_t(n), dnnl_dim_t(k), 1.f, a + m0 * lda, dnnl_dim_t(lda),
                 w, dnnl_dim_t(ldw), beta, c + m0 * ldc, dnnl_dim_t(ldc)) != dnnl_success)
    return false;
  if (bias && accumulate)
    for (std::size_t m = m0; m < m1; ++m)
      for (std::size_t j = 0; j < n; ++j) c[m * ldc + j] += bias[j];
  return true;
}

}  // namespace

std::span<const SGemmVariant> sgemm_variants() { return variants; }

const SGemmVariant& sgemm_select(Isa isa) { return select_variant(sgemm_variants(), isa); }

const SGemmVariant& sgemm_active() {
  static const SGemmVariant& v = sgemm_select(active_isa());
  return v;
}

void sgemm(std::size_t m0, std::size_t m1, std::size_t n, std::size_t k, const float* a, std::size_t lda,
           const float* w, std::size_t ldw, const float* bias, float* c, std::size_t ldc, bool accumulate) {
  if (m1 <= m0) return;
  const SGemmVariant& v = sgemm_active();
  // a small matrix-vector product (an RNN step): Eigen's GEMV, without oneDNN's per-call cost
  const bool small_gemv = m1 - m0 <= 2 && n * k <= (std::size_t(1) << 18);
  if (v.isa != Isa::scalar && n > 0 && k > 0 && !small_gemv &&
      sgemm_onednn(m0, m1, n, k, a, lda, w, ldw, bias, c, ldc, accumulate))
    return;
  v.fn(m0, m1, n, k, a, lda, w, ldw, bias, c, ldc, accumulate);
}

}  // namespace mq::kernels
