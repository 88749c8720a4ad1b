#pragma once
/// 256-entry table lookup over bytes: y[i] = table[x[i]]. How int8 activations (SiLU,
/// HardSwish, Sigmoid, requantization, ...) run on 8-bit inputs; and 65536-entry lookups
/// over pairs of bytes for functions of two int8 operands.
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

/// Entries of a table over byte pairs (lookup_pair_u8).
inline constexpr int64_t kPairTableSize = 256 * 256;

/// One implementation of lookup_pair_u8 and the tier it needs.
struct PairLookupVariant {
  Isa isa;
  const char* name;
  void (*fn)(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const uint8_t* table);
};
/// The variants this CPU has, lowest tier first.
std::span<const PairLookupVariant> pair_lookup_variants();

/// y[i] = table[256·a[i] + b[i]] for i < n (a function of two int8 operands, e.g. a
/// residual Add and its activation, as one 64 KiB table; y may be a or b), by the variant
/// the active tier selects; every variant gives the same bytes.
void lookup_pair_u8(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const uint8_t* table);
/// The same, always scalar (the reference the tests compare with).
void lookup_pair_u8_scalar(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const uint8_t* table);

}  // namespace mq::kernels
