#include <cfloat>
#include <unordered_set>

#include "engine/plan/plan.h"

namespace mq::plan {

namespace {

bool fusable_conv(const Graph& g, const Value* y) {
  const Node* conv = y ? y->producer() : nullptr;
  return conv && (conv->op() == OpKind::Conv2d || conv->op() == OpKind::Linear) && y->dtype() == DType::f32 &&
         !g.is_output(y) && conv->attrs().get_string_or("activation", "").empty() && !conv->input(3) &&
         conv->attrs().get_string_or("layout", "NCHW") == "NCHW";
}

/// Makes `conv`'s output stand for `out` (the last node of the fused chain): readers of
/// `out` read the conv's output, which takes out's name.
void take_over(Graph& g, Node* conv, Value* out) {
  Value* y = conv->output(0);
  const std::string name = out->name();
  g.replace_all_uses(out, y);
  g.rename_value(out, g.unique_name(name + "_fused"));
  g.rename_value(y, name);
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
  Value* y = conv->output(0);
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
  take_over(g, conv, out);  // y's readers: sig (and mul, now reading y itself): drop both
  remove(g, mul, removed);
  remove(g, sig, removed);
  return true;
}

bool fuse_activation(Graph& g, Node* conv, Removed& removed) {
  Value* y = conv->output(0);
  if (y->users().size() != 1) return false;
  Node* u = y->users()[0];
  std::string act;
  float alpha = 0.f, beta = 0.f;
  if (u->input(0) != y || !activation_of(u, act, alpha, beta)) return false;
  set_activation(conv, act, alpha, beta);
  Value* out = u->output(0);
  take_over(g, conv, out);
  remove(g, u, removed);
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
  take_over(g, conv, add->output(0));
  remove(g, add, removed);
  return true;
}

}  // namespace

void fuse_conv_epilogues(Graph& g) {
  bool changed = false;
  Removed removed;
  for (Node* conv : g.nodes()) {
    if (removed.count(conv) || !fusable_conv(g, conv->output(0))) continue;
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
