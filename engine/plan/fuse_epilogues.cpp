#include <algorithm>
#include <cfloat>
#include <unordered_set>

#include "engine/plan/plan.h"
#include "ir/slicing.h"

namespace mq::plan {

namespace {

bool fusable_conv(const Graph& g, const Value* y) {
  const Node* conv = y ? y->producer() : nullptr;
  return conv && (conv->op() == OpKind::Conv2d || conv->op() == OpKind::Linear) && y->dtype() == DType::f32 &&
         !g.is_output(y) && conv->attrs().get_string_or("activation", "").empty() && !conv->input(3) &&
         conv->attrs().get_string_or("layout", "NCHW") == "NCHW";
}

/// Makes `y` (the conv's output, or the end of views of it) stand for `out` (the last node of
/// the fused chain): readers of `out` read y, which takes out's name.
void take_over(Graph& g, Value* y, Value* out) {
  const std::string name = out->name();
  g.replace_all_uses(out, y);
  g.rename_value(out, g.unique_name(name + "_fused"));
  g.rename_value(y, name);
}

/// The normalized constant axes operand `i` of `n` lists (rank r), or false.
bool const_axes(const Node* n, size_t i, int64_t r, std::vector<int64_t>& axes) {
  const Value* a = n->input(i);
  if (!a || !a->is_constant()) return false;
  axes = a->constant()->to_int64();
  for (int64_t& x : axes) {
    if (x < -r || x >= r) return false;
    if (x < 0) x += r;
  }
  return true;
}

/// Whether Slice `v` keeps all `channels` of axis `ch`: it does not slice that axis, or
/// slices all of it.
bool keeps_all(const Node* v, int64_t ch, int64_t channels, const std::vector<int64_t>& axes) {
  const auto k = size_t(std::find(axes.begin(), axes.end(), ch) - axes.begin());
  if (k == axes.size()) return true;
  const Value *st = v->input(1), *en = v->input(2), *sp = v->input(4);
  if (!st || !en || !st->is_constant() || !en->is_constant() || (sp && !sp->is_constant())) return false;
  const auto starts = st->constant()->to_int64(), ends = en->constant()->to_int64();
  const auto steps = sp ? sp->constant()->to_int64() : std::vector<int64_t>(axes.size(), 1);
  if (starts.size() != axes.size() || ends.size() != axes.size() || steps.size() != axes.size() || steps[k] != 1)
    return false;
  return slice_range(starts[k], ends[k], 1, channels) == std::pair<int64_t, int64_t>(0, channels);
}

/// Where channel axis `ch` of v's operand is in v's result, when `v` only views its operand
/// (Slice, Squeeze, Unsqueeze) and keeps all `channels`; -1 otherwise.
int64_t channel_after(const Node* v, int64_t ch, int64_t channels) {
  const Shape& in = v->input(0)->shape();
  const Shape& out = v->output(0)->shape();
  if (!in.has_rank() || !out.has_rank()) return -1;
  const int64_t r = int64_t(in.rank());
  std::vector<int64_t> axes;
  switch (v->op()) {
    case OpKind::Slice:
      if (v->input(3) && !const_axes(v, 3, r, axes)) return -1;
      if (!v->input(3)) {  // no axes: the first ones
        if (!v->input(1) || !v->input(1)->is_constant()) return -1;
        for (int64_t i = 0; i < v->input(1)->constant()->numel(); ++i) axes.push_back(i);
      }
      return keeps_all(v, ch, channels, axes) ? ch : -1;
    case OpKind::Squeeze:
      if (!const_axes(v, 1, r, axes) || std::find(axes.begin(), axes.end(), ch) != axes.end()) return -1;
      return ch - std::count_if(axes.begin(), axes.end(), [&](int64_t a) { return a < ch; });
    case OpKind::Unsqueeze: {
      if (!const_axes(v, 1, int64_t(out.rank()), axes)) return -1;
      std::sort(axes.begin(), axes.end());
      for (int64_t a : axes) ch += a <= ch;
      return ch;
    }
    default: return -1;
  }
}

/// The value the layer's output reaches through views that keep every channel, each read
/// only by the next, with its channel axis; the output itself when no view follows.
Value* through_views(const Graph& g, Node* conv, int64_t* channel_axis = nullptr) {
  Value* y = conv->output(0);
  int64_t ch = conv->op() == OpKind::Linear ? int64_t(y->shape().rank()) - 1 : 1;
  const Value* w = conv->input(1);
  const int64_t channels = w && w->shape().has_rank() && w->shape()[0].is_static() ? w->shape()[0].value : -1;
  while (channels >= 0 && y->users().size() == 1 && !g.is_output(y) && y->users()[0]->input(0) == y) {
    const Node* v = y->users()[0];
    const int64_t next = channel_after(v, ch, channels);
    if (next < 0) break;
    y = v->output(0);
    ch = next;
  }
  if (channel_axis) *channel_axis = ch;
  return y;
}

float const_scalar_or(const Value* v, float def, bool& ok) {
  if (!v) return def;
  if (!v->is_constant() || v->constant()->numel() != 1) {
    ok = false;
    return def;
  }
  return v->constant()->to_float()[0];
}

/// The activation `n` (reading the conv's output y) applies, with its parameters; false
/// when it is not one a convolution's epilogue computes.
bool activation_of(const Node* n, std::string& act, float& alpha, float& beta) {
  const Attributes& a = n->attrs();
  switch (n->op()) {
    case OpKind::Relu: act = "Relu"; return true;
    case OpKind::LeakyRelu:
      act = "LeakyRelu";
      alpha = a.get_float_or("alpha", 0.01f);
      return true;
    case OpKind::Sigmoid: act = "Sigmoid"; return true;
    case OpKind::Tanh: act = "Tanh"; return true;
    case OpKind::HardSwish: act = "HardSwish"; return true;
    case OpKind::HardSigmoid:
      act = "HardSigmoid";
      alpha = a.get_float_or("alpha", 0.2f);
      beta = a.get_float_or("beta", 0.5f);
      return true;
    case OpKind::Gelu:
      if (a.get_string_or("approximate", "none") != "none") return false;
      act = "Gelu";
      return true;
    case OpKind::Clip: {
      bool ok = true;
      alpha = const_scalar_or(n->input(1), -FLT_MAX, ok);
      beta = const_scalar_or(n->input(2), FLT_MAX, ok);
      act = "Clip";
      return ok && !(alpha > beta);
    }
    default: return false;
  }
}

void set_activation(Node* conv, const std::string& act, float alpha, float beta) {
  conv->attrs().set("activation", act);
  conv->attrs().set("activation_alpha", alpha);
  conv->attrs().set("activation_beta", beta);
}

/// Nodes this pass removed: the loop's snapshot of the order must skip them.
using Removed = std::unordered_set<const Node*>;

void remove(Graph& g, Node* n, Removed& removed) {
  removed.insert(n);
  g.remove_node(n);
}

bool fuse_silu(Graph& g, Node* conv, Removed& removed) {
  Value* y = through_views(g, conv);  // an activation is elementwise: views may come first
  if (y->users().size() != 2) return false;
  Node* sig = nullptr;
  Node* mul = nullptr;
  for (Node* u : y->users()) {
    if (u->op() == OpKind::Sigmoid) sig = u;
    else if (u->op() == OpKind::Mul) mul = u;
  }
  if (!sig || !mul || sig->output(0)->users().size() != 1 || sig->output(0)->users()[0] != mul ||
      g.is_output(sig->output(0)))
    return false;
  const bool operands = (mul->input(0) == y && mul->input(1) == sig->output(0)) ||
                        (mul->input(1) == y && mul->input(0) == sig->output(0));
  if (!operands) return false;  // Mul(y, Sigmoid(y)) has y's shape
  set_activation(conv, "Silu", 0.f, 0.f);
  Value* out = mul->output(0);
  take_over(g, y, out);  // y's readers: sig (and mul, now reading y itself): drop both
  remove(g, mul, removed);
  remove(g, sig, removed);
  return true;
}

bool fuse_activation(Graph& g, Node* conv, Removed& removed) {
  Value* y = through_views(g, conv);
  if (y->users().size() != 1) return false;
  Node* u = y->users()[0];
  std::string act;
  float alpha = 0.f, beta = 0.f;
  if (u->input(0) != y || !activation_of(u, act, alpha, beta)) return false;
  set_activation(conv, act, alpha, beta);
  Value* out = u->output(0);
  take_over(g, y, out);
  remove(g, u, removed);
  return true;
}

/// An Add of a constant that is one value per output channel (or one value), after the
/// layer or after views of it that keep every channel: the layer's bias takes it.
bool fuse_bias(Graph& g, Node* conv, Removed& removed) {
  int64_t ch = 0;
  Value* y = through_views(g, conv, &ch);
  const Shape& ys = y->shape();
  const Value* w = conv->input(1);
  if (y->users().size() != 1 || g.is_output(y) || !ys.has_rank() || !w || !w->shape().has_rank() ||
      !w->shape()[0].is_static())
    return false;
  Node* add = y->users()[0];
  if (add->op() != OpKind::Add || add->input(0) == add->input(1)) return false;
  const Value* c = add->input(0) == y ? add->input(1) : add->input(0);
  const int64_t channels = w->shape()[0].value;
  if (!c || !c->is_constant() || c->dtype() != DType::f32 || c->constant()->rank() > ys.rank()) return false;
  const Tensor& t = *c->constant();
  if (t.numel() != 1) {  // [C] placed on the channel axis, 1 elsewhere
    for (size_t i = 0; i < t.rank(); ++i)
      if (t.dim(i) != (int64_t(ys.rank() - t.rank() + i) == ch ? channels : 1)) return false;
  }
  const Value* old = conv->input(2);
  if (old && (!old->is_constant() || old->dtype() != DType::f32 || old->constant()->numel() != channels))
    return false;
  Tensor bias(DType::f32, {channels});
  const float* pc = t.data<float>();
  for (int64_t k = 0; k < channels; ++k)
    bias.data<float>()[k] = (old ? old->constant()->data<float>()[k] : 0.f) + pc[t.numel() == 1 ? 0 : k];
  g.set_input(conv, 2, g.add_constant(g.unique_name(conv->name() + "_bias"), std::move(bias)));
  take_over(g, y, add->output(0));
  remove(g, add, removed);
  return true;
}

bool fuse_residual(Graph& g, Node* conv, Removed& removed) {
  Value* y = conv->output(0);
  if (y->dtype() != DType::f32 || g.is_output(y) || conv->input(3) || y->users().size() != 1) return false;
  Node* add = y->users()[0];
  if (add->op() != OpKind::Add || add->input(0) == add->input(1)) return false;
  Value* z = add->input(0) == y ? add->input(1) : add->input(0);
  if (!z || z->dtype() != DType::f32 || !same_shape(z->shape(), y->shape()) ||
      !same_shape(add->output(0)->shape(), y->shape()))
    return false;
  g.set_input(conv, 3, z);
  g.reinfer(conv);
  take_over(g, y, add->output(0));
  remove(g, add, removed);
  return true;
}

}  // namespace

void fuse_conv_epilogues(Graph& g) {
  bool changed = false;
  Removed removed;
  for (Node* conv : g.nodes()) {
    if (removed.count(conv) || !fusable_conv(g, conv->output(0))) continue;
    while (fuse_bias(g, conv, removed)) changed = true;
    if (fuse_silu(g, conv, removed) || fuse_activation(g, conv, removed)) {
      changed = true;
      fuse_residual(g, conv, removed);  // y = act(conv) + z
    } else if (fuse_residual(g, conv, removed)) {
      changed = true;  // y = act(conv + z), when an activation follows the Add
      conv->attrs().set("residual_first", int64_t(1));
      if (!fuse_silu(g, conv, removed) && !fuse_activation(g, conv, removed))
        conv->attrs().set("residual_first", int64_t(0));
    }
  }
  if (changed) g.topo_sort();
}

}  // namespace mq::plan
