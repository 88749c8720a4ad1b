#pragma once
/// The per-ISA function tables behind kernels/fp32/vmath.h and their variant list (internal).
#include <cstdint>
#include <span>

#include "kernels/cpu_features.h"

namespace mq::kernels {

struct VMathKernels {
  void (*exp)(const float*, float*, std::int64_t);
  void (*sigmoid)(const float*, float*, std::int64_t);
  void (*tanh)(const float*, float*, std::int64_t);
  void (*erf)(const float*, float*, std::int64_t);
  void (*gelu)(const float*, float*, std::int64_t);
  void (*silu)(const float*, float*, std::int64_t);
  void (*arith)(int, const float*, std::int64_t, const float*, std::int64_t, float*, std::int64_t);
};

const VMathKernels& vmath_kernels_sse2();
const VMathKernels& vmath_kernels_avx2();
const VMathKernels& vmath_kernels_avx512();

/// One compiled table of the vectorized float functions.
struct VMathVariant {
  const char* name;             ///< e.g. "vmath__avx512".
  Isa isa;                      ///< Tier it needs.
  const VMathKernels* kernels;  ///< The functions.
};

/// Every compiled variant, lowest tier first (the scalar tier runs the SSE2 table).
std::span<const VMathVariant> vmath_variants();

/// The best variant at or below `isa` that the CPU supports.
const VMathVariant& vmath_select(Isa isa);

}  // namespace mq::kernels
