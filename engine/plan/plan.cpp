#include "engine/plan/plan.h"

namespace mq::plan {

bool same_shape(const Shape& a, const Shape& b) {
  if (!a.has_rank() || !b.has_rank() || a.rank() != b.rank()) return false;
  for (size_t i = 0; i < a.rank(); ++i) {
    if (a[i].is_static() != b[i].is_static()) return false;
    if (a[i].is_static() && a[i].value != b[i].value) return false;
    if (!a[i].is_static() && !a[i].symbol.empty() && !b[i].symbol.empty() && a[i].symbol != b[i].symbol)
      return false;
  }
  return true;
}

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

void compile(Graph& g) {
  fuse_conv_epilogues(g);
  fold_mask_casts(g);
  nhwc_layout(g);
  fuse_space_to_depth(g);
  g.remove_unused();
  g.topo_sort();
  fuse_elementwise(g);
  fuse_conv_tables(g);
  g.remove_unused();
  g.topo_sort();
}

}  // namespace mq::plan
