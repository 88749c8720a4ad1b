#pragma once
/// A chain (or small DAG) of fp32 elementwise ops evaluated in one pass: a short program of
/// instructions over L1-sized blocks, so intermediate values never travel to memory. Each
/// instruction computes exactly what the op's own kernel computes (the same float operations
/// and the same vectorized transcendental functions), so a fused chain gives the bits the
/// unfused ops give. Pure: no allocation, no errors.
#include <cstdint>

#include "kernels/fp32/activation.h"
#include "kernels/fp32/elementwise.h"
#include "kernels/quant.h"

namespace mq::kernels {

/// What one instruction computes.
enum class FusedKind : uint8_t {
  binary,      ///< y = binary(a, b), b may be the immediate
  unary,       ///< y = unary(a)
  activation,  ///< y = activation(a) with params
  relu,        ///< y = max(a, 0), NaN kept
  clip,        ///< y = min(max(a, lo), hi) with lo = params.alpha, hi = params.beta
  dequantize,  ///< y = (a − imm) · params.alpha, a an int8 input (u8 or s8)
  fake_quant,  ///< y = dequantize(quantize(a)) with scale params.alpha, zero point imm, op 0 u8 / 1 s8
};

/// Element type of an input or of the output: f32, or int8 with an affine quantization.
enum class FusedType : uint8_t { f32, u8, s8 };

/// Operand index meaning "the instruction's immediate scalar".
inline constexpr int32_t kFusedImmediate = -1;

/// One instruction. Operands index the program's slots: 0 .. inputs-1 are the external
/// inputs, inputs + i is instruction i's result.
struct FusedInstr {
  FusedKind kind = FusedKind::binary;
  uint8_t op = 0;           ///< BinaryOp, UnaryOp or Activation, by kind
  int32_t a = 0, b = 0;     ///< operand slots (b only for binary; either may be kFusedImmediate)
  float imm = 0.f;          ///< the immediate scalar operand
  ActivationParams params;  ///< activation / clip parameters
};

/// Elements per block (per instruction result kept in the scratch buffer).
inline constexpr int64_t kFusedBlock = 1024;

/// An external input over one run of output elements: element i at ptr[i * stride], stride
/// 0 or 1; u8 / s8 inputs are read only by dequantize instructions.
struct FusedOperand {
  const void* ptr = nullptr;
  int64_t stride = 1;
  FusedType type = FusedType::f32;
};

/// Where the last instruction's result goes: floats, or quantized to u8 / s8 with `q`
/// (the quantize kernel's rounding and saturation).
struct FusedOutput {
  void* ptr = nullptr;
  FusedType type = FusedType::f32;
  QuantAffine q;
};

/// Evaluates `num_instr` instructions over n output elements into y. `scratch` holds
/// (num_instr + 1) * kFusedBlock floats.
void fused_elementwise(const FusedInstr* prog, int32_t num_instr, const FusedOperand* inputs, int32_t num_inputs,
                       const FusedOutput& y, int64_t n, float* scratch);

}  // namespace mq::kernels
