// fp32 GEMM, the float baseline of the int8 kernels: C = A · Wᵀ (+ bias).
#pragma once

#include <cstddef>
#include <span>

#include "kernels/cpu_features.h"

namespace mq::kernels {

/// C[M×N] (row stride ldc) = A[M×K] (lda) · W[N×K]ᵀ (ldw) + bias[n] (optional);
/// accumulate adds into C. Rows [m0, m1) only, single-threaded. Runs oneDNN's JIT sgemm
/// (which picks its own ISA) unless the active variant is the scalar one or the product is a
/// small matrix-vector one (an RNN step); otherwise, or when oneDNN declines, the active
/// variant.
void sgemm(std::size_t m0, std::size_t m1, std::size_t n, std::size_t k, const float* a, std::size_t lda,
           const float* w, std::size_t ldw, const float* bias, float* c, std::size_t ldc, bool accumulate = false);

/// An sgemm kernel: the arguments and result of sgemm.
using SGemmFn = void (*)(std::size_t m0, std::size_t m1, std::size_t n, std::size_t k, const float* a,
                         std::size_t lda, const float* w, std::size_t ldw, const float* bias, float* c,
                         std::size_t ldc, bool accumulate);

/// One compiled sgemm variant.
struct SGemmVariant {
  const char* name;  ///< e.g. "sgemm_f32__avx512".
  Isa isa;           ///< Tier the variant needs.
  SGemmFn fn;        ///< Entry point.
};

/// Every compiled variant, lowest tier first (including those this CPU cannot run).
std::span<const SGemmVariant> sgemm_variants();

/// The best variant at or below `isa` that the CPU supports.
const SGemmVariant& sgemm_select(Isa isa);

/// The variant for active_isa(), chosen once.
const SGemmVariant& sgemm_active();

}  // namespace mq::kernels
