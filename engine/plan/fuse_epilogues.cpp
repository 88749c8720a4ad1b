#include <algorithm>
#include <cfloat>
#include <cmath>
#include <map>
#include <optional>
#include <unordered_map>
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
    case OpKind::Gelu: act = a.get_string_or("approximate", "none") == "tanh" ? "GeluTanh" : "Gelu"; return true;
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

/// A polynomial in x and t = tanh(inner(x)): coefficient by (power of x, power of t).
using Poly = std::map<std::pair<int, int>, double>;

constexpr int kMaxPowerX = 8, kMaxPowerT = 2;

bool scalar_value(const Value* v, double& s) {
  if (!v || !v->is_constant() || v->dtype() != DType::f32 || v->constant()->numel() != 1) return false;
  s = double(v->constant()->data<float>()[0]);
  return true;
}

Poly poly_sum(const Poly& a, const Poly& b, double sign) {
  Poly r = a;
  for (const auto& [k, c] : b) r[k] += sign * c;
  return r;
}

std::optional<Poly> poly_product(const Poly& a, const Poly& b) {
  Poly r;
  for (const auto& [ka, ca] : a)
    for (const auto& [kb, cb] : b) {
      const std::pair<int, int> k{ka.first + kb.first, ka.second + kb.second};
      if (k.first > kMaxPowerX || k.second > kMaxPowerT) return std::nullopt;
      r[k] += ca * cb;
    }
  return r;
}

/// Whether p is c₁·x + c₃·x³ + ... with only the listed powers of x (none of t), within a
/// relative 1e-5 of the given coefficients.
bool poly_is(const Poly& p, const std::map<std::pair<int, int>, double>& want) {
  for (const auto& [k, c] : p) {
    const auto w = want.find(k);
    const double target = w == want.end() ? 0.0 : w->second;
    if (std::fabs(c - target) > 1e-5 * std::max(1e-3, std::fabs(target))) return false;
  }
  for (const auto& [k, c] : want)
    if (!p.count(k)) return false;
  return true;
}

/// The expression node `n` computes from values of known expressions (`expr`) and scalar
/// constants: Add, Sub, Mul, Div by a constant, Neg, Pow by a small integer, and one Tanh of
/// a polynomial in x; nothing for other ops.
std::optional<Poly> expression_of(const Node* n, const std::unordered_map<const Value*, Poly>& expr,
                                  std::optional<Poly>& inner) {
  if (n->outputs().size() != 1 || n->output(0)->dtype() != DType::f32) return std::nullopt;
  std::vector<Poly> in;
  for (const Value* v : n->inputs()) {
    double s = 0;
    if (const auto e = expr.find(v); e != expr.end()) in.push_back(e->second);
    else if (scalar_value(v, s)) in.push_back(Poly{{{0, 0}, s}});
    else return std::nullopt;
  }
  switch (n->op()) {
    case OpKind::Add:
      if (in.size() == 2) return poly_sum(in[0], in[1], 1.0);
      break;
    case OpKind::Sub:
      if (in.size() == 2) return poly_sum(in[0], in[1], -1.0);
      break;
    case OpKind::Mul:
      if (in.size() == 2) return poly_product(in[0], in[1]);
      break;
    case OpKind::Neg: return poly_sum(Poly{}, in[0], -1.0);
    case OpKind::Div: {
      double d = 0;
      if (in.size() == 2 && scalar_value(n->input(1), d) && d != 0)
        return poly_product(in[0], Poly{{{0, 0}, 1 / d}});
      break;
    }
    case OpKind::Pow: {
      double e = 0;
      if (in.size() != 2 || !scalar_value(n->input(1), e) || e != std::floor(e) || e < 1 || e > 4) break;
      Poly r = in[0];
      for (int k = 1; k < int(e); ++k) {
        auto next = poly_product(r, in[0]);
        if (!next) return std::nullopt;
        r = *next;
      }
      return r;
    }
    case OpKind::Tanh:
      if (inner || std::any_of(in[0].begin(), in[0].end(), [](const auto& kc) { return kc.first.second != 0; }))
        break;
      inner = in[0];
      return Poly{{{0, 1}, 1.0}};
    default: break;
  }
  return std::nullopt;
}

/// GELU's tanh approximation 0.5·y·(1 + tanh(√(2/π)·(y + 0.044715·y³))) written out as
/// elementwise ops on y, in any order and grouping (as exporters write it): the nodes that
/// compute it, the last one's output its result, each value read only by the next of them;
/// empty when the readers of y compute something else.
std::vector<Node*> gelu_tanh_chain(const Graph& g, Value* y) {
  std::unordered_map<const Value*, Poly> expr{{y, Poly{{{1, 0}, 1.0}}}};
  std::optional<Poly> inner;
  std::vector<Node*> chain;
  const auto order = g.nodes();
  auto it = y->producer() ? std::find(order.begin(), order.end(), y->producer()) : order.begin();
  for (; it != order.end() && chain.size() < 24; ++it) {
    Node* n = *it;
    if (std::none_of(n->inputs().begin(), n->inputs().end(), [&](const Value* v) { return expr.count(v); }))
      continue;
    const auto e = expression_of(n, expr, inner);
    if (!e) return {};
    chain.push_back(n);
    expr[n->output(0)] = *e;
    constexpr double a = 0.7978845608028654;  // √(2/π)
    if (!inner || !poly_is(*inner, {{{1, 0}, a}, {{3, 0}, a * 0.044715}}) ||
        !poly_is(*e, {{{1, 0}, 0.5}, {{1, 1}, 0.5}}))
      continue;
    // found: every value but the result is read only inside the chain
    for (const auto& [v, p] : expr) {
      if (v == n->output(0)) continue;
      if (g.is_output(v)) return {};
      for (const Node* u : v->users())
        if (std::find(chain.begin(), chain.end(), u) == chain.end()) return {};
    }
    if (!same_shape(n->output(0)->shape(), y->shape())) return {};  // no constant broadcasts it wider
    return chain;
  }
  return {};
}

bool fuse_gelu_tanh(Graph& g, Node* conv, Removed& removed) {
  Value* y = through_views(g, conv);
  if (g.is_output(y)) return false;
  const std::vector<Node*> chain = gelu_tanh_chain(g, y);
  if (chain.empty()) return false;
  set_activation(conv, "GeluTanh", 0.f, 0.f);
  take_over(g, y, chain.back()->output(0));
  for (auto n = chain.rbegin(); n != chain.rend(); ++n) remove(g, *n, removed);
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
    if (fuse_silu(g, conv, removed) || fuse_activation(g, conv, removed) || fuse_gelu_tanh(g, conv, removed)) {
      changed = true;
      fuse_residual(g, conv, removed);  // y = act(conv) + z
    } else if (fuse_residual(g, conv, removed)) {
      changed = true;  // y = act(conv + z), when an activation follows the Add
      conv->attrs().set("residual_first", int64_t(1));
      if (!fuse_silu(g, conv, removed) && !fuse_activation(g, conv, removed) && !fuse_gelu_tanh(g, conv, removed))
        conv->attrs().set("residual_first", int64_t(0));
    }
  }
  if (changed) g.topo_sort();
}

}  // namespace mq::plan
