// qgemm on AVX2: 4×16 tile, vpmaddubsw + vpmaddwd. Blocks whose adjacent-k weight pairs could
// saturate vpmaddubsw's int16 sums (flagged at pack time) use an exact path that splits each
// weight into 16·hi + lo with small halves.
#include <immintrin.h>

#include <algorithm>

#include "kernels/qgemm_internal.h"

namespace mq::kernels {
namespace {
using namespace qgemm_detail;
#include "kernels/qgemm_ymm_impl.h"

// Fast path: exact when |w0| + |w1| ≤ 128 for every same-sign adjacent pair.
struct DotMaddubs {
  using B = __m256i;
  static B prep(__m256i b) { return b; }
  static __m256i step(__m256i acc, __m256i a, B b) {
    const __m256i t = _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1));
    return _mm256_add_epi32(acc, t);
  }
};

// Exact path: w = 16·hi + lo with hi = w >> 4 in [−8, 7] and lo = w & 15 in [0, 15].
struct DotSplit {
  struct B {
    __m256i hi, lo;
  };
  static B prep(__m256i b) {
    const __m256i nib = _mm256_set1_epi8(0x0F);
    const __m256i eight = _mm256_set1_epi8(8);
    const __m256i hi4 = _mm256_and_si256(_mm256_srli_epi16(b, 4), nib);
    return {_mm256_sub_epi8(_mm256_xor_si256(hi4, eight), eight), _mm256_and_si256(b, nib)};
  }
  static __m256i step(__m256i acc, __m256i a, const B& b) {
    const __m256i h = _mm256_madd_epi16(_mm256_maddubs_epi16(a, b.hi), _mm256_set1_epi16(16));
    const __m256i l = _mm256_madd_epi16(_mm256_maddubs_epi16(a, b.lo), _mm256_set1_epi16(1));
    return _mm256_add_epi32(acc, _mm256_add_epi32(h, l));
  }
};

}  // namespace

void qgemm_u8s8_4x16__avx2(const QGemmParams& p, std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1) {
  const PackedView b = view(p.packed_b);
  constexpr std::size_t mc = 64;
  for (std::size_t mb = m0; mb < m1; mb += mc) {
    const std::size_t me = std::min(m1, mb + mc);
    for (std::size_t n = n0; n < n1; n += 16) {
      const std::size_t nb = n / 16;
      const std::size_t nend = std::min(n1, n + 16);
      if (b.needs_exact[nb]) ymm_rows<DotSplit, 4>(p, b, mb, me, nb, nend);
      else ymm_rows<DotMaddubs, 4>(p, b, mb, me, nb, nend);
    }
  }
}

}  // namespace mq::kernels
