// QDQ models — DequantizeLinear → Conv / Gemm / MatMul → QuantizeLinear, as ONNX Runtime's
// quantize_static, NNCF or PyTorch's exporter write them — run on the int8 kernels: each such
// group becomes a QConv2d or QLinear (a MatMul of two activations: QLinearMatMul) with the
// file's own scales and zero points, and ops that
// only move values (Concat, Slice, MaxPool, Resize nearest, Reshape, ...) between
// DequantizeLinear and QuantizeLinear run on the int8 values (per-tensor activations u8 or s8,
// symmetric s8 weights per tensor or per output channel, int32 or float bias, an optional
// Relu before the QuantizeLinear). What does not match stays as it is (exact float Q/DQ).
#include <cmath>
#include <unordered_set>

#include "ir/quant_operands.h"
#include "engine/passes/passes.h"
#include "ir/infer.h"

namespace mq::passes {

namespace {

using Removed = std::unordered_set<const Node*>;

bool scalar_f32(const Value* v, float& out) {
  if (!v || !v->is_constant() || v->dtype() != DType::f32 || v->constant()->numel() != 1) return false;
  out = v->constant()->data<float>()[0];
  return std::isfinite(out) && out > 0.f;
}

/// A per-tensor QuantizeLinear / DequantizeLinear on u8 / s8: its scale, zero point and type.
bool per_tensor(const Node* n, QuantParams& q) {
  if (!n || n->inputs().size() > 3) return false;
  const Value* data = n->op() == OpKind::DequantizeLinear ? n->input(0) : n->output(0);
  if (!data || (data->dtype() != DType::u8 && data->dtype() != DType::i8)) return false;
  float s = 0.f;
  if (!scalar_f32(n->input(1), s)) return false;
  int32_t zp = 0;
  if (const Value* z = n->input(2)) {
    if (!z->is_constant() || z->dtype() != data->dtype() || z->constant()->numel() != 1) return false;
    zp = int32_t(z->constant()->to_int64()[0]);
  }
  q = QuantParams{{s}, {zp}, std::nullopt, data->dtype()};
  return true;
}

/// The int8 weight behind a DequantizeLinear of a constant symmetric 8-bit tensor — s8 with
/// zero points 0, or u8 with zero points 128 (as monoquant's own QDQ export writes them for
/// ONNX Runtime's u8 kernels; the same values shifted) — per tensor, or per output channel
/// (axis 0).
bool int8_weight(const Node* dq, Tensor& w, int64_t channel_axis = 0) {
  if (!dq || dq->op() != OpKind::DequantizeLinear) return false;
  const Value* x = dq->input(0);
  const Value* s = dq->input(1);
  if (!x || !x->is_constant() || (x->dtype() != DType::i8 && x->dtype() != DType::u8) || x->constant()->rank() < 1)
    return false;
  const int64_t symmetric_zp = x->dtype() == DType::u8 ? 128 : 0;
  if (!s || !s->is_constant() || s->dtype() != DType::f32) return false;
  if (channel_axis >= int64_t(x->constant()->rank())) return false;
  const int64_t channels = x->constant()->dim(size_t(channel_axis));
  const int64_t n = s->constant()->numel();
  int64_t axis = dq->attrs().get_int_or("axis", 1);
  if (axis < 0) axis += int64_t(x->constant()->rank());
  if (n != 1 && (n != channels || s->constant()->rank() != 1 || axis != channel_axis)) return false;
  QuantParams q;
  q.scales = s->constant()->to_float();
  for (float v : q.scales)
    if (!(std::isfinite(v) && v > 0.f)) return false;
  if (const Value* z = dq->input(2)) {
    if (!z->is_constant() || z->dtype() != x->dtype() || z->constant()->numel() != n) return false;
    for (int64_t v : z->constant()->to_int64())
      if (v != symmetric_zp) return false;
  } else if (symmetric_zp != 0) {
    return false;
  }
  q.zero_points.assign(q.scales.size(), 0);
  if (n != 1) q.axis = channel_axis;
  q.qtype = DType::i8;
  if (x->dtype() == DType::i8) {
    w = *x->constant();
  } else {
    w = Tensor(DType::i8, x->constant()->dims());
    const uint8_t* src = x->constant()->data<uint8_t>();
    int8_t* dst = w.data<int8_t>();
    for (int64_t i = 0; i < w.numel(); ++i) dst[i] = int8_t(int(src[i]) - 128);
  }
  w.set_quant(q);
  return true;
}

/// The bias in units of x_scale · w_scale[c]: the file's int32 values when they are in those
/// units already, else the float bias rounded to them. False when it is not a constant.
bool int32_bias(const Value* b, float sx, const std::vector<float>& sw, int64_t channels, Tensor& out) {
  std::vector<double> real(static_cast<size_t>(channels), 0.0);
  const Node* dq = b->producer();
  if (dq && dq->op() == OpKind::DequantizeLinear && dq->input(0)->is_constant() &&
      dq->input(0)->dtype() == DType::i32 && dq->input(1)->is_constant()) {
    const auto q = dq->input(0)->constant()->to_int64();
    const auto s = dq->input(1)->constant()->to_float();
    if (int64_t(q.size()) != channels || (s.size() != 1 && int64_t(s.size()) != channels)) return false;
    bool same_units = true;
    for (int64_t c = 0; c < channels; ++c) {
      const double want = double(sx) * double(sw[size_t(sw.size() == 1 ? 0 : c)]);
      const double have = s[size_t(s.size() == 1 ? 0 : c)];
      same_units = same_units && std::fabs(have - want) <= 1e-6 * want;
      real[size_t(c)] = double(q[size_t(c)]) * have;
    }
    if (same_units) {
      out = *dq->input(0)->constant();
      out.set_quant(std::nullopt);
      return true;
    }
  } else if (b->is_constant() && b->dtype() == DType::f32 && b->constant()->numel() == channels) {
    const auto f = b->constant()->to_float();
    for (int64_t c = 0; c < channels; ++c) real[size_t(c)] = f[size_t(c)];
  } else {
    return false;
  }
  std::vector<int32_t> q(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const double unit = double(sx) * double(sw[size_t(sw.size() == 1 ? 0 : c)]);
    q[size_t(c)] = int32_t(std::clamp(std::nearbyint(real[size_t(c)] / unit), -2147483648.0, 2147483647.0));
  }
  out = Tensor::from_vector<int32_t>({channels}, q);
  return true;
}

Value* scalar_constant(Graph& g, const std::string& name, const QuantParams& q, bool zero_point) {
  if (!zero_point) return g.add_constant(g.unique_name(name + "_scale"), scale_scalar(q));
  return g.add_constant(g.unique_name(name + "_zero_point"), zero_point_scalar(q));
}

/// Inserts the int8 layer `op`(xq, w, bias?, y_scale, y_zero_point) in place of `n`: it takes
/// over `result` (the value the fused group produced: its QuantizeLinear's output), then the
/// group's nodes (`n` last) are removed and the layer takes n's name.
void replace_by_layer(Graph& g, Removed& removed, Node* n, OpKind op, Value* xq, const Tensor& w,
                      const Tensor* bias, const QuantParams& qy, Attributes attrs, Value* result,
                      std::vector<Node*> group) {
  const std::string name = n->name();
  Value* wv = g.add_constant(g.unique_name(name + "_weight_int8"), w);
  Value* bv = bias ? g.add_constant(g.unique_name(name + "_bias_int32"), *bias) : nullptr;
  Node* fused = g.insert_node(
      n, op,
      {.name = g.unique_name(name + "_int8"),
       .inputs = {xq, wv, bv, scalar_constant(g, name, qy, false), scalar_constant(g, name, qy, true)},
       .attrs = std::move(attrs)});
  fused->output(0)->set_quant(qy);
  const std::string out_name = result->name();
  g.replace_all_uses(result, fused->output(0));
  group.push_back(n);
  for (Node* m : group)
    if (m) {
      removed.insert(m);
      g.remove_node(m);
    }
  g.rename_node(fused, name);
  g.rename_value(fused->output(0), out_name);
}

/// Conv2d `n` as QConv2d when its operands and result are QDQ; false when they are not.
bool fuse_conv(Graph& g, Removed& removed, Node* n) {
  QuantParams qx, qy;
  Node* dqx = n->input(0) ? n->input(0)->producer() : nullptr;
  if (!dqx || dqx->op() != OpKind::DequantizeLinear || !per_tensor(dqx, qx)) return false;
  Value* xq = dqx->input(0);
  if (!xq->shape().has_rank() || xq->shape().rank() != 4) return false;
  if (xq->type().quant && *xq->type().quant != qx) return false;
  Tensor w;
  if (!n->input(1) || !int8_weight(n->input(1)->producer(), w)) return false;
  // the result: read by one QuantizeLinear, maybe through a Relu
  Value* y = n->output(0);
  if (g.is_output(y) || y->users().size() != 1) return false;
  Node* relu = y->users()[0]->op() == OpKind::Relu ? y->users()[0] : nullptr;
  Value* last = relu ? relu->output(0) : y;
  if (relu && (g.is_output(last) || last->users().size() != 1)) return false;
  Node* qn = last->users().empty() ? nullptr : last->users()[0];
  if (!qn || qn->op() != OpKind::QuantizeLinear || qn->input(0) != last || !per_tensor(qn, qy)) return false;
  const int64_t channels = w.dim(0);
  std::vector<float> sw = w.quant()->scales;
  Tensor bias;
  if (n->input(2) && !int32_bias(n->input(2), qx.scales[0], sw, channels, bias)) return false;

  if (!xq->type().quant) xq->set_quant(qx);
  Attributes attrs = n->attrs();
  if (relu) attrs.set("activation", std::string("relu"));
  replace_by_layer(g, removed, n, OpKind::QConv2d, xq, w, n->input(2) ? &bias : nullptr, qy, attrs, qn->output(0),
                   {qn, relu});
  return true;
}

/// [K,N] int8 (channels on axis 1) → [N,K] (channels on axis 0), as Linear keeps weights.
Tensor transpose_weight(const Tensor& w) {
  const int64_t k = w.dim(0), n = w.dim(1);
  Tensor t(DType::i8, {n, k});
  const int8_t* src = w.data<int8_t>();
  int8_t* dst = t.data<int8_t>();
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) dst[j * k + i] = src[i * n + j];
  QuantParams q = *w.quant();
  if (q.axis) q.axis = 0;
  t.set_quant(q);
  return t;
}

/// The QuantizeLinear reading `y` (maybe through a Relu), or null; `relu` gets the Relu.
Node* output_quantize(const Graph& g, Value* y, Node*& relu, QuantParams& qy) {
  relu = nullptr;
  if (g.is_output(y) || y->users().size() != 1) return nullptr;
  relu = y->users()[0]->op() == OpKind::Relu ? y->users()[0] : nullptr;
  Value* last = relu ? relu->output(0) : y;
  if (relu && (g.is_output(last) || last->users().size() != 1)) return nullptr;
  Node* qn = last->users().empty() ? nullptr : last->users()[0];
  if (!qn || qn->op() != OpKind::QuantizeLinear || qn->input(0) != last || !per_tensor(qn, qy)) return nullptr;
  return qn;
}

/// Gemm (alpha 1, no transA, bias C [N]) or MatMul (2-D int8 weight, then maybe an Add of a
/// bias [N]) of QDQ operands, quantized at its output, as QLinear.
bool fuse_linear(Graph& g, Removed& removed, Node* n) {
  const bool gemm = n->op() == OpKind::Gemm;
  if (gemm && (n->attrs().get_float_or("alpha", 1.f) != 1.f || n->attrs().get_int_or("transA", 0) != 0))
    return false;
  QuantParams qx, qy;
  Node* dqx = n->input(0) ? n->input(0)->producer() : nullptr;
  if (!dqx || dqx->op() != OpKind::DequantizeLinear || !per_tensor(dqx, qx)) return false;
  Value* xq = dqx->input(0);
  if (!xq->shape().has_rank() || xq->shape().rank() < (gemm ? 2u : 1u)) return false;
  if (xq->type().quant && *xq->type().quant != qx) return false;
  const bool trans_b = gemm && n->attrs().get_int_or("transB", 0) != 0;
  Node* dqw = n->input(1) ? n->input(1)->producer() : nullptr;
  if (!dqw || !dqw->input(0) || !dqw->input(0)->is_constant() || dqw->input(0)->constant()->rank() != 2)
    return false;
  Tensor w;
  if (!int8_weight(dqw, w, trans_b ? 0 : 1)) return false;
  if (!trans_b) w = transpose_weight(w);
  const int64_t channels = w.dim(0);
  // the bias: Gemm's C (beta 1), or a MatMul's one Add reader with a constant [N] operand
  Value* bias_value = nullptr;
  Node* add = nullptr;
  Value* y = n->output(0);
  if (gemm) {
    if (n->input(2)) {
      if (n->attrs().get_float_or("beta", 1.f) != 1.f) return false;
      bias_value = n->input(2);
    }
  } else if (!g.is_output(y) && y->users().size() == 1 && y->users()[0]->op() == OpKind::Add) {
    add = y->users()[0];
    Value* other = add->input(0) == y ? add->input(1) : add->input(0);
    const Node* p = other ? other->producer() : nullptr;
    const bool constant = other && (other->is_constant() ||
                                    (p && p->op() == OpKind::DequantizeLinear && p->input(0)->is_constant()));
    if (!constant || !other->shape().has_rank() || other->shape().rank() != 1) {
      add = nullptr;
    } else {
      bias_value = other;
      y = add->output(0);
    }
  }
  Node* relu = nullptr;
  Node* qn = output_quantize(g, y, relu, qy);
  if (!qn) return false;
  std::vector<float> sw = w.quant()->scales;
  Tensor bias;
  if (bias_value && !int32_bias(bias_value, qx.scales[0], sw, channels, bias)) return false;

  if (!xq->type().quant) xq->set_quant(qx);
  Attributes attrs;
  if (relu) attrs.set("activation", std::string("relu"));
  replace_by_layer(g, removed, n, OpKind::QLinear, xq, w, bias_value ? &bias : nullptr, qy, attrs, qn->output(0),
                   {qn, relu, add});
  return true;
}

/// MatMul of two QDQ activations (attention's Q·Kᵀ and attention·V, as ONNX Runtime's
/// quantize_static writes them), quantized at its output, as QLinearMatMul with the file's
/// scales and zero points: what the matmul quantization pattern makes.
bool fuse_activation_matmul(Graph& g, Removed& removed, Node* n) {
  QuantParams q[2], qy;
  Value* operand[2];
  for (size_t i = 0; i < 2; ++i) {
    Node* dq = n->input(i) ? n->input(i)->producer() : nullptr;
    if (!dq || dq->op() != OpKind::DequantizeLinear || !per_tensor(dq, q[i])) return false;
    operand[i] = dq->input(0);
    if (operand[i]->is_constant() || (operand[i]->type().quant && *operand[i]->type().quant != q[i])) return false;
  }
  Node* relu = nullptr;
  Node* qn = output_quantize(g, n->output(0), relu, qy);
  if (!qn || relu) return false;
  std::vector<Value*> ins;
  for (size_t i = 0; i < 2; ++i) {
    if (!operand[i]->type().quant) operand[i]->set_quant(q[i]);
    ins.insert(ins.end(), {operand[i], scalar_constant(g, n->name(), q[i], false),
                           scalar_constant(g, n->name(), q[i], true)});
  }
  ins.insert(ins.end(), {scalar_constant(g, n->name(), qy, false), scalar_constant(g, n->name(), qy, true)});
  const std::string name = n->name(), out_name = qn->output(0)->name();
  Node* fused =
      g.insert_node(n, OpKind::QLinearMatMul, {.name = g.unique_name(name + "_int8"), .inputs = std::move(ins)});
  g.replace_all_uses(qn->output(0), fused->output(0));
  for (Node* m : {qn, n}) {
    removed.insert(m);
    g.remove_node(m);
  }
  g.rename_node(fused, name);
  g.rename_value(fused->output(0), out_name);
  return true;
}

/// ONNX's QLinearConv (2-D, constant symmetric int8 weights, int32 bias) as QConv2d, which
/// runs on the int8 convolution kernels (QLinearConv's own executor is the scalar reference).
bool fuse_qlinear_conv(Graph& g, Removed& removed, Node* n) {
  Value* xq = n->input(0);
  if (!xq || (xq->dtype() != DType::u8 && xq->dtype() != DType::i8) || !xq->shape().has_rank() ||
      xq->shape().rank() != 4)
    return false;
  float xs = 0.f, ys = 0.f;
  if (!scalar_f32(n->input(1), xs) || !scalar_f32(n->input(6), ys)) return false;
  auto zero_point = [&](size_t i, DType t, int32_t& z) {
    const Value* v = n->input(i);
    if (!v) return z = 0, true;
    if (!v->is_constant() || v->dtype() != t || v->constant()->numel() != 1) return false;
    z = int32_t(v->constant()->to_int64()[0]);
    return true;
  };
  int32_t xz = 0, yz = 0;
  const DType yt = n->output(0)->dtype();
  if (!zero_point(2, xq->dtype(), xz) || !zero_point(7, yt, yz)) return false;
  // the weight: reuse the DequantizeLinear reading of int8_weight on a stand-in node
  const Value* w = n->input(3);
  const Value* ws = n->input(4);
  if (!w || !w->is_constant() || w->dtype() != DType::i8 || w->constant()->rank() != 4 || !ws ||
      !ws->is_constant())
    return false;
  const auto scales = ws->constant()->to_float();
  const int64_t channels = w->constant()->dim(0);
  if (scales.size() != 1 && int64_t(scales.size()) != channels) return false;
  for (float v : scales)
    if (!(std::isfinite(v) && v > 0.f)) return false;
  if (const Value* wz = n->input(5)) {
    if (!wz->is_constant()) return false;
    for (int64_t v : wz->constant()->to_int64())
      if (v != 0) return false;
  }
  Value* b = n->input(8);
  if (b && (!b->is_constant() || b->dtype() != DType::i32 || b->constant()->numel() != channels)) return false;
  QuantParams wq;
  wq.scales = scales;
  wq.zero_points.assign(scales.size(), 0);
  if (scales.size() != 1) wq.axis = 0;
  wq.qtype = DType::i8;
  Tensor wt = *w->constant();
  wt.set_quant(wq);
  const QuantParams qx{{xs}, {xz}, std::nullopt, xq->dtype()};
  if (xq->type().quant && *xq->type().quant != qx) return false;
  if (!xq->type().quant) xq->set_quant(qx);
  const QuantParams qy{{ys}, {yz}, std::nullopt, yt};
  Attributes attrs;
  for (const char* k : {"group", "auto_pad", "strides", "pads", "dilations", "kernel_shape"})
    if (n->attrs().has(k)) attrs.set(k, n->attrs().all().at(k));
  Tensor bt;
  if (b) {
    bt = *b->constant();
    bt.set_quant(std::nullopt);
  }
  replace_by_layer(g, removed, n, OpKind::QConv2d, xq, wt, b ? &bt : nullptr, qy, attrs, n->output(0), {});
  return true;
}

/// An op of ir's moves_values with one output (MaxPool's Indices unread), or an average of
/// values (ir's averages_values: AveragePool, GlobalAveragePool, Resize linear), which runs on
/// int8 values when its input and output share their quantization.
bool moves_values_once(const Node* n) {
  if (averages_values(*n)) return n->outputs().size() == 1;
  if (!moves_values(*n)) return false;
  if (n->op() == OpKind::MaxPool)
    return n->outputs().size() == 1 || !n->output(1) || n->output(1)->users().empty();
  return n->outputs().size() == 1;
}

/// DequantizeLinear → data movement → QuantizeLinear: the op on the int8 values, exact (an
/// average: rounded once on the shared grid, as QuantizeLinear rounds the float average).
bool fuse_data_movement(Graph& g, Removed& removed, Node* n) {
  const bool concat = n->op() == OpKind::Concat;
  const size_t data_operands = concat ? n->inputs().size() : 1;
  Value* y = n->output(0);
  QuantParams qy;
  if (g.is_output(y) || y->users().size() != 1 || y->users()[0]->op() != OpKind::QuantizeLinear ||
      !per_tensor(y->users()[0], qy))
    return false;
  Node* qn = y->users()[0];
  std::vector<Value*> ins = n->inputs();
  for (size_t i = 0; i < data_operands; ++i) {
    Node* dq = ins[i] ? ins[i]->producer() : nullptr;
    QuantParams qx;
    if (!dq || dq->op() != OpKind::DequantizeLinear || !per_tensor(dq, qx) || qx.qtype != qy.qtype) return false;
    if (!concat && qx != qy) return false;
  }
  for (size_t i = data_operands; i < ins.size(); ++i)
    if (ins[i] && ins[i]->dtype() == DType::f32 && !ins[i]->is_constant()) return false;
  for (size_t i = 0; i < data_operands; ++i) {
    Node* dq = ins[i]->producer();
    QuantParams qx;
    per_tensor(dq, qx);
    if (qx == qy) {
      ins[i] = dq->input(0);
      if (!ins[i]->type().quant) ins[i]->set_quant(qx);
      continue;
    }
    // a Concat operand at another scale: requantized (the plan makes the pair one table)
    Node* rq = g.insert_node(
        n, OpKind::QuantizeLinear,
        {.name = g.unique_name(n->name() + "_requantize"), .inputs = {ins[i], qn->input(1), qn->input(2)}});
    rq->output(0)->set_quant(qy);
    ins[i] = rq->output(0);
  }
  Node* m =
      g.insert_node(n, n->op(), {.name = g.unique_name(n->name() + "_int8"), .inputs = ins, .attrs = n->attrs()});
  m->output(0)->set_quant(qy);
  const std::string out_name = qn->output(0)->name(), name = n->name();
  g.replace_all_uses(qn->output(0), m->output(0));
  for (Node* m : {qn, n}) {
    removed.insert(m);
    g.remove_node(m);
  }
  g.rename_node(m, name);
  g.rename_value(m->output(0), out_name);
  return true;
}

/// A Reshape or 2-D Transpose of a DequantizeLinear'd constant 8-bit weight (a MatMul weight
/// an exporter reshaped after quantizing) as a DequantizeLinear of the reshaped constant, so
/// the layer fusions find their weight; a per-channel axis follows its channels. False when
/// the channels do not map onto one axis, or the dequantized value has other readers.
bool shape_into_weight(Graph& g, Removed& removed, Node* r) {
  const bool transpose = r->op() == OpKind::Transpose;
  Node* dq = r->input(0) ? r->input(0)->producer() : nullptr;
  if (!dq || dq->op() != OpKind::DequantizeLinear || dq->output(0)->users().size() != 1) return false;
  const Value* x = dq->input(0);
  const Value* s = dq->input(1);
  if (!x || !x->is_constant() || (x->dtype() != DType::i8 && x->dtype() != DType::u8) || !s || !s->is_constant())
    return false;
  if (dq->input(2) && !dq->input(2)->is_constant()) return false;
  const Tensor& t = *x->constant();
  const Shape& out = r->output(0)->shape();
  if (!out.is_static() || t.rank() < 1) return false;
  const std::vector<int64_t> dims = out.values();
  const bool per_channel = s->constant()->numel() != 1;
  int64_t axis = dq->attrs().get_int_or("axis", 1);
  if (axis < 0) axis += int64_t(t.rank());
  if (per_channel && (axis < 0 || axis >= int64_t(t.rank()))) return false;
  int64_t new_axis = 0;
  Tensor moved;
  if (transpose) {  // 2-D [R, C] → [C, R] only
    const auto perm = r->attrs().get_ints_or("perm", {1, 0});
    if (t.rank() != 2 || perm != std::vector<int64_t>{1, 0}) return false;
    const int64_t rows = t.dim(0), cols = t.dim(1);
    moved = Tensor(t.dtype(), {cols, rows});
    const auto* src = static_cast<const uint8_t*>(t.raw());
    auto* dst = static_cast<uint8_t*>(moved.raw());
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) dst[j * rows + i] = src[i * cols + j];
    new_axis = 1 - axis;
  } else {
    if (r->op() != OpKind::Reshape) return false;
    moved = t.reshaped(dims);
    if (per_channel) {  // the axis with the same size and the same number of elements before it
      int64_t before = 1, target = 1;
      for (int64_t i = 0; i < axis; ++i) target *= t.dim(size_t(i));
      new_axis = -1;
      for (size_t i = 0; i < dims.size() && before <= target; before *= dims[i], ++i)
        if (before == target && dims[i] == t.dim(size_t(axis))) new_axis = int64_t(i);
      if (new_axis < 0) return false;
    }
  }
  Value* c = g.add_constant(g.unique_name(x->name() + "_reshaped"), moved);
  Attributes at;
  if (per_channel) at.set("axis", new_axis);
  Node* m = g.insert_node(
      r, OpKind::DequantizeLinear,
      {.name = g.unique_name(dq->name() + "_reshaped"), .inputs = {c, dq->input(1), dq->input(2)}, .attrs = at});
  const std::string name = r->output(0)->name();
  g.replace_all_uses(r->output(0), m->output(0));
  for (Node* o : {r, dq}) {
    removed.insert(o);
    g.remove_node(o);
  }
  g.rename_value(m->output(0), name);
  return true;
}

}  // namespace

int fuse_qdq(Graph& g) {
  int fused = 0;
  Removed removed;  // a fusion removes nodes after the one it starts from: not visited again
  for (Node* n : g.nodes())
    if ((n->op() == OpKind::Reshape || n->op() == OpKind::Transpose) && shape_into_weight(g, removed, n)) ++fused;
  for (Node* n : g.nodes()) {
    if (removed.count(n)) continue;
    if ((n->op() == OpKind::Conv2d && fuse_conv(g, removed, n)) ||
        ((n->op() == OpKind::Gemm || n->op() == OpKind::MatMul) && fuse_linear(g, removed, n)) ||
        (n->op() == OpKind::MatMul && fuse_activation_matmul(g, removed, n)) ||
        (moves_values_once(n) && fuse_data_movement(g, removed, n)) ||
        (n->op() == OpKind::QLinearConv && fuse_qlinear_conv(g, removed, n)))
      ++fused;
  }
  if (fused) g.remove_unused();
  return fused;
}

}  // namespace mq::passes
