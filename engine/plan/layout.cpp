#include <algorithm>
#include <cstring>

#include "engine/plan/plan.h"

namespace mq::plan {

namespace {

using Perm = std::vector<int64_t>;
const Perm kToNhwc = {0, 2, 3, 1};
const Perm kToNchw = {0, 3, 1, 2};

bool is_transpose(const Node* n, const Perm& p) {
  return n && n->op() == OpKind::Transpose && n->attrs().get_ints_or("perm", {}) == p;
}

Value* transpose(Graph& g, Node* anchor, Value* x, const Perm& p, const std::string& hint) {
  Attributes a;
  a.set("perm", p);
  return g.insert_node(anchor, OpKind::Transpose, {.name = g.unique_name(hint), .inputs = {x}, .attrs = a})
      ->output(0);
}

/// Readers of `old` read `now` instead, and `now` (a value this pass made) takes old's name.
void replace(Graph& g, Value* old, Value* now) {
  const std::string name = old->name();
  g.replace_all_uses(old, now);
  g.rename_value(old, g.unique_name(name + "_nchw"));
  g.rename_value(now, name);
}

/// A constant of rank ≤ 4 read by a broadcasting op whose other operand is NCHW, stored so
/// that it broadcasts the same way against the NHWC operand: padded to rank 4, permuted.
Value* nhwc_constant(Graph& g, const Value* c) {
  const Tensor& t = *c->constant();
  std::vector<int64_t> d(4, 1);
  for (size_t i = 0; i < t.rank(); ++i) d[4 - t.rank() + i] = t.dim(i);
  Tensor out(t.dtype(), {d[0], d[2], d[3], d[1]});
  const size_t es = dtype_size(t.dtype());
  const auto* src = static_cast<const std::byte*>(t.raw());
  auto* dst = static_cast<std::byte*>(out.raw());
  for (int64_t n = 0; n < d[0]; ++n)
    for (int64_t h = 0; h < d[2]; ++h)
      for (int64_t w = 0; w < d[3]; ++w)
        for (int64_t ch = 0; ch < d[1]; ++ch)
          std::memcpy(dst + size_t(((n * d[2] + h) * d[3] + w) * d[1] + ch) * es,
                      src + size_t(((n * d[1] + ch) * d[2] + h) * d[3] + w) * es, es);
  return g.add_constant(g.unique_name(c->name() + "_nhwc"), std::move(out));
}

bool unary(OpKind op) {
  switch (op) {
    case OpKind::Relu:
    case OpKind::LeakyRelu:
    case OpKind::Sigmoid:
    case OpKind::HardSigmoid:
    case OpKind::HardSwish:
    case OpKind::Tanh:
    case OpKind::Erf:
    case OpKind::Elu:
    case OpKind::Selu:
    case OpKind::Gelu:
    case OpKind::Softplus:
    case OpKind::Sqrt:
    case OpKind::Exp:
    case OpKind::Log:
    case OpKind::Neg:
    case OpKind::Abs:
    case OpKind::Reciprocal:
    case OpKind::Floor:
    case OpKind::Ceil:
    case OpKind::Round:
    case OpKind::Sign:
    case OpKind::Sin:
    case OpKind::Cos:
    case OpKind::Not:
    case OpKind::Cast:
    case OpKind::Identity:
    case OpKind::Clip:
    case OpKind::QuantizeLinear:
    case OpKind::DequantizeLinear: return true;
    default: return false;
  }
}

bool binary(OpKind op) {
  switch (op) {
    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Mul:
    case OpKind::Div:
    case OpKind::Max:
    case OpKind::Min:
    case OpKind::Pow:
    case OpKind::PRelu:
    case OpKind::Sum:
    case OpKind::Mean:
    case OpKind::Equal:
    case OpKind::Less:
    case OpKind::Greater:
    case OpKind::Where: return true;
    default: return false;
  }
}

bool scalar_const(const Value* v) { return !v || (v->is_constant() && v->constant()->numel() == 1); }

/// The NHWC operands `u` would read if it ran on the sources of its NCHW Transposes, or
/// false when some operand does not allow it.
bool nhwc_operands(Graph& g, Node* u, std::vector<Value*>& ins) {
  ins.clear();
  const OpKind op = u->op();
  for (size_t i = 0; i < u->inputs().size(); ++i) {
    Value* v = u->input(i);
    Node* p = v ? v->producer() : nullptr;
    if (is_transpose(p, kToNchw)) {
      ins.push_back(p->input(0));
      continue;
    }
    // Clip's bounds, a per-tensor quantization's scale and zero point
    if ((op == OpKind::Clip || op == OpKind::QuantizeLinear || op == OpKind::DequantizeLinear) && i > 0 &&
        scalar_const(v)) {
      ins.push_back(v);
      continue;
    }
    if (op == OpKind::Concat || !binary(op) || !v || !v->is_constant() || v->constant()->rank() > 4) return false;
    ins.push_back(v->constant()->numel() == 1 ? v : nhwc_constant(g, v));
  }
  // at least one operand came through a Transpose, and every non-constant one did
  return std::any_of(u->inputs().begin(), u->inputs().end(),
                     [](Value* v) { return v && is_transpose(v->producer(), kToNchw); });
}

/// Runs `u` on NHWC operands when its result does not depend on the layout; its result is
/// transposed back for its readers (to meet the next Transpose and cancel).
bool sink_through(Graph& g, Node* u) {
  const OpKind op = u->op();
  if (u->outputs().size() != 1) return false;
  const Value* out = u->output(0);
  if (!out->shape().has_rank() || out->shape().rank() != 4) return false;
  Attributes attrs = u->attrs();
  std::vector<Value*> ins;
  if (unary(op) || binary(op)) {
    if (!nhwc_operands(g, u, ins)) return false;
    for (Value* v : ins)  // no operand may broadcast from a rank other than 4 unless it is a scalar
      if (v && !v->is_constant() && (!v->shape().has_rank() || v->shape().rank() != 4)) return false;
  } else if (op == OpKind::Concat) {
    for (Value* v : u->inputs()) {
      Node* p = v ? v->producer() : nullptr;
      if (!is_transpose(p, kToNchw)) return false;
      ins.push_back(p->input(0));
    }
    int64_t axis = attrs.get_int("axis");
    if (axis < 0) axis += 4;
    attrs.set("axis", kToNchw[size_t(axis)]);
  } else if (op == OpKind::MaxPool || op == OpKind::AveragePool) {
    Node* p = u->input(0) ? u->input(0)->producer() : nullptr;
    const bool int8 = out->dtype() == DType::u8 || out->dtype() == DType::i8;  // int8 kernels for both
    if (!is_transpose(p, kToNchw) || u->outputs().size() != 1 || (out->dtype() != DType::f32 && !int8) ||
        attrs.get_ints_or("kernel_shape", {}).size() != 2)
      return false;
    ins = {p->input(0)};
    attrs.set("layout", std::string("NHWC"));
  } else if (op == OpKind::GlobalAveragePool || op == OpKind::GlobalMaxPool) {
    Node* p = u->input(0) ? u->input(0)->producer() : nullptr;
    const bool int8_avg =
        op == OpKind::GlobalAveragePool && (out->dtype() == DType::u8 || out->dtype() == DType::i8);
    if (!is_transpose(p, kToNchw) || (out->dtype() != DType::f32 && !int8_avg)) return false;
    ins = {p->input(0)};
    attrs.set("layout", std::string("NHWC"));
  } else if (op == OpKind::Slice) {
    Node* p = u->input(0) ? u->input(0)->producer() : nullptr;
    if (!is_transpose(p, kToNchw)) return false;
    ins = u->inputs();
    ins[0] = p->input(0);
    std::vector<int64_t> axes;
    if (Value* a = u->input(3)) {
      if (!a->is_constant()) return false;
      axes = a->constant()->to_int64();
    } else {
      Value* starts = u->input(1);
      if (!starts || !starts->is_constant()) return false;
      for (int64_t i = 0; i < starts->constant()->numel(); ++i) axes.push_back(i);
    }
    for (int64_t& a : axes) {
      if (a < -4 || a > 3) return false;
      a = kToNchw[size_t(a < 0 ? a + 4 : a)];
    }
    ins.resize(std::max<size_t>(ins.size(), 4));
    ins[3] = g.add_constant(g.unique_name(u->name() + "_axes_nhwc"),
                            Tensor::from_vector<int64_t>({int64_t(axes.size())}, axes));
  } else if (op == OpKind::Resize) {
    Node* p = u->input(0) ? u->input(0)->producer() : nullptr;
    if (!is_transpose(p, kToNchw) || attrs.has("axes")) return false;
    ins = u->inputs();
    ins[0] = p->input(0);
    if (Value* roi = u->input(1); roi && (!roi->is_constant() || roi->constant()->numel() != 0)) return false;
    for (size_t i : {2, 3}) {  // scales (float) or sizes (int64), one per NCHW dim: permute
      Value* v = u->input(i);
      if (!v) continue;
      if (!v->is_constant()) return false;
      const Tensor& t = *v->constant();
      if (t.numel() == 0) continue;
      if (t.numel() != 4) return false;
      Tensor q(t.dtype(), {4});
      const size_t es = dtype_size(t.dtype());
      for (size_t k = 0; k < 4; ++k)
        std::memcpy(static_cast<std::byte*>(q.raw()) + k * es,
                    static_cast<const std::byte*>(t.raw()) + size_t(kToNhwc[k]) * es, es);
      ins[i] = g.add_constant(g.unique_name(v->name() + "_nhwc"), std::move(q));
    }
  } else {
    return false;
  }
  Node* nu = g.insert_node(u, op, {.name = g.unique_name(u->name() + "_nhwc"), .inputs = ins, .attrs = attrs});
  Value* back = transpose(g, u, nu->output(0), kToNchw, u->name() + "_to_nchw");
  replace(g, u->output(0), back);
  g.remove_node(u);
  return true;
}

/// Transpose(Transpose(x, p1), p2): one Transpose, or none when they cancel.
bool fold_pair(Graph& g, Node* t2) {
  Node* t1 = t2->input(0) ? t2->input(0)->producer() : nullptr;
  if (!t1 || t1->op() != OpKind::Transpose || g.is_output(t2->output(0))) return false;
  const Perm p1 = t1->attrs().get_ints_or("perm", {}), p2 = t2->attrs().get_ints_or("perm", {});
  if (p1.empty() || p1.size() != p2.size()) return false;
  Perm q(p1.size());
  for (size_t i = 0; i < q.size(); ++i) q[i] = p1[size_t(p2[i])];
  bool identity = true;
  for (size_t i = 0; i < q.size(); ++i) identity = identity && q[i] == int64_t(i);
  Value* src = t1->input(0);
  if (identity) {
    g.replace_all_uses(t2->output(0), src);
  } else {
    replace(g, t2->output(0), transpose(g, t2, src, q, t2->name() + "_folded"));
  }
  g.remove_node(t2);
  return true;
}

/// Transpose(Transpose(x, p1) viewed by a Reshape that only splits dims, p2) (a depth-to-space
/// after an NHWC convolution: NHWC → NCHW, split the channels, interleave them with H and W):
/// x reshaped with the same splits, then one Transpose, so the data moves once.
bool fold_through_split(Graph& g, Node* t2) {
  Value* rv = t2->input(0);
  Node* r = rv ? rv->producer() : nullptr;
  if (!r || r->op() != OpKind::Reshape || rv->users().size() != 1 || g.is_output(rv) || g.is_output(t2->output(0)))
    return false;
  Value* tv = r->input(0);
  Node* t1 = tv ? tv->producer() : nullptr;
  if (!t1 || t1->op() != OpKind::Transpose || tv->users().size() != 1 || g.is_output(tv)) return false;
  Value* x = t1->input(0);
  const Shape &ts = tv->shape(), &rs = rv->shape();
  const Perm p1 = t1->attrs().get_ints_or("perm", {}), p2 = t2->attrs().get_ints_or("perm", {});
  if (!ts.has_rank() || !rs.has_rank() || p1.size() != ts.rank() || p2.size() != rs.rank() ||
      !x->shape().has_rank() || x->shape().rank() != ts.rank())
    return false;
  // the Reshape's dims, grouped by the dim of t1's output they split; one unknown dim (the
  // batch) may pass through whole, all others are static
  std::vector<std::vector<int64_t>> group(ts.rank());  // indices into rs
  size_t u = 0, unknown = 0;
  for (size_t j = 0; j < ts.rank(); ++j) {
    if (!ts[j].is_static()) {
      if (u >= rs.rank() || rs[u].is_static() || ++unknown > 1) return false;
      group[j].push_back(int64_t(u++));
      continue;
    }
    int64_t prod = 1;
    while (u < rs.rank() && (prod < ts[j].value || (rs[u].value == 1 && ts[j].value == 1 && group[j].empty()))) {
      if (!rs[u].is_static()) return false;
      prod *= rs[u].value;
      group[j].push_back(int64_t(u++));
    }
    if (prod != ts[j].value) return false;
  }
  for (; u < rs.rank(); ++u) {  // trailing 1s join the last group
    if (!rs[u].is_static() || rs[u].value != 1 || group.empty()) return false;
    group.back().push_back(int64_t(u));
  }
  // x's dims split the same way: x dim p1[j] holds group j (-1: the unknown dim)
  std::vector<int64_t> split, pos(rs.rank());
  for (size_t i = 0; i < ts.rank(); ++i) {
    const size_t j = size_t(std::find(p1.begin(), p1.end(), int64_t(i)) - p1.begin());
    if (j >= p1.size()) return false;
    for (int64_t k : group[j]) {
      pos[size_t(k)] = int64_t(split.size());
      split.push_back(rs[size_t(k)].is_static() ? rs[size_t(k)].value : -1);
    }
  }
  Perm q(p2.size());
  for (size_t k = 0; k < q.size(); ++k) q[k] = pos[size_t(p2[k])];
  Value* view =
      g.insert_node(t2, OpKind::Reshape,
                    {.name = g.unique_name(r->name() + "_split"),
                     .inputs = {x, g.add_constant(g.unique_name(r->name() + "_split_shape"),
                                                  Tensor::from_vector<int64_t>({int64_t(split.size())}, split))}})
          ->output(0);
  replace(g, t2->output(0), transpose(g, t2, view, q, t2->name() + "_folded"));
  g.remove_node(t2);
  return true;
}

/// Transpose(x NHWC → NCHW) → Flatten / Reshape to [N, C·H·W] read only by fp32 Linear
/// layers with constant weights: the Linear weights' columns are permuted to H·W·C order
/// instead, and the Flatten reads x directly (no Transpose).
bool fold_into_linear(Graph& g, Node* t) {
  if (!is_transpose(t, kToNchw) || g.is_output(t->output(0)) || t->output(0)->users().size() != 1) return false;
  const Shape& xs = t->input(0)->shape();  // [N, H, W, C]
  if (!xs.has_rank() || xs.rank() != 4 || !xs[1].is_static() || !xs[2].is_static() || !xs[3].is_static())
    return false;
  const int64_t H = xs[1].value, W = xs[2].value, C = xs[3].value, K = C * H * W;
  Node* f = t->output(0)->users()[0];
  if (f->input(0) != t->output(0) || g.is_output(f->output(0))) return false;
  if (f->op() == OpKind::Flatten) {
    if (f->attrs().get_int_or("axis", 1) != 1) return false;
  } else if (f->op() != OpKind::Reshape) {
    return false;
  }
  const Shape& fs = f->output(0)->shape();
  if (!fs.has_rank() || fs.rank() != 2 || !fs[1].is_static() || fs[1].value != K || f->output(0)->users().empty())
    return false;
  for (Node* l : f->output(0)->users()) {
    const Value* w = l->input(1);
    if (l->op() != OpKind::Linear || l->input(0) != f->output(0) || !w || !w->is_constant() ||
        w->dtype() != DType::f32 || w->constant()->rank() != 2 || w->constant()->dim(1) != K)
      return false;
  }
  for (Node* l : std::vector<Node*>(f->output(0)->users())) {
    const Tensor& w = *l->input(1)->constant();
    const int64_t out = w.dim(0);
    Tensor p(DType::f32, {out, K});
    const float* src = w.data<float>();
    float* dst = p.data<float>();
    for (int64_t o = 0; o < out; ++o)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t hw = 0; hw < H * W; ++hw) dst[o * K + hw * C + c] = src[o * K + c * H * W + hw];
    g.set_input(l, 1, g.add_constant(g.unique_name(l->input(1)->name() + "_nhwc"), std::move(p)));
  }
  g.set_input(f, 0, t->input(0));
  g.reinfer(f);
  return true;
}

bool nchw_conv(const Node* n) {
  const DType x = n->input(0) ? n->input(0)->dtype() : DType::undefined;
  return ((n->op() == OpKind::Conv2d && x == DType::f32) ||
          (n->op() == OpKind::QConv2d && (x == DType::u8 || x == DType::i8))) &&
         n->attrs().get_string_or("layout", "NCHW") == "NCHW" && n->output(0)->shape().has_rank();
}

}  // namespace

void nhwc_layout(Graph& g) {
  bool any = false;
  for (Node* conv : g.nodes()) {
    if (!nchw_conv(conv)) continue;
    g.set_input(conv, 0, transpose(g, conv, conv->input(0), kToNhwc, conv->name() + "_to_nhwc"));
    if (Value* z = conv->op() == OpKind::Conv2d ? conv->input(3) : nullptr)  // QConv2d's operand 3 is its y_scale
      g.set_input(conv, 3, transpose(g, conv, z, kToNhwc, conv->name() + "_residual_to_nhwc"));
    conv->attrs().set("layout", std::string("NHWC"));
    Value* y = conv->output(0);
    std::vector<Node*> users = y->users();
    const bool was_output = g.is_output(y);
    // y becomes NHWC: a Transpose placed after the conv gives its readers NCHW
    g.reinfer(conv);
    Node* anchor = nullptr;
    const auto order = g.nodes();
    for (size_t i = 0; i + 1 < order.size(); ++i)
      if (order[i] == conv) anchor = order[i + 1];
    Value* back = transpose(g, anchor, y, kToNchw, conv->name() + "_to_nchw");
    for (Node* u : users)
      for (size_t i = 0; i < u->inputs().size(); ++i)
        if (u->input(i) == y) g.set_input(u, i, back);
    if (was_output) {
      replace(g, y, back);  // keeps the output's name on the NCHW value
      g.set_input(back->producer(), 0, y);
    } else {
      const std::string name = y->name();
      g.rename_value(y, g.unique_name(name + "_nhwc"));
      g.rename_value(back, name);
    }
    any = true;
  }
  if (!any) return;
  for (int round = 0; round < 10000; ++round) {
    bool changed = false;
    for (Node* n : g.nodes()) {
      if (n->op() == OpKind::Transpose &&
          (fold_pair(g, n) || fold_into_linear(g, n) || fold_through_split(g, n))) {
        changed = true;
        break;
      }
      if (n->op() == OpKind::Transpose || !n->input(0)) continue;
      bool reads_nchw = false;
      for (Value* v : n->inputs()) reads_nchw = reads_nchw || (v && is_transpose(v->producer(), kToNchw));
      if (reads_nchw && sink_through(g, n)) {
        changed = true;
        break;
      }
    }
    g.remove_unused();
    if (!changed) break;
  }
}

}  // namespace mq::plan
