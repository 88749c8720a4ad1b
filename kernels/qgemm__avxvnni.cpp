// qgemm on AVX-VNNI: 6×16 tile (12 ymm accumulators), VEX vpdpbusd on 4-k quads.
#include <immintrin.h>

#include <algorithm>

#include "kernels/qgemm_internal.h"

namespace mq::kernels {
namespace {
using namespace qgemm_detail;
#include "kernels/qgemm_ymm_impl.h"

struct DotVnni {
  using B = __m256i;
  static B prep(__m256i b) { return b; }
  static __m256i step(__m256i acc, __m256i a, B b) { return _mm256_dpbusd_avx_epi32(acc, a, b); }
};

}  // namespace

void qgemm_u8s8_6x16__avxvnni(const QGemmParams& p, std::size_t m0, std::size_t m1, std::size_t n0,
                              std::size_t n1) {
  const PackedView b = view(p.packed_b);
  constexpr std::size_t mc = 96;
  for (std::size_t mb = m0; mb < m1; mb += mc) {
    const std::size_t me = std::min(m1, mb + mc);
    for (std::size_t n = n0; n < n1; n += 16) ymm_rows<DotVnni, 6>(p, b, mb, me, n / 16, std::min(n1, n + 16));
  }
}

}  // namespace mq::kernels
