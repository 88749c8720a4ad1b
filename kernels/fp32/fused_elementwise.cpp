#include "kernels/fp32/fused_elementwise.h"

#include "kernels/fp32/vmath.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace mq::kernels {

namespace {

/// One operand of an instruction over the current block: a pointer with stride 1, or a
/// scalar (stride 0 inputs and immediates).
struct Arg {
  const float* p = nullptr;
  float s = 0.f;
  bool scalar = false;
};

void binary_block(BinaryOp op, const Arg& a, const Arg& b, float* y, int64_t n) {
  const float* pa = a.scalar ? &a.s : a.p;
  const float* pb = b.scalar ? &b.s : b.p;
  const int64_t sa = a.scalar ? 0 : 1, sb = b.scalar ? 0 : 1;
  if (op == BinaryOp::pow) {  // std::pow, as kernels::binary<float>
    for (int64_t i = 0; i < n; ++i) y[i] = std::pow(pa[i * sa], pb[i * sb]);
    return;
  }
  arith_f32(arith_of(op), pa, sa, pb, sb, y, n);
}

}  // namespace

void fused_elementwise(const FusedInstr* prog, int32_t num_instr, const FusedOperand* inputs, int32_t num_inputs,
                       const FusedOutput& y, int64_t n, float* scratch) {
  const QuantKernels& qk = quant_active();
  float* last = scratch + int64_t(num_instr) * kFusedBlock;  // the result before quantization
  for (int64_t base = 0; base < n; base += kFusedBlock) {
    const int64_t len = std::min(kFusedBlock, n - base);
    auto arg = [&](int32_t slot, float imm) {
      Arg r;
      if (slot == kFusedImmediate) {
        r.scalar = true;
        r.s = imm;
      } else if (slot < num_inputs) {
        const FusedOperand& o = inputs[slot];
        const float* p = static_cast<const float*>(o.ptr);
        if (o.stride == 0) {
          r.scalar = true;
          r.s = p[0];
        } else {
          r.p = p + base;
        }
      } else {
        r.p = scratch + int64_t(slot - num_inputs) * kFusedBlock;
      }
      return r;
    };
    for (int32_t i = 0; i < num_instr; ++i) {
      const FusedInstr& in = prog[i];
      float* dst = i + 1 < num_instr          ? scratch + int64_t(i) * kFusedBlock
                   : y.type == FusedType::f32 ? static_cast<float*>(y.ptr) + base
                                              : last;
      if (in.kind == FusedKind::dequantize) {
        const FusedOperand& o = inputs[in.a];
        const QuantAffine q{in.params.alpha, int32_t(in.imm)};
        const int64_t off = o.stride ? base : 0, count = o.stride ? len : 1;
        if (o.type == FusedType::u8)
          qk.dequantize_u8(static_cast<const uint8_t*>(o.ptr) + off, size_t(count), q, dst);
        else qk.dequantize_s8(static_cast<const int8_t*>(o.ptr) + off, size_t(count), q, dst);
        if (!o.stride) std::fill(dst + 1, dst + len, dst[0]);
        continue;
      }
      const Arg a = arg(in.a, in.imm);
      if (in.kind == FusedKind::binary) {
        binary_block(BinaryOp(in.op), a, arg(in.b, in.imm), dst, len);
        continue;
      }
      const float* x = a.p;
      if (a.scalar) {  // a unary op of a broadcast scalar: evaluate it on the repeated value
        std::fill(dst, dst + len, a.s);
        x = dst;
      }
      if (in.kind == FusedKind::fake_quant) {  // a QuantizeLinear → DequantizeLinear pair, same values
        const QuantAffine q{in.params.alpha, int32_t(in.imm)};
        if (in.op == 0) qk.fake_quant(x, size_t(len), q, 0.f, 255.f, dst);
        else qk.fake_quant(x, size_t(len), q, -128.f, 127.f, dst);
        continue;
      }
      switch (in.kind) {
        case FusedKind::unary: unary<float>(UnaryOp(in.op), x, dst, len); break;
        case FusedKind::activation: activation_f32(Activation(in.op), in.params, x, dst, len); break;
        case FusedKind::relu: relu<float>(x, dst, len); break;
        case FusedKind::clip: clip<float>(x, dst, len, in.params.alpha, in.params.beta); break;
        case FusedKind::binary:
        case FusedKind::dequantize:
        case FusedKind::fake_quant: break;
      }
    }
    if (y.type == FusedType::u8) qk.quantize_u8(last, size_t(len), y.q, static_cast<uint8_t*>(y.ptr) + base);
    else if (y.type == FusedType::s8) qk.quantize_s8(last, size_t(len), y.q, static_cast<int8_t*>(y.ptr) + base);
  }
}

}  // namespace mq::kernels
