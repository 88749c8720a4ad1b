// Executor of a compiled plan's fused steps: FusedElementwise (engine/plan/fuse_elementwise.cpp
// builds them).
#include <memory>
#include <vector>

#include "engine/executor.h"
#include "engine/ops/fused_program.h"
#include "engine/ops/parallel.h"
#include "kernels/fp32/fused_elementwise.h"

namespace mq::ops {

namespace k = mq::kernels;

namespace {

struct FusedState {
  std::vector<k::FusedInstr> program;
};

std::shared_ptr<void> prepare_fused(const Node& n) {
  auto s = std::make_shared<FusedState>();
  s->program = decode_fused_program(n);
  return s;
}

void run_fused(ExecContext& ctx) {
  const auto& prog = static_cast<const FusedState*>(ctx.state)->program;
  Tensor& y = ctx.out(0);
  const size_t num = ctx.inputs.size();
  const int64_t* dims[k::kMaxBroadcastOperands];
  size_t ranks[k::kMaxBroadcastOperands];
  const float* base[k::kMaxBroadcastOperands];
  for (size_t i = 0; i < num; ++i) {
    const Tensor& t = ctx.in(i);
    dims[i] = t.dims().data();
    ranks[i] = t.rank();
    base[i] = t.data<float>();
  }
  k::BroadcastPlan plan;
  if (!k::make_broadcast_plan(y.dims().data(), y.rank(), dims, ranks, num, plan))
    fail<UnsupportedError>(ctx.node.describe(), ": cannot broadcast the operands to ", y.shape().str());
  float* py = y.data<float>();
  const int32_t num_instr = int32_t(prog.size());
  parallel_plan(ctx, plan, [&](const k::BroadcastPlan& p, const int64_t* off) {
    // one block per instruction, per thread (at most kMaxFusedInstructions × 1 KiB), kept
    // between runs
    thread_local std::vector<float> scratch;
    if (scratch.size() < size_t(num_instr) * size_t(k::kFusedBlock)) scratch.resize(size_t(num_instr) * size_t(k::kFusedBlock));
    k::FusedOperand ops[k::kMaxBroadcastOperands];
    k::for_each_run(p, [&](const int64_t* o, int64_t out, int64_t n) {
      for (size_t i = 0; i < num; ++i) ops[i] = {base[i] + off[i] + o[i], p.inner_stride(i)};
      k::fused_elementwise_f32(prog.data(), num_instr, ops, int32_t(num), py + off[num] + out, n, scratch.data());
    });
  });
}

}  // namespace

void register_fused_exec() { set_executor(OpKind::FusedElementwise, {run_fused, prepare_fused}); }

}  // namespace mq::ops
