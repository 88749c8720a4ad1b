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

void compile(Graph& g) {
  fuse_conv_epilogues(g);
  fold_mask_casts(g);
  nhwc_layout(g);
  fuse_space_to_depth(g);
  g.remove_unused();
  g.topo_sort();
  fuse_elementwise(g);
  g.topo_sort();
}

}  // namespace mq::plan
