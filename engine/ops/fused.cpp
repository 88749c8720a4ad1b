// Executor of a compiled plan's fused steps: FusedElementwise (engine/plan/fuse_elementwise.cpp
// builds them).
#include <cmath>
#include <memory>
#include <vector>

#include "engine/executor.h"
#include "engine/ops/fused_program.h"
#include "engine/ops/parallel.h"
#include "kernels/fp32/fused_elementwise.h"
#include "kernels/int8/lookup.h"

namespace mq::ops {

namespace k = mq::kernels;

namespace {

struct FusedState {
  std::vector<k::FusedInstr> program;
  k::QuantAffine out_q;
  /// A program of one u8 / i8 operand is a function of its 256 values: the result for
  /// each byte, computed once by the same kernel (so a lookup gives the same bits).
  bool lookup = false;
  std::vector<uint8_t> table8;  // quantized output
  std::vector<float> table32;   // f32 output
};

k::FusedType type_of(DType t) {
  k::FusedType r = k::FusedType::f32;
  fused_type(t, r);
  return r;
}

void build_table(FusedState& s, DType in, DType out) {
  uint8_t bytes[256];
  for (int b = 0; b < 256; ++b) bytes[b] = uint8_t(b);
  const k::FusedOperand op{bytes, 1, type_of(in)};
  std::vector<float> scratch((s.program.size() + 1) * size_t(k::kFusedBlock));
  k::FusedOutput y;
  y.type = type_of(out);
  y.q = s.out_q;
  if (out == DType::f32) {
    s.table32.resize(256);
    y.ptr = s.table32.data();
  } else {
    s.table8.resize(256);
    y.ptr = s.table8.data();
  }
  k::fused_elementwise(s.program.data(), int32_t(s.program.size()), &op, 1, y, 256, scratch.data());
  s.lookup = true;
}

std::shared_ptr<void> prepare_fused(const Node& n) {
  auto s = std::make_shared<FusedState>();
  s->program = decode_fused_program(n);
  if (n.output(0)->dtype() != DType::f32) {
    s->out_q = {n.attrs().get_float_or("output_scale", 0.f),
                int32_t(n.attrs().get_int_or("output_zero_point", 0))};
    const int64_t lo = n.output(0)->dtype() == DType::u8 ? 0 : -128;
    if (!(s->out_q.scale > 0.f) || !std::isfinite(s->out_q.scale) || s->out_q.zero_point < lo ||
        s->out_q.zero_point > lo + 255)
      fail<InvalidArgument>(n.describe(), ": attributes 'output_scale' ", s->out_q.scale,
                            " and 'output_zero_point' ", s->out_q.zero_point, " are not a ",
                            dtype_name(n.output(0)->dtype()), " quantization");
  }
  const DType in = n.inputs().size() == 1 ? n.input(0)->dtype() : DType::f32;
  if (in == DType::u8 || in == DType::i8) build_table(*s, in, n.output(0)->dtype());
  return s;
}

void run_lookup(ExecContext& ctx, const FusedState& s) {
  const Tensor& x = ctx.in(0);
  const auto* px = static_cast<const uint8_t*>(x.raw());
  if (x.numel() != ctx.out(0).numel())
    fail<ShapeError>(ctx.node.describe(), ": output ", ctx.out(0).shape().str(), " does not match operand ",
                     x.shape().str());
  if (!s.table8.empty()) {
    auto* py = static_cast<uint8_t*>(ctx.out(0).raw());
    const uint8_t* t = s.table8.data();
    parallel_elements(ctx, x.numel(), [&](int64_t b, int64_t e) { k::lookup_u8(px + b, py + b, e - b, t); });
  } else {
    float* py = ctx.out(0).data<float>();
    const float* t = s.table32.data();
    parallel_elements(ctx, x.numel(), [&](int64_t b, int64_t e) {
      const uint8_t* in = px + b;
      float* out = py + b;
      const float* tab = t;
      for (int64_t i = 0, n = e - b; i < n; ++i) out[i] = tab[in[i]];
    });
  }
}

void run_fused(ExecContext& ctx) {
  const auto* state = static_cast<const FusedState*>(ctx.state);
  if (state->lookup && ctx.in(0).dtype() == ctx.node.input(0)->dtype()) return run_lookup(ctx, *state);
  const auto& prog = state->program;
  Tensor& y = ctx.out(0);
  const size_t num = ctx.inputs.size();
  const int64_t* dims[k::kMaxBroadcastOperands];
  size_t ranks[k::kMaxBroadcastOperands];
  const char* base[k::kMaxBroadcastOperands];
  k::FusedType types[k::kMaxBroadcastOperands];
  size_t sizes[k::kMaxBroadcastOperands];
  for (size_t i = 0; i < num; ++i) {
    const Tensor& t = ctx.in(i);
    if (!fused_type(t.dtype(), types[i]) || t.dtype() != ctx.node.input(i)->dtype())
      fail<InvalidArgument>(ctx.node.describe(), ": operand ", i, " is ", dtype_name(t.dtype()), ", expected ",
                            dtype_name(ctx.node.input(i)->dtype()));
    dims[i] = t.dims().data();
    ranks[i] = t.rank();
    base[i] = static_cast<const char*>(t.raw());
    sizes[i] = dtype_size(t.dtype());
  }
  k::FusedOutput out;
  if (!fused_type(y.dtype(), out.type))
    fail<InvalidArgument>(ctx.node.describe(), ": output type ", dtype_name(y.dtype()));
  out.q = state->out_q;
  const size_t out_size = dtype_size(y.dtype());
  k::BroadcastPlan plan;
  if (!k::make_broadcast_plan(y.dims().data(), y.rank(), dims, ranks, num, plan))
    fail<UnsupportedError>(ctx.node.describe(), ": cannot broadcast the operands to ", y.shape().str());
  char* py = static_cast<char*>(y.raw());
  const int32_t num_instr = int32_t(prog.size());
  parallel_plan(ctx, plan, [&](const k::BroadcastPlan& p, const int64_t* off) {
    // one block per instruction and one for the result, per thread (at most
    // (kMaxFusedInstructions + 1) × 1 KiB), kept between runs
    thread_local std::vector<float> scratch;
    const size_t need = size_t(num_instr + 1) * size_t(k::kFusedBlock);
    if (scratch.size() < need) scratch.resize(need);
    k::FusedOperand ops[k::kMaxBroadcastOperands];
    k::for_each_run(p, [&](const int64_t* o, int64_t at, int64_t n) {
      for (size_t i = 0; i < num; ++i)
        ops[i] = {base[i] + size_t(off[i] + o[i]) * sizes[i], p.inner_stride(i), types[i]};
      k::FusedOutput run_out = out;
      run_out.ptr = py + size_t(off[num] + at) * out_size;
      k::fused_elementwise(prog.data(), num_instr, ops, int32_t(num), run_out, n, scratch.data());
    });
  });
}

}  // namespace

void register_fused_exec() { set_executor(OpKind::FusedElementwise, {run_fused, prepare_fused}); }

}  // namespace mq::ops
