// Executors of QLSTM (static x / h ranges) and DynamicQLSTM on kernels::qlstm_sequence.

#include "engine/executor.h"
#include "engine/ops/call_scratch.h"
#include "engine/thread_pool.h"
#include "kernels/qgemm.h"
#include "kernels/qlstm.h"

namespace mq::ops {

namespace {

using namespace mq::kernels;

struct LstmState {
  int64_t dirs = 1, hidden = 0, input = 0;
  bool reverse_only = false;
  std::shared_ptr<Storage> packed_w, packed_r;
  size_t w_bytes = 0, r_bytes = 0;
  std::vector<float> w_scale, r_scale, bias;  // per direction blocks
  bool has_bias = false;
  bool static_ranges = false;  // x's range from calibration
  bool static_h = false;       // h's too
  QuantAffine xq, hq;
};

const Tensor& const_in(const Node& n, size_t i, const char* what) {
  Value* v = n.input(i);
  if (!v || !v->is_constant()) fail<InvalidArgument>(n.describe(), ": ", what, " must be a constant");
  return *v->constant();
}

std::vector<float> row_scales(const Node& n, const Tensor& t, const char* what) {
  if (!t.quant()) fail<InvalidArgument>(n.describe(), ": ", what, " has no quantization parameters");
  const auto& q = *t.quant();
  for (auto z : q.zero_points)
    if (z != 0) fail<UnsupportedError>(n.describe(), ": ", what, " must be symmetric");
  if (q.scales.size() == 1) return std::vector<float>(size_t(t.dim(0)), q.scales[0]);
  if (int64_t(q.scales.size()) != t.dim(0)) fail<ShapeError>(n.describe(), ": ", what, " scale count");
  return q.scales;
}

std::shared_ptr<void> prepare(const Node& n, bool is_static) {
  auto st = std::make_shared<LstmState>();
  const auto& a = n.attrs();
  std::string dir = a.get_string_or("direction", "forward");
  st->dirs = dir == "bidirectional" ? 2 : 1;
  st->reverse_only = dir == "reverse";
  st->hidden = a.get_int("hidden_size");
  if (st->hidden < 1) fail<ShapeError>(n.describe(), ": attribute 'hidden_size' must be >= 1");
  const Tensor& w = const_in(n, 1, "W");
  const Tensor& r = const_in(n, 2, "R");
  int64_t H = st->hidden, D = st->dirs;
  if (w.dtype() != DType::i8 || w.rank() != 2 || w.dim(0) != D * 4 * H)
    fail<ShapeError>(n.describe(), ": W must be i8 [", D * 4 * H, ", input]");
  if (r.dtype() != DType::i8 || r.rank() != 2 || r.dim(0) != D * 4 * H || r.dim(1) != H)
    fail<ShapeError>(n.describe(), ": R must be i8 [", D * 4 * H, ", ", H, "]");
  st->input = w.dim(1);
  st->w_scale = row_scales(n, w, "W");
  st->r_scale = row_scales(n, r, "R");
  st->w_bytes = (qgemm_packed_size(size_t(4 * H), size_t(st->input)) + 63) / 64 * 64;
  st->r_bytes = (qgemm_packed_size(size_t(4 * H), size_t(H)) + 63) / 64 * 64;
  st->packed_w = Storage::allocate(st->w_bytes * size_t(D));
  st->packed_r = Storage::allocate(st->r_bytes * size_t(D));
  for (int64_t d = 0; d < D; ++d) {
    qgemm_pack_b(w.data<int8_t>() + d * 4 * H * st->input, size_t(st->input), size_t(4 * H), size_t(st->input),
                 st->packed_w->data() + d * st->w_bytes);
    qgemm_pack_b(r.data<int8_t>() + d * 4 * H * H, size_t(H), size_t(4 * H), size_t(H),
                 st->packed_r->data() + d * st->r_bytes);
  }
  if (n.input(3)) {
    auto b = const_in(n, 3, "B").to_float();
    if (int64_t(b.size()) != D * 8 * H) fail<ShapeError>(n.describe(), ": B must have ", D * 8 * H, " values");
    st->bias.resize(size_t(D * 4 * H));
    for (int64_t d = 0; d < D; ++d)
      for (int64_t i = 0; i < 4 * H; ++i) st->bias[d * 4 * H + i] = b[d * 8 * H + i] + b[d * 8 * H + 4 * H + i];
    st->has_bias = true;
  }
  if (is_static) {
    st->static_ranges = true;
    st->xq = {a.get_float("x_scale"), int32_t(a.get_int("x_zero_point"))};
    st->static_h = a.has("h_scale");  // else h is quantized per step from its own range
    if (st->static_h) st->hq = {a.get_float("h_scale"), int32_t(a.get_int("h_zero_point"))};
  }
  return st;
}

void run(ExecContext& c) {
  auto& st = *static_cast<LstmState*>(c.state);
  const Tensor& x = c.in(0);
  int64_t layout = c.attrs().get_int_or("layout", 0);
  const bool x_u8 = x.dtype() == DType::u8 && st.static_ranges;  // quantized at x_scale / x_zero_point
  if ((x.dtype() != DType::f32 && !x_u8) || x.rank() != 3 || x.dim(2) != st.input)
    fail<ShapeError>(c.node.describe(), ": X must be f32 (or u8 at its static range) [T, B, ", st.input, "]");
  int64_t T = layout ? x.dim(1) : x.dim(0), B = layout ? x.dim(0) : x.dim(1), I = st.input, H = st.hidden,
          D = st.dirs;
  for (size_t i : {5, 6})
    if (c.has(i) && (c.in(i).dtype() != DType::f32 || c.in(i).numel() != D * B * H))
      fail<ShapeError>(c.node.describe(), ": initial_h and initial_c must be f32 with ", D * B * H, " values");
  const int64_t outs[3] = {T * D * B * H, D * B * H, D * B * H};
  for (size_t k = 0; k < c.outputs.size() && k < 3; ++k)
    if (c.out(k).numel() != outs[k]) fail<ShapeError>(c.node.describe(), ": output ", k, " has the wrong size");
  if (c.has(4)) {
    for (auto len : c.in(4).to_int64())
      if (len != T) fail<UnsupportedError>(c.node.describe(), ": sequence_lens shorter than the sequence");
  }
  const float* xf = x_u8 ? nullptr : x.data<float>();
  // each direction writes its slices of the outputs in place (ONNX layout 0: Y [T, D, B, H],
  // Y_h and Y_c [D, B, H]; layout 1: Y [B, T, D, H], Y_h and Y_c [B, D, H]; the initial states
  // as Y_h), so the two directions of a bidirectional LSTM run on two threads when the Session
  // has them (each direction's arithmetic is the same either way)
  auto out = [&](size_t k) { return k < c.outputs.size() ? c.out(k).data<float>() : nullptr; };
  float* y = out(0);
  float* yh = out(1);
  float* yc = out(2);
  QLstmParams p;
  p.seq_len = size_t(T);
  p.batch = size_t(B);
  p.input_size = size_t(I);
  p.hidden = size_t(H);
  p.batch_major = layout != 0;
  p.y_step_stride = size_t(layout ? D * H : D * B * H);
  p.y_batch_stride = size_t(layout ? T * D * H : H);
  p.state_batch_stride = size_t(layout ? D * H : H);
  if (st.static_ranges) {
    p.x_q = &st.xq;
    p.h_q = st.static_h ? &st.hq : nullptr;
    p.x_u8 = x_u8 ? x.data<uint8_t>() : nullptr;
  }
  const size_t need = (qlstm_scratch_size(p) + 63) / 64 * 64;
  // both directions quantize x alike (its range, or the static parameters): once, here
  const bool share_x = D > 1 && !p.x_u8;
  const size_t x_bytes = share_x ? size_t(T * B * I + 63) / 64 * 64 : 0;
  std::byte* scratch = call_scratch(0, need * size_t(D) + x_bytes);  // the directions' tasks share it
  QuantAffine xq;
  if (share_x) {
    auto* xu = reinterpret_cast<uint8_t*>(scratch + need * size_t(D));
    xq = qlstm_quantize_x(p, xf, xu);
    p.x_q = &xq;
    p.x_u8 = xu;
  }
  auto direction = [&](size_t task) {
    const int64_t d = int64_t(task);
    QLstmParams q = p;
    q.packed_w = st.packed_w->data() + d * st.w_bytes;
    q.packed_r = st.packed_r->data() + d * st.r_bytes;
    q.w_scale = st.w_scale.data() + d * 4 * H;
    q.r_scale = st.r_scale.data() + d * 4 * H;
    q.bias = st.has_bias ? st.bias.data() + d * 4 * H : nullptr;
    q.reverse = st.reverse_only || d == 1;
    const int64_t yo = layout ? d * H : d * B * H, so = layout ? d * H : d * B * H;
    const float* h0 = c.has(5) ? c.in(5).data<float>() + so : nullptr;
    const float* c0 = c.has(6) ? c.in(6).data<float>() + so : nullptr;
    qlstm_sequence(q, xf, h0, c0, y ? y + yo : nullptr, yh ? yh + so : nullptr, yc ? yc + so : nullptr,
                   scratch + size_t(d) * need);
  };
  if (D > 1 && c.pool && c.pool->size() > 1) c.pool->parallel_for(size_t(D), direction);
  else
    for (int64_t d = 0; d < D; ++d) direction(size_t(d));
}

}  // namespace

void register_qlstm_exec() {
  set_executor(OpKind::QLSTM, {run, [](const Node& n) { return prepare(n, true); }});
  set_executor(OpKind::DynamicQLSTM, {run, [](const Node& n) { return prepare(n, false); }});
}

}  // namespace mq::ops
