#pragma once
/// 256-entry table lookup over bytes: y[i] = table[x[i]]. How int8 activations (SiLU,
/// HardSwish, Sigmoid, requantization, ...) run on 8-bit inputs.
#include <cstdint>

namespace mq::kernels {

/// y[i] = table[x[i]] for i < n (x and y may be the same buffer). AVX512-VBMI when the CPU
/// has it and the active tier is AVX-512 (MONOQUANT_ISA lowers it), else scalar; same bytes.
void lookup_u8(const uint8_t* x, uint8_t* y, int64_t n, const uint8_t* table);
/// The same, always scalar (the reference the tests compare with).
void lookup_u8_scalar(const uint8_t* x, uint8_t* y, int64_t n, const uint8_t* table);

}  // namespace mq::kernels
