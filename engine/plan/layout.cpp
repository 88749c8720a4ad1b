#include <algorithm>
#include <cstring>

#include "engine/plan/channels_last.h"
#include "engine/plan/plan.h"

namespace mq::plan {

namespace {

using namespace cl;

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
