#pragma once
// How a FusedElementwise node stores its program in attributes, in one place for the pass
// that writes it and the executor that reads it:
//   "program"        ints, 4 per instruction: kind, op, operand a, operand b
//   "program_floats" floats, 3 per instruction: immediate, params.alpha, params.beta
// Operand slots: 0 .. inputs-1 are the node's inputs, inputs + i is instruction i's result,
// -1 the instruction's immediate. The last instruction's result is the node's output, as f32
// or, with attribute "output_type" "u8" / "s8", quantized with "output_scale" and
// "output_zero_point". u8 / s8 operands are read only by dequantize instructions.
#include <vector>

#include "ir/graph.h"
#include "kernels/fp32/fused_elementwise.h"

namespace mq::ops {

/// Most instructions one FusedElementwise node may hold.
inline constexpr size_t kMaxFusedInstructions = 64;

/// Writes `program` into n's attributes.
void encode_fused_program(Node& n, const std::vector<kernels::FusedInstr>& program);
/// Reads and checks n's program (every kind, op and operand slot in range, operand types);
/// an error names the node and the instruction otherwise (the attributes may come from a file).
std::vector<kernels::FusedInstr> decode_fused_program(const Node& n);

/// The element type of a tensor of dtype `t` as the fused kernel reads it (f32, u8, i8).
bool fused_type(DType t, kernels::FusedType& out);

/// The 256 results of FusedElementwise node `n` for every byte of its one u8 / i8 operand,
/// when its other operands are scalar constants and its output is quantized (u8 / s8),
/// computed by the kernel its executor runs (the same bytes); false otherwise.
bool fused_byte_table(const Node& n, std::vector<uint8_t>& table);

}  // namespace mq::ops
