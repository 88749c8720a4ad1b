// fp32 GEMM for few rows over large constant weights (batch-1 Linear layers, RNN input
// projections and steps): the product is bound by reading the weights from memory, so the
// weights are packed once into panels that the kernel streams exactly once, in address
// order, whatever the number of rows.
#pragma once

#include <cstddef>
#include <span>

#include "kernels/cpu_features.h"

namespace mq::kernels {

/// Output columns per panel: the packed weights are P[n / 32][k][32], zero-padded past n.
constexpr std::size_t kSgemmPanelWidth = 32;

/// Floats of the packed weights of W [n×k].
std::size_t sgemm_panels_packed_floats(std::size_t n, std::size_t k);
/// Packs W [n×k] (row stride ldw) into `packed` (sgemm_panels_packed_floats(n, k) floats).
void sgemm_panels_pack(const float* w, std::size_t n, std::size_t k, std::size_t ldw, float* packed);
/// Floats of scratch an sgemm_panels kernel needs for m rows of k (A repacked by row groups).
std::size_t sgemm_panels_scratch_floats(std::size_t m, std::size_t k);

/// C[m×n] (row stride ldc) = A[m×k] (lda) · Wᵀ + bias[n] (optional), for the output columns
/// of panels [p0, p1) only (a range of panels is the unit of work of one thread);
/// `packed` from sgemm_panels_pack, `scratch` of sgemm_panels_scratch_floats(m, k) floats.
using SGemmPanelsFn = void (*)(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                               const float* packed, std::size_t p0, std::size_t p1, const float* bias, float* c,
                               std::size_t ldc, float* scratch);

/// One compiled sgemm_panels variant.
struct SGemmPanelsVariant {
  const char* name;  ///< e.g. "sgemm_panels_f32__avx512".
  Isa isa;           ///< Tier the variant needs.
  SGemmPanelsFn fn;  ///< Entry point.
};

/// Every compiled variant, lowest tier first (including those this CPU cannot run).
std::span<const SGemmPanelsVariant> sgemm_panels_variants();

/// The best variant at or below `isa` that the CPU supports.
const SGemmPanelsVariant& sgemm_panels_select(Isa isa);

/// The variant for active_isa(), chosen once.
const SGemmPanelsVariant& sgemm_panels_active();

}  // namespace mq::kernels
