// A space-to-depth written as Slices and a Concat (YOLOv5's "Focus" layer:
// Concat(x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]) on the
// channel axis) becomes one Transpose of a Reshape of x: one pass over the data instead of
// s² strided Slices, a Concat and, before an NHWC convolution, a Transpose. Floats, or int8
// values the Concat keeps at x's quantization.
#include <algorithm>

#include "engine/plan/plan.h"
#include "ir/slicing.h"

namespace mq::plan {

namespace {

/// Where one Concat operand starts in x's H and W (axes 2 and 3): x[..., dh::s, dw::s].
struct Phase {
  int64_t dh = -1, dw = -1;
};

/// The phase of `v` when it is x sliced by a chain of Slices with constant operands that
/// step `s` along H and W from a start below s to the end, and keep every other axis whole;
/// each intermediate is read only by the next Slice. Sets x to the chain's source.
bool slice_phase(const Graph& g, Value* v, int64_t s, Value*& x, Phase& ph) {
  std::vector<Node*> chain;
  for (Value* u = v; u->producer() && u->producer()->op() == OpKind::Slice;) {
    Node* n = u->producer();
    if (u != v && (u->users().size() != 1 || g.is_output(u))) return false;
    chain.push_back(n);
    u = n->input(0);
  }
  if (chain.empty()) return false;
  Value* src = chain.back()->input(0);
  const Shape& xs = src->shape();
  if (!xs.has_rank() || xs.rank() != 4 || !xs[1].is_static() || !xs[2].is_static() || !xs[3].is_static())
    return false;
  for (Node* n : chain) {
    for (size_t i = 1; i < 5; ++i)
      if (n->input(i) && !n->input(i)->is_constant()) return false;
    if (!n->input(1) || !n->input(2)) return false;
    const auto starts = n->input(1)->constant()->to_int64(), ends = n->input(2)->constant()->to_int64();
    std::vector<int64_t> axes, steps;
    if (n->input(3)) axes = n->input(3)->constant()->to_int64();
    else
      for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
    if (n->input(4)) steps = n->input(4)->constant()->to_int64();
    else steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
      return false;
    for (size_t i = 0; i < starts.size(); ++i) {
      int64_t a = axes[i] < 0 ? axes[i] + 4 : axes[i];
      if (a < 0 || a > 3) return false;
      const int64_t dim = xs[size_t(a)].is_static() ? xs[size_t(a)].value : -1;
      if (a < 2) {  // N and C must stay whole
        if (dim < 0 || steps[i] != 1 ||
            slice_range(starts[i], ends[i], 1, dim) != std::pair<int64_t, int64_t>{0, dim})
          return false;
        continue;
      }
      if (steps[i] != s) return false;
      auto [first, len] = slice_range(starts[i], ends[i], s, dim);
      int64_t& p = a == 2 ? ph.dh : ph.dw;
      if (p >= 0 || first >= s || len != dim / s) return false;  // each of H and W sliced once
      p = first;
    }
  }
  if (ph.dh < 0 || ph.dw < 0 || (x && x != src)) return false;
  x = src;
  return true;
}

Value* int64s(Graph& g, const std::string& name, const std::vector<int64_t>& v) {
  return g.add_constant(g.unique_name(name), Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
}

/// Rewrites Concat `c` when its operands are the s² phases of one x, in an order a Transpose
/// gives (W's phase major, or H's); an NHWC Transpose reading only c is absorbed.
bool rewrite(Graph& g, Node* c) {
  const Value* y = c->output(0);
  const size_t k = c->inputs().size();
  int64_t s = 2;
  while (s * s < int64_t(k)) ++s;
  if (s * s != int64_t(k) || s < 2 || !y->shape().has_rank() || y->shape().rank() != 4) return false;
  int64_t axis = c->attrs().get_int_or("axis", 0);
  if (axis < 0) axis += 4;
  if (axis != 1) return false;
  Value* x = nullptr;
  std::vector<Phase> phases(k);
  for (size_t i = 0; i < k; ++i) {
    Value* v = c->input(i);
    if (!v || v->users().size() != 1 || g.is_output(v) || !slice_phase(g, v, s, x, phases[i])) return false;
  }
  // floats, or int8 values whose Concat keeps x's quantization (the phases of an int8 input)
  if (x->dtype() != y->dtype()) return false;
  if (y->dtype() != DType::f32) {
    const auto& qx = x->type().quant;
    const auto& qy = y->type().quant;
    if ((y->dtype() != DType::u8 && y->dtype() != DType::i8) || !qx || !qy || qx->per_channel() || !(*qx == *qy))
      return false;
  }
  const Shape& xs = x->shape();
  const int64_t C = xs[1].value, H = xs[2].value, W = xs[3].value;
  if (H % s || W % s) return false;
  bool w_major = true, h_major = true;
  for (size_t i = 0; i < k; ++i) {
    w_major = w_major && phases[i].dw * s + phases[i].dh == int64_t(i);
    h_major = h_major && phases[i].dh * s + phases[i].dw == int64_t(i);
  }
  if (!w_major && !h_major) return false;
  // x viewed as [N, C, H/s, s (dh), W/s, s (dw)]
  const int64_t ph_major = w_major ? 5 : 3, ph_minor = w_major ? 3 : 5;
  Node* t = y->users().size() == 1 && !g.is_output(y) ? y->users()[0] : nullptr;
  const bool nhwc = t && t->op() == OpKind::Transpose && t->input(0) == y &&
                    t->attrs().get_ints_or("perm", {}) == std::vector<int64_t>{0, 2, 3, 1};
  Value* view = g.insert_node(c, OpKind::Reshape,
                              {.name = g.unique_name(c->name() + "_phases"),
                               .inputs = {x, int64s(g, c->name() + "_phases_shape", {0, C, H / s, s, W / s, s})}})
                    ->output(0);
  Attributes perm;
  // NHWC: [N, H/s, W/s, phase, C]; NCHW: [N, phase, C, H/s, W/s]
  perm.set("perm", nhwc ? std::vector<int64_t>{0, 2, 4, ph_major, ph_minor, 1}
                        : std::vector<int64_t>{0, ph_major, ph_minor, 1, 2, 4});
  Value* moved =
      g.insert_node(c, OpKind::Transpose,
                    {.name = g.unique_name(c->name() + "_space_to_depth"), .inputs = {view}, .attrs = perm})
          ->output(0);
  const std::vector<int64_t> dims = nhwc ? std::vector<int64_t>{0, H / s, W / s, int64_t(k) * C}
                                         : std::vector<int64_t>{0, int64_t(k) * C, H / s, W / s};
  Value* out = g.insert_node(c, OpKind::Reshape,
                             {.name = g.unique_name(c->name() + "_merged"),
                              .inputs = {moved, int64s(g, c->name() + "_shape", dims)}})
                   ->output(0);
  Value* old = nhwc ? t->output(0) : c->output(0);
  const std::string name = old->name();
  g.replace_all_uses(old, out);
  g.rename_value(old, g.unique_name(name + "_unfused"));
  g.rename_value(out, name);
  if (nhwc) g.remove_node(t);
  g.remove_node(c);
  return true;
}

}  // namespace

void fuse_space_to_depth(Graph& g) {
  // a rewrite removes nodes after the Concat too: look again from the start after each
  for (bool again = true; again;) {
    again = false;
    for (Node* n : g.nodes())
      if (n->op() == OpKind::Concat && rewrite(g, n)) {
        again = true;
        break;
      }
  }
  g.remove_unused();
}

}  // namespace mq::plan
