#include <algorithm>
#include <cstring>

#include "engine/plan/plan.h"

namespace mq::plan {

namespace {

using Perm = std::vector<int64_t>;

/// Channels-first dims from channels-last data of rank r ([N,W,C] → [N,C,W], [N,H,W,C] →
/// [N,C,H,W]): axis a of the channels-first tensor is axis to_cf(r)[a] of the channels-last one.
Perm to_cf(size_t r) {
  Perm p = {0, int64_t(r) - 1};
  for (size_t i = 1; i + 1 < r; ++i) p.push_back(int64_t(i));
  return p;
}

/// The inverse: channels-first → channels-last.
Perm to_cl(size_t r) {
  Perm p = {0};
  for (size_t i = 2; i < r; ++i) p.push_back(int64_t(i));
  p.push_back(1);
  return p;
}

bool is_transpose(const Node* n, const Perm& p) {
  return n && n->op() == OpKind::Transpose && n->attrs().get_ints_or("perm", {}) == p;
}

/// The rank of the channels-first value `v` when a channels-last → channels-first Transpose
/// made it (rank ≥ 3), else 0.
size_t cf_rank(const Value* v) {
  const Node* n = v ? v->producer() : nullptr;
  if (!n || n->op() != OpKind::Transpose) return 0;
  const Perm p = n->attrs().get_ints_or("perm", {});
  return p.size() >= 3 && p == to_cf(p.size()) ? p.size() : 0;
}

bool is_identity(const Perm& p) {
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != int64_t(i)) return false;
  return true;
}

Value* transpose(Graph& g, Node* anchor, Value* x, const Perm& p, const std::string& hint) {
  Attributes a;
  a.set("perm", p);
  return g.insert_node(anchor, OpKind::Transpose, {.name = g.unique_name(hint), .inputs = {x}, .attrs = a})
      ->output(0);
}

Value* ints_constant(Graph& g, const std::string& hint, const std::vector<int64_t>& v) {
  return g.add_constant(g.unique_name(hint), Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
}

/// Readers of `old` read `now` instead, and `now` (a value this pass made) takes old's name.
void replace(Graph& g, Value* old, Value* now) {
  const std::string name = old->name();
  g.replace_all_uses(old, now);
  g.rename_value(old, g.unique_name(name + "_nchw"));
  g.rename_value(now, name);
}

/// A constant of rank ≤ r read by a broadcasting op whose other operand is channels-first,
/// stored so that it broadcasts the same way against the channels-last operand: padded to
/// rank r, permuted.
Value* cl_constant(Graph& g, const Value* c, size_t r) {
  const Tensor& t = *c->constant();
  std::vector<int64_t> d(r, 1), stride(r);
  for (size_t i = 0; i < t.rank(); ++i) d[r - t.rank() + i] = t.dim(i);
  int64_t s = 1;
  for (size_t i = r; i-- > 0;) {
    stride[i] = s;
    s *= d[i];
  }
  const Perm p = to_cl(r);
  std::vector<int64_t> od(r), idx(r, 0);
  for (size_t k = 0; k < r; ++k) od[k] = d[size_t(p[k])];
  Tensor out(t.dtype(), od);
  const size_t es = dtype_size(t.dtype());
  const auto* src = static_cast<const std::byte*>(t.raw());
  auto* dst = static_cast<std::byte*>(out.raw());
  for (int64_t o = 0; o < out.numel(); ++o) {
    int64_t from = 0;
    for (size_t k = 0; k < r; ++k) from += idx[k] * stride[size_t(p[k])];
    std::memcpy(dst + size_t(o) * es, src + size_t(from) * es, es);
    for (size_t k = r; k-- > 0;) {
      if (++idx[k] < od[k]) break;
      idx[k] = 0;
    }
  }
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

bool reduction(OpKind op) {
  switch (op) {
    case OpKind::ReduceMean:
    case OpKind::ReduceMax:
    case OpKind::ReduceMin:
    case OpKind::ReduceSum:
    case OpKind::ReduceProd:
    case OpKind::ReduceL2: return true;
    default: return false;
  }
}

bool scalar_const(const Value* v) { return !v || (v->is_constant() && v->constant()->numel() == 1); }

/// The channels-last operands `u` would read if it ran on the sources of its channels-first
/// Transposes (all of rank r), or false when some operand does not allow it.
bool cl_operands(Graph& g, Node* u, size_t r, std::vector<Value*>& ins) {
  ins.clear();
  const OpKind op = u->op();
  for (size_t i = 0; i < u->inputs().size(); ++i) {
    Value* v = u->input(i);
    if (v && cf_rank(v) == r) {
      ins.push_back(v->producer()->input(0));
      continue;
    }
    // Clip's bounds, a per-tensor quantization's scale and zero point
    if ((op == OpKind::Clip || op == OpKind::QuantizeLinear || op == OpKind::DequantizeLinear) && i > 0 &&
        scalar_const(v)) {
      ins.push_back(v);
      continue;
    }
    if (!binary(op) || !v || !v->is_constant() || v->constant()->rank() > r) return false;
    ins.push_back(v->constant()->numel() == 1 ? v : cl_constant(g, v, r));
  }
  return true;
}

/// The normalized constant axes operand `i` of `u` lists (rank r), or false when it is not a
/// constant or an axis is out of range.
bool const_axes(const Node* u, size_t i, int64_t r, std::vector<int64_t>& axes) {
  const Value* a = u->input(i);
  if (!a || !a->is_constant()) return false;
  axes = a->constant()->to_int64();
  for (int64_t& x : axes) {
    if (x < -r || x >= r) return false;
    if (x < 0) x += r;
  }
  return true;
}

/// The Transpose that gives the channels-first result of an op that drops the channels-first
/// axes not `kept` from its channels-last operand of rank r (the rest keep their order).
Perm kept_perm(const std::vector<bool>& kept, size_t r) {
  const Perm cf = to_cf(r);
  Perm p;
  for (size_t a = 0; a < r; ++a) {
    if (!kept[a]) continue;
    int64_t before = 0;  // kept axes stored before this one in the channels-last result
    for (size_t b = 0; b < r; ++b) before += kept[b] && cf[b] < cf[a];
    p.push_back(before);
  }
  return p;
}

/// The channels-last form of `u` (operands, attributes, and the Transpose `back` that gives
/// its channels-first result; none when the two agree) when `u` reads channels-first values of
/// rank r made by Transposes and its result does not depend on the layout otherwise.
struct ClForm {
  std::vector<Value*> ins;
  Attributes attrs;
  Perm back;
};

bool cl_form(Graph& g, Node* u, size_t r, ClForm& f) {
  const OpKind op = u->op();
  const Value* out = u->output(0);
  const Perm cf = to_cf(r);
  const int64_t rank = int64_t(r);
  f.attrs = u->attrs();
  f.back = cf;
  Value* x = cf_rank(u->input(0)) == r ? u->input(0)->producer()->input(0) : nullptr;
  if (!out->shape().has_rank()) return false;
  const size_t out_rank = out->shape().rank();
  if (unary(op) || binary(op)) {
    return out_rank == r && cl_operands(g, u, r, f.ins);
  } else if (op == OpKind::Concat) {
    for (Value* v : u->inputs()) {
      if (cf_rank(v) != r) return false;
      f.ins.push_back(v->producer()->input(0));
    }
    f.attrs.set("axis", cf[size_t(normalize_axis(f.attrs.get_int("axis"), rank))]);
    return true;
  }
  if (!x) return false;
  f.ins = u->inputs();
  f.ins[0] = x;
  const DType dt = out->dtype();
  const bool int8 = dt == DType::u8 || dt == DType::i8;
  if (op == OpKind::MaxPool || op == OpKind::AveragePool) {  // int8 kernels for both
    if (r != 4 || u->outputs().size() != 1 || (dt != DType::f32 && !int8) ||
        f.attrs.get_ints_or("kernel_shape", {}).size() != 2)
      return false;
    f.attrs.set("layout", std::string("NHWC"));
    return true;
  }
  if (op == OpKind::GlobalAveragePool || op == OpKind::GlobalMaxPool) {
    if (dt != DType::f32 && !(op == OpKind::GlobalAveragePool && int8)) return false;
    f.attrs.set("layout", std::string("NHWC"));
    return true;
  }
  if (op == OpKind::Slice) {
    std::vector<int64_t> axes;
    if (u->input(3)) {
      if (!const_axes(u, 3, rank, axes)) return false;
    } else {
      const Value* starts = u->input(1);
      if (!starts || !starts->is_constant()) return false;
      for (int64_t i = 0; i < starts->constant()->numel(); ++i) axes.push_back(i);
    }
    for (int64_t& a : axes) {
      if (a >= rank) return false;
      a = cf[size_t(a)];
    }
    f.ins.resize(std::max<size_t>(f.ins.size(), 4));
    f.ins[3] = ints_constant(g, u->name() + "_axes_nhwc", axes);
    return true;
  }
  if (op == OpKind::Squeeze || op == OpKind::Unsqueeze) {
    // unit spatial axes only: batch and channels keep their places
    const int64_t full = op == OpKind::Squeeze ? rank : int64_t(out_rank);
    std::vector<int64_t> axes;
    if (!u->input(1)) {
      if (op == OpKind::Unsqueeze) return false;
      const Shape& s = u->input(0)->shape();
      for (size_t i = 0; i < r; ++i) {
        if (!s[i].is_static()) return false;
        if (s[i].value == 1) axes.push_back(int64_t(i));
      }
    } else if (!const_axes(u, 1, full, axes)) {
      return false;
    }
    for (int64_t& a : axes) {
      if (a < 2) return false;
      --a;  // spatial axis a of a channels-first tensor is axis a - 1 of its channels-last form
    }
    f.ins.resize(2);
    f.ins[1] = ints_constant(g, u->name() + "_axes_nhwc", axes);
    f.back = to_cf(out_rank);
    return out_rank >= 2;
  }
  if (reduction(op) || op == OpKind::ArgMax || op == OpKind::ArgMin) {
    std::vector<bool> kept(r, true);
    if (op == OpKind::ArgMax || op == OpKind::ArgMin) {
      const int64_t a = normalize_axis(f.attrs.get_int_or("axis", 0), rank);
      kept[size_t(a)] = false;
      f.attrs.set("axis", cf[size_t(a)]);
    } else {
      std::vector<int64_t> axes;
      if (u->input(1) && !const_axes(u, 1, rank, axes)) return false;
      if (axes.empty() && f.attrs.get_int_or("noop_with_empty_axes", 0) == 0) kept.assign(r, false);
      for (int64_t& a : axes) {
        kept[size_t(a)] = false;
        a = cf[size_t(a)];
      }
      if (!axes.empty()) f.ins[1] = ints_constant(g, u->name() + "_axes_nhwc", axes);
    }
    if (f.attrs.get_int_or("keepdims", 1) == 0) f.back = kept_perm(kept, r);
    return true;
  }
  if (op == OpKind::Softmax || op == OpKind::LogSoftmax) {
    f.attrs.set("axis", cf[size_t(normalize_axis(f.attrs.get_int_or("axis", -1), rank))]);
    return out_rank == r;
  }
  if (op == OpKind::Resize) {
    if (r != 4 || f.attrs.has("axes")) return false;
    if (Value* roi = u->input(1); roi && (!roi->is_constant() || roi->constant()->numel() != 0)) return false;
    const Perm cl = to_cl(r);
    for (size_t i : {2, 3}) {  // scales (float) or sizes (int64), one per channels-first dim: permute
      Value* v = u->input(i);
      if (!v) continue;
      if (!v->is_constant()) return false;
      const Tensor& t = *v->constant();
      if (t.numel() == 0) continue;
      if (t.numel() != rank) return false;
      Tensor q(t.dtype(), {rank});
      const size_t es = dtype_size(t.dtype());
      for (size_t k = 0; k < r; ++k)
        std::memcpy(static_cast<std::byte*>(q.raw()) + k * es,
                    static_cast<const std::byte*>(t.raw()) + size_t(cl[k]) * es, es);
      f.ins[i] = g.add_constant(g.unique_name(v->name() + "_nhwc"), std::move(q));
    }
    return true;
  }
  return false;
}

/// Runs `u` on channels-last operands when its result does not depend on the layout; its
/// result is transposed back for its readers (to meet the next Transpose and cancel).
bool sink_through(Graph& g, Node* u, size_t r) {
  if (u->outputs().size() != 1) return false;
  ClForm f;
  if (!cl_form(g, u, r, f)) return false;
  const OpKind op = u->op();
  Node* nu = g.insert_node(u, op, {.name = g.unique_name(u->name() + "_nhwc"), .inputs = f.ins, .attrs = f.attrs});
  Value* y = nu->output(0);
  if (!is_identity(f.back)) y = transpose(g, u, y, f.back, u->name() + "_to_nchw");
  replace(g, u->output(0), y);
  g.remove_node(u);
  return true;
}

/// A 1-D pool of a channels-first [N, C, W] value becomes the 2-D pool of it unsqueezed to
/// [N, C, 1, W] (kernel 1 × k) and squeezed back, which then run on the channels-last data.
bool pool_1d_as_2d(Graph& g, Node* u) {
  if ((u->op() != OpKind::MaxPool && u->op() != OpKind::AveragePool) || u->outputs().size() != 1 ||
      cf_rank(u->input(0)) != 3)
    return false;
  Attributes a = u->attrs();
  const auto kernel = a.get_ints_or("kernel_shape", {});
  if (kernel.size() != 1) return false;
  const auto strides = a.get_ints_or("strides", {1}), dil = a.get_ints_or("dilations", {1});
  const auto pads = a.get_ints_or("pads", {0, 0});
  if (strides.size() != 1 || dil.size() != 1 || pads.size() != 2) return false;
  a.set("kernel_shape", std::vector<int64_t>{1, kernel[0]});
  a.set("strides", std::vector<int64_t>{1, strides[0]});
  a.set("dilations", std::vector<int64_t>{1, dil[0]});
  a.set("pads", std::vector<int64_t>{0, pads[0], 0, pads[1]});
  Value* x4 = g.insert_node(u, OpKind::Unsqueeze,
                            {.name = g.unique_name(u->name() + "_unsqueeze"),
                             .inputs = {u->input(0), ints_constant(g, u->name() + "_unsqueeze_axes", {2})}})
                  ->output(0);
  Value* y4 =
      g.insert_node(u, u->op(), {.name = g.unique_name(u->name() + "_2d"), .inputs = {x4}, .attrs = a})->output(0);
  Value* y = g.insert_node(u, OpKind::Squeeze,
                           {.name = g.unique_name(u->name() + "_squeeze"),
                            .inputs = {y4, ints_constant(g, u->name() + "_squeeze_axes", {2})}})
                 ->output(0);
  replace(g, u->output(0), y);
  g.remove_node(u);
  return true;
}

/// A Reshape of a channels-first value that only removes and inserts spatial dims of 1
/// becomes a Squeeze and an Unsqueeze, which then run on the channels-last data.
bool split_unit_reshape(Graph& g, Node* u) {
  if (u->op() != OpKind::Reshape || !cf_rank(u->input(0))) return false;
  const Shape &in = u->input(0)->shape(), &out = u->output(0)->shape();
  if (!in.has_rank() || !out.has_rank()) return false;
  auto unit = [](const Dim& d) { return d.is_static() && d.value == 1; };
  std::vector<int64_t> removed, inserted;
  std::vector<const Dim*> ki, ko;
  for (size_t i = 0; i < in.rank(); ++i)
    if (i >= 2 && unit(in[i])) removed.push_back(int64_t(i));
    else ki.push_back(&in[i]);
  for (size_t i = 0; i < out.rank(); ++i)
    if (i >= 2 && unit(out[i])) inserted.push_back(int64_t(i));
    else ko.push_back(&out[i]);
  if (ki.size() != ko.size() || (removed.empty() && inserted.empty())) return false;
  // the kept dims pair up: equal, except one pair at most whose equality follows from the
  // element count
  int unsure = 0;
  for (size_t j = 0; j < ki.size(); ++j) {
    const Dim &a = *ki[j], &b = *ko[j];
    if (a.is_static() && b.is_static()) {
      if (a.value != b.value || a.value == 0) return false;
    } else if (a.is_static() || b.is_static() || a.symbol.empty() || a.symbol != b.symbol) {
      ++unsure;
    }
  }
  if (unsure > 1) return false;
  Value* y = u->input(0);
  if (!removed.empty())
    y = g.insert_node(u, OpKind::Squeeze,
                      {.name = g.unique_name(u->name() + "_squeeze"),
                       .inputs = {y, ints_constant(g, u->name() + "_squeeze_axes", removed)}})
            ->output(0);
  if (!inserted.empty())
    y = g.insert_node(u, OpKind::Unsqueeze,
                      {.name = g.unique_name(u->name() + "_unsqueeze"),
                       .inputs = {y, ints_constant(g, u->name() + "_unsqueeze_axes", inserted)}})
            ->output(0);
  replace(g, u->output(0), y);
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
  if (!is_transpose(t, to_cf(4)) || g.is_output(t->output(0)) || t->output(0)->users().size() != 1) return false;
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
    g.set_input(conv, 0, transpose(g, conv, conv->input(0), to_cl(4), conv->name() + "_to_nhwc"));
    if (Value* z = conv->op() == OpKind::Conv2d ? conv->input(3) : nullptr)  // QConv2d's operand 3 is its y_scale
      g.set_input(conv, 3, transpose(g, conv, z, to_cl(4), conv->name() + "_residual_to_nhwc"));
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
    Value* back = transpose(g, anchor, y, to_cf(4), conv->name() + "_to_nchw");
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
      size_t r = 0;  // the rank of the first channels-first operand a Transpose made
      for (Value* v : n->inputs()) r = r ? r : cf_rank(v);
      if (r && (split_unit_reshape(g, n) || pool_1d_as_2d(g, n) || sink_through(g, n, r))) {
        changed = true;
        break;
      }
    }
    g.remove_unused();
    if (!changed) break;
  }
}

}  // namespace mq::plan
