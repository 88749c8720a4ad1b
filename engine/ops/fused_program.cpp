#include "engine/ops/fused_program.h"

#include <cmath>

#include "kernels/fp32/broadcast.h"

namespace mq::ops {

namespace k = mq::kernels;

void encode_fused_program(Node& n, const std::vector<k::FusedInstr>& program) {
  std::vector<int64_t> ints;
  std::vector<float> floats;
  for (const k::FusedInstr& in : program) {
    ints.insert(ints.end(), {int64_t(in.kind), int64_t(in.op), int64_t(in.a), int64_t(in.b)});
    floats.insert(floats.end(), {in.imm, in.params.alpha, in.params.beta});
  }
  n.attrs().set("program", ints);
  n.attrs().set("program_floats", floats);
}

std::vector<k::FusedInstr> decode_fused_program(const Node& n) {
  const std::vector<int64_t> ints = n.attrs().get_ints_or("program", {});
  const std::vector<float> floats = n.attrs().get_floats_or("program_floats", {});
  const size_t count = ints.size() / 4;
  if (count == 0 || ints.size() != count * 4 || floats.size() != count * 3 || count > kMaxFusedInstructions)
    fail<InvalidArgument>(n.describe(), ": attribute 'program' must hold 1 to ", kMaxFusedInstructions,
                          " instructions of 4 ints with 3 floats each in 'program_floats', got ", ints.size(),
                          " ints and ", floats.size(), " floats");
  const int64_t inputs = int64_t(n.inputs().size());
  if (inputs < 1 || size_t(inputs) > k::kMaxBroadcastOperands)
    fail<InvalidArgument>(n.describe(), ": takes 1 to ", k::kMaxBroadcastOperands, " operands, got ", inputs);
  for (int64_t i = 0; i < inputs; ++i)
    if (!n.input(size_t(i))) fail<InvalidArgument>(n.describe(), ": operand ", i, " is missing");
  std::vector<k::FusedInstr> prog(count);
  for (size_t i = 0; i < count; ++i) {
    const int64_t* w = &ints[4 * i];
    k::FusedInstr& in = prog[i];
    // the largest op code per kind
    const int64_t max_op[] = {
        int64_t(k::BinaryOp::min), int64_t(k::UnaryOp::cos), int64_t(k::Activation::gelu_tanh), 0, 0, 0, 1};
    if (w[0] < 0 || w[0] > int64_t(k::FusedKind::fake_quant) || w[1] < 0 || w[1] > max_op[w[0]])
      fail<InvalidArgument>(n.describe(), ": instruction ", i, " has kind ", w[0], " and op ", w[1],
                            ", which are not an elementwise operation");
    in.kind = k::FusedKind(w[0]);
    in.op = uint8_t(w[1]);
    const int64_t slots = inputs + int64_t(i);  // inputs and the results of earlier instructions
    const bool binary = in.kind == k::FusedKind::binary;
    for (int j = 0; j < 2; ++j) {
      const int64_t s = w[2 + j];
      if (j == 1 && !binary) continue;
      if (s < k::kFusedImmediate || s >= slots)
        fail<InvalidArgument>(n.describe(), ": instruction ", i, " reads slot ", s,
                              "; it may read -1 (immediate) to ", slots - 1);
    }
    // int8 operands are read by dequantize instructions only, and those read nothing else
    for (int j = 0; j < (binary ? 2 : 1); ++j) {
      const int64_t s = w[2 + j];
      const bool int8 = s >= 0 && s < inputs && n.input(size_t(s))->dtype() != DType::f32;
      const bool dq = in.kind == k::FusedKind::dequantize;
      const DType t = s >= 0 && s < inputs ? n.input(size_t(s))->dtype() : DType::f32;
      if (dq ? !(t == DType::u8 || t == DType::i8 || t == DType::boolean) : int8)
        fail<InvalidArgument>(n.describe(), ": instruction ", i, " reads slot ", s, ", which ",
                              dq ? "is not a u8, i8 or bool operand" : "is not f32");
    }
    in.a = int32_t(w[2]);
    in.b = binary ? int32_t(w[3]) : 0;
    in.imm = floats[3 * i];
    in.params = {floats[3 * i + 1], floats[3 * i + 2]};
    if (in.kind == k::FusedKind::fake_quant || in.kind == k::FusedKind::dequantize) {
      // dequantize: u8 or s8 by its operand; fake_quant: u8 (op 0) or s8 (op 1)
      const bool dq = in.kind == k::FusedKind::dequantize;
      const float lo = dq || in.op == 1 ? -128.f : 0.f, hi = dq ? 255.f : lo + 255.f;
      if (!(in.params.alpha > 0.f) || !std::isfinite(in.params.alpha) || !(in.imm >= lo && in.imm <= hi) ||
          in.imm != std::nearbyint(in.imm))
        fail<InvalidArgument>(n.describe(), ": instruction ", i, " has scale ", in.params.alpha,
                              " and zero point ", in.imm, ", which are not a quantization");
    }
  }
  return prog;
}

bool fused_type(DType t, k::FusedType& out) {
  switch (t) {
    case DType::f32: out = k::FusedType::f32; return true;
    case DType::u8: out = k::FusedType::u8; return true;
    case DType::i8: out = k::FusedType::s8; return true;
    case DType::boolean: out = k::FusedType::u8; return true;  // one byte, 0 or 1
    default: return false;
  }
}

}  // namespace mq::ops
