#pragma once
/// 256-entry table lookup over bytes: y[i] = table[x[i]]. How int8 activations (SiLU,
/// HardSwish, Sigmoid, requantization, ...) run on 8-bit inputs.
#include <cstdint>
#include <span>

#include "kernels/cpu_features.h"

namespace mq::kernels {

/// One implementation of lookup_u8 and the tier it needs.
struct LookupVariant {
  Isa isa;
  const char* name;
  void (*fn)(const uint8_t* x, uint8_t* y, int64_t n, const uint8_t* table);
};
/// The variants this CPU has (the AVX-512 one also needs AVX512-VBMI), lowest tier first.
std::span<const LookupVariant> lookup_variants();

/// y[i] = table[x[i]] for i < n (x and y may be the same buffer), by the variant the active
/// tier selects (MONOQUANT_ISA lowers it); every variant gives the same bytes.
void lookup_u8(const uint8_t* x, uint8_t* y, int64_t n, const uint8_t* table);
/// The same, always scalar (the reference the tests compare with).
void lookup_u8_scalar(const uint8_t* x, uint8_t* y, int64_t n, const uint8_t* table);

}  // namespace mq::kernels
