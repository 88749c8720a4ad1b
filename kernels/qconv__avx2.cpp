// Depthwise Conv2d compiled with AVX2 flags (the loop body auto-vectorizes).
#include <algorithm>

#include "kernels/qconv.h"
#include "kernels/qgemm_internal.h"

namespace mq::kernels {
namespace {
#include "kernels/qconv_dw_impl.h"
}  // namespace

void qconv_depthwise__avx2(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x,
                           const std::int8_t* wt, void* y, std::size_t p0, std::size_t p1) {
  depthwise_rows(s, epi, x, wt, y, p0, p1);
}

}  // namespace mq::kernels
