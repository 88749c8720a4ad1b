#include "kernels/reference/qgemm_ref.h"

#include "kernels/qgemm_internal.h"

namespace mq::kernels::reference {
using namespace qgemm_detail;

void qgemm(const QGemmParams& p, const std::int8_t* w, std::size_t ldw, std::size_t m0, std::size_t m1,
           std::size_t n0, std::size_t n1) {
  for (std::size_t m = m0; m < m1; ++m) {
    for (std::size_t n = n0; n < n1; ++n) {
      std::int32_t acc = 0;
      for (std::size_t k = 0; k < p.k; ++k) {
        const std::int32_t a = static_cast<std::int32_t>(p.a[m * p.lda + k]) - p.a_zp;
        acc = wrap_add(acc, wrap_mul(a, w[n * ldw + k]));
      }
      if (p.bias32) acc = wrap_add(acc, p.bias32[n]);
      store_one(p, m, n, acc);
    }
  }
}

}  // namespace mq::kernels::reference
