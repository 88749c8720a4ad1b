// fp32 GEMM over panel-packed weights: the packing, the portable kernel and the variant list.
#include "kernels/sgemm_panels.h"

#include <algorithm>

#include "kernels/variant_table.h"

namespace mq::kernels {

void sgemm_panels_f32__avx512(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                              const float* packed, std::size_t p0, std::size_t p1, const float* bias, float* c,
                              std::size_t ldc, float* scratch);

namespace {

constexpr std::size_t W = kSgemmPanelWidth;

void sgemm_panels_f32__scalar(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                              const float* packed, std::size_t p0, std::size_t p1, const float* bias, float* c,
                              std::size_t ldc, float*) {
  for (std::size_t p = p0; p < p1; ++p) {
    const float* panel = packed + p * k * W;
    const std::size_t cols = std::min(W, n - p * W);
    for (std::size_t r = 0; r < m; ++r) {
      float acc[W] = {};
      for (std::size_t i = 0; i < k; ++i) {
        const float x = a[r * lda + i];
        for (std::size_t j = 0; j < W; ++j) acc[j] += x * panel[i * W + j];
      }
      for (std::size_t j = 0; j < cols; ++j) c[r * ldc + p * W + j] = acc[j] + (bias ? bias[p * W + j] : 0.f);
    }
  }
}

// The one list of sgemm_panels variants: drives selection and tests.
constexpr SGemmPanelsVariant variants[] = {
    {"sgemm_panels_f32__scalar", Isa::scalar, sgemm_panels_f32__scalar},
    {"sgemm_panels_f32__avx512", Isa::avx512, sgemm_panels_f32__avx512},
};

}  // namespace

std::size_t sgemm_panels_packed_floats(std::size_t n, std::size_t k) { return (n + W - 1) / W * k * W; }

void sgemm_panels_pack(const float* w, std::size_t n, std::size_t k, std::size_t ldw, float* packed) {
  const std::size_t panels = (n + W - 1) / W;
  for (std::size_t p = 0; p < panels; ++p)
    for (std::size_t i = 0; i < k; ++i)
      for (std::size_t j = 0; j < W; ++j) {
        const std::size_t col = p * W + j;
        packed[(p * k + i) * W + j] = col < n ? w[col * ldw + i] : 0.f;
      }
}

std::size_t sgemm_panels_scratch_floats(std::size_t m, std::size_t k) { return m * k; }

std::span<const SGemmPanelsVariant> sgemm_panels_variants() { return variants; }

const SGemmPanelsVariant& sgemm_panels_select(Isa isa) { return select_variant(sgemm_panels_variants(), isa); }

const SGemmPanelsVariant& sgemm_panels_active() {
  static const SGemmPanelsVariant& v = sgemm_panels_select(active_isa());
  return v;
}

}  // namespace mq::kernels
