// Executor of a compiled plan's fused steps: FusedElementwise (engine/plan/fuse_elementwise.cpp
// builds them).
#include <algorithm>
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
  /// A program of one u8 / i8 operand whose other operands are constants is, per element, a
  /// function of that operand's 256 values and of the constants' values at the element: a
  /// table of 256 results for each of `channels` constant positions, computed once by the
  /// same kernel (so a lookup gives the same bits). The constants vary along a block of
  /// axes followed by `trailing` axes of size 1 in them: element i uses table
  /// (i / inner) % channels, inner the product of the output's last `trailing` dims.
  bool lookup = false;
  size_t var = 0;  // the u8 / i8 operand
  int64_t channels = 1;
  size_t trailing = 0;
  std::vector<uint8_t> table8;  // quantized output
  std::vector<float> table32;   // f32 output
  /// A program of two u8 / i8 operands (a residual Add and its activation, say) whose other
  /// operands are scalar constants, with a quantized output, is a function of the byte pair:
  /// one table of 65536 results (256·a + b), computed once by the same kernel.
  bool pair = false;
  size_t var_b = 0;  // the second operand (var is the first)
  std::vector<uint8_t> table_pair;
};

k::FusedType type_of(DType t) {
  k::FusedType r = k::FusedType::f32;
  fused_type(t, r);
  return r;
}

/// The tables' channel layout when every operand but `var` is a constant and the
/// constants share one shape [1.., d1..dk, 1..] (d > 1): channels = d1·…·dk. False when the
/// program is not a per-channel function of one byte (or the table would be too large).
bool table_layout(const Node& n, FusedState& s) {
  std::vector<int64_t> shape;  // the constants' common shape, leading 1s removed
  bool any = false;
  for (size_t i = 0; i < n.inputs().size(); ++i) {
    if (i == s.var) continue;
    const Value* v = n.input(i);
    k::FusedType t;
    if (!v || !v->is_constant() || !fused_type(v->constant()->dtype(), t)) return false;
    std::vector<int64_t> d = v->constant()->dims();
    while (!d.empty() && d.front() == 1) d.erase(d.begin());
    if (d.empty()) continue;  // a scalar: the same in every table
    if (any && d != shape) return false;
    shape = d;
    any = true;
  }
  size_t trailing = 0;
  while (trailing < shape.size() && shape[shape.size() - 1 - trailing] == 1) ++trailing;
  int64_t channels = 1;
  for (size_t i = 0; i + trailing < shape.size(); ++i) {
    if (shape[i] == 1) return false;  // an axis inside the block that broadcasts
    channels *= shape[i];
  }
  const int64_t limit = n.output(0)->dtype() == DType::f32 ? 1024 : 4096;  // ≤ 1 MiB of tables
  if (channels > limit) return false;
  s.channels = channels;
  s.trailing = trailing;
  return true;
}

void build_tables(const Node& n, FusedState& s) {
  uint8_t bytes[256];
  for (int b = 0; b < 256; ++b) bytes[b] = uint8_t(b);
  const size_t num = n.inputs().size();
  std::vector<k::FusedOperand> ops(num);
  for (size_t i = 0; i < num; ++i)  // constants: one element per table, broadcast (stride 0)
    ops[i] = {i == s.var ? static_cast<const void*>(bytes) : n.input(i)->constant()->raw(), i == s.var ? 1 : 0,
              type_of(n.input(i)->dtype())};
  std::vector<float> scratch((s.program.size() + 1) * size_t(k::kFusedBlock));
  const DType out = n.output(0)->dtype();
  if (out == DType::f32) s.table32.resize(size_t(s.channels) * 256);
  else s.table8.resize(size_t(s.channels) * 256);
  for (int64_t c = 0; c < s.channels; ++c) {
    for (size_t i = 0; i < num; ++i) {
      if (i == s.var) continue;
      const Tensor& t = *n.input(i)->constant();
      ops[i].ptr = static_cast<const char*>(t.raw()) + (t.numel() > 1 ? c : 0) * int64_t(dtype_size(t.dtype()));
    }
    k::FusedOutput y;
    y.type = type_of(out);
    y.q = s.out_q;
    y.ptr = out == DType::f32 ? static_cast<void*>(s.table32.data() + c * 256)
                              : static_cast<void*>(s.table8.data() + c * 256);
    k::fused_elementwise(s.program.data(), int32_t(s.program.size()), ops.data(), int32_t(num), y, 256,
                         scratch.data());
  }
  s.lookup = true;
}

/// The pair table when every operand but `var` and `var_b` is a scalar constant.
void build_pair_table(const Node& n, FusedState& s) {
  const size_t num = n.inputs().size();
  for (size_t i = 0; i < num; ++i) {
    if (i == s.var || i == s.var_b) continue;
    const Value* v = n.input(i);
    k::FusedType t;
    if (!v || !v->is_constant() || v->constant()->numel() != 1 || !fused_type(v->constant()->dtype(), t)) return;
  }
  uint8_t bytes[256];
  for (int b = 0; b < 256; ++b) bytes[b] = uint8_t(b);
  std::vector<k::FusedOperand> ops(num);
  for (size_t i = 0; i < num; ++i)
    if (i != s.var && i != s.var_b) ops[i] = {n.input(i)->constant()->raw(), 0, type_of(n.input(i)->dtype())};
  ops[s.var_b] = {bytes, 1, type_of(n.input(s.var_b)->dtype())};
  std::vector<float> scratch((s.program.size() + 1) * size_t(k::kFusedBlock));
  s.table_pair.resize(size_t(k::kPairTableSize));
  for (int a = 0; a < 256; ++a) {  // row a: operand var is a, operand var_b runs over 0..255
    ops[s.var] = {bytes + a, 0, type_of(n.input(s.var)->dtype())};
    k::FusedOutput y;
    y.type = type_of(n.output(0)->dtype());
    y.q = s.out_q;
    y.ptr = s.table_pair.data() + a * 256;
    k::fused_elementwise(s.program.data(), int32_t(s.program.size()), ops.data(), int32_t(num), y, 256,
                         scratch.data());
  }
  s.pair = true;
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
  // the one operand that is not a constant, when it is u8 / i8 (or the two)
  size_t vars = 0;
  for (size_t i = 0; i < n.inputs().size(); ++i)
    if (n.input(i) && !n.input(i)->is_constant()) {
      if (vars == 1) s->var_b = i;
      else s->var = i;
      ++vars;
    }
  const DType in = vars == 1 ? n.input(s->var)->dtype() : DType::f32;
  if ((in == DType::u8 || in == DType::i8 || in == DType::boolean) && table_layout(n, *s)) build_tables(n, *s);
  auto int8 = [](DType t) { return t == DType::u8 || t == DType::i8; };
  if (vars == 2 && int8(n.input(s->var)->dtype()) && int8(n.input(s->var_b)->dtype()) &&
      int8(n.output(0)->dtype()))
    build_pair_table(n, *s);
  return s;
}

/// y[i] = table[(i / inner) % channels][x[i]] over elements [b, e).
template <class T>
void lookup_channels(const uint8_t* x, T* y, int64_t b, int64_t e, const T* tables, int64_t channels,
                     int64_t inner) {
  if (inner == 1) {
    int64_t c = b % channels;
    for (int64_t i = b; i < e; ++i) {
      y[i] = tables[c * 256 + x[i]];
      if (++c == channels) c = 0;
    }
    return;
  }
  for (int64_t i = b; i < e;) {
    const int64_t block = i / inner, end = std::min(e, (block + 1) * inner);
    const T* t = tables + (block % channels) * 256;
    if constexpr (sizeof(T) == 1) {
      k::lookup_u8(x + i, y + i, end - i, t);
    } else {
      for (int64_t j = i; j < end; ++j) y[j] = t[x[j]];
    }
    i = end;
  }
}

/// False when the run's operands do not have the shapes the tables assume (then the program
/// runs element by element).
bool run_lookup(ExecContext& ctx, const FusedState& s) {
  const Tensor& x = ctx.in(s.var);
  Tensor& y = ctx.out(0);
  if (x.dtype() != ctx.node.input(s.var)->dtype() || x.dims() != y.dims()) return false;
  int64_t inner = 1;
  if (s.trailing > y.rank()) return false;
  for (size_t i = y.rank() - s.trailing; i < y.rank(); ++i) inner *= y.dim(i);
  const auto* px = static_cast<const uint8_t*>(x.raw());
  if (!s.table8.empty()) {
    auto* py = static_cast<uint8_t*>(y.raw());
    const uint8_t* t = s.table8.data();
    parallel_elements(ctx, x.numel(), [&](int64_t b, int64_t e) {
      if (s.channels == 1) k::lookup_u8(px + b, py + b, e - b, t);
      else lookup_channels(px, py, b, e, t, s.channels, inner);
    });
  } else {
    float* py = y.data<float>();
    const float* t = s.table32.data();
    parallel_elements(ctx, x.numel(),
                      [&](int64_t b, int64_t e) { lookup_channels(px, py, b, e, t, s.channels, inner); });
  }
  return true;
}

/// False when the operands do not both have the output's shape (then the program runs
/// element by element, broadcasting).
bool run_pair_lookup(ExecContext& ctx, const FusedState& s) {
  const Tensor& a = ctx.in(s.var);
  const Tensor& b = ctx.in(s.var_b);
  Tensor& y = ctx.out(0);
  if (a.dtype() != ctx.node.input(s.var)->dtype() || b.dtype() != ctx.node.input(s.var_b)->dtype() ||
      y.dtype() != ctx.node.output(0)->dtype() || a.dims() != y.dims() || b.dims() != y.dims())
    return false;
  const auto* pa = static_cast<const uint8_t*>(a.raw());
  const auto* pb = static_cast<const uint8_t*>(b.raw());
  auto* py = static_cast<uint8_t*>(y.raw());
  const uint8_t* t = s.table_pair.data();
  parallel_elements(ctx, y.numel(),
                    [&](int64_t i, int64_t e) { k::lookup_pair_u8(pa + i, pb + i, py + i, e - i, t); });
  return true;
}

void run_fused(ExecContext& ctx) {
  const auto* state = static_cast<const FusedState*>(ctx.state);
  if (state->lookup && run_lookup(ctx, *state)) return;
  if (state->pair && run_pair_lookup(ctx, *state)) return;
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
  if (y.dtype() == DType::boolean || !fused_type(y.dtype(), out.type))
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

bool fused_byte_table(const Node& n, std::vector<uint8_t>& table) {
  if (n.op() != OpKind::FusedElementwise || !n.output(0) || n.output(0)->dtype() == DType::f32) return false;
  const auto s = std::static_pointer_cast<FusedState>(prepare_fused(n));
  if (!s->lookup || s->channels != 1 || s->table8.size() != 256) return false;
  table = s->table8;
  return true;
}

void register_fused_exec() { set_executor(OpKind::FusedElementwise, {run_fused, prepare_fused}); }

}  // namespace mq::ops
