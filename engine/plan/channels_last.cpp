#include "engine/plan/channels_last.h"

#include <algorithm>
#include <cstring>

#include "engine/plan/plan.h"

namespace mq::plan::cl {

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

namespace {

bool is_identity(const Perm& p) {
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != int64_t(i)) return false;
  return true;
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

}  // namespace

/// Runs `u` on channels-last operands when its result does not depend on the layout; its
/// result is transposed back for its readers (to meet the next Transpose and cancel).
bool sink_through(Graph& g, Node* u, size_t r) {
  if (u->outputs().size() != 1) return false;
  // a per-channel quantization names its channel axis in the channels-first layout
  if (const auto& q = u->output(0)->type().quant; q && q->per_channel()) return false;
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

}  // namespace mq::plan::cl
