// A Linear reading a Cast of a bool tensor to float (a one-hot encoding written as Equal →
// Cast → MatMul, as JAX and TensorFlow export it) reads the bool mask itself: the product
// becomes the sum of the weight columns each row selects, without the float copy of the mask
// or a GEMM over its zeros.
#include <cmath>

#include "engine/plan/plan.h"

namespace mq::plan {

void fold_mask_casts(Graph& g) {
  for (Node* n : g.nodes()) {
    if (n->op() != OpKind::Linear || !n->input(0) || !n->input(1) || !n->input(1)->is_constant()) continue;
    Node* cast = n->input(0)->producer();
    if (!cast || cast->op() != OpKind::Cast || !cast->input(0) || cast->input(0)->dtype() != DType::boolean ||
        n->input(0)->dtype() != DType::f32 || n->input(0)->users().size() != 1 || g.is_output(n->input(0)))
      continue;
    // 0 · inf is NaN in the product: only finite weights may skip the mask's zeros
    const Tensor& w = *n->input(1)->constant();
    if (w.dtype() != DType::f32 || w.rank() != 2) continue;
    bool finite = true;
    for (int64_t i = 0; i < w.numel() && finite; ++i) finite = std::isfinite(w.data<float>()[i]);
    if (!finite) continue;
    g.set_input(n, 0, cast->input(0));
    g.reinfer(n);
  }
  g.remove_unused();
}

}  // namespace mq::plan
