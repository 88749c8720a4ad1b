#include <cmath>

#include "engine/passes/passes.h"

namespace mq::passes {

namespace {
bool all_constant(const Node& n, size_t from) {
  for (size_t i = from; i < n.inputs().size(); ++i)
    if (!n.input(i) || !n.input(i)->is_constant() || n.input(i)->dtype() != DType::f32) return false;
  return n.inputs().size() == 5;
}
}  // namespace

void fold_batch_norm(Graph& g) {
  for (Node* bn : g.nodes()) {
    if (bn->op() != OpKind::BatchNormalization || bn->outputs().size() != 1 || !all_constant(*bn, 1)) continue;
    if (bn->attrs().get_int_or("training_mode", 0) != 0) continue;
    Value* x = bn->input(0);
    Node* layer = x->producer();
    if (!layer || (layer->op() != OpKind::Conv2d && layer->op() != OpKind::Linear)) continue;
    if (x->users().size() != 1 || g.is_output(x)) continue;
    if (layer->op() == OpKind::Linear && (!x->shape().has_rank() || x->shape().rank() != 2)) continue;
    Value* w = layer->input(1);
    Value* b = layer->input(2);
    if (!w || !w->is_constant() || w->dtype() != DType::f32) continue;
    if (b && (!b->is_constant() || b->dtype() != DType::f32)) continue;

    const Tensor& wt = *w->constant();
    int64_t cout = wt.dim(0);
    auto scale = bn->input(1)->constant()->to_float();
    auto shift = bn->input(2)->constant()->to_float();
    auto mean = bn->input(3)->constant()->to_float();
    auto var = bn->input(4)->constant()->to_float();
    if (int64_t(scale.size()) != cout || shift.size() != scale.size() || mean.size() != scale.size() ||
        var.size() != scale.size())
      continue;
    float eps = bn->attrs().get_float_or("epsilon", 1e-5f);
    Tensor nw = wt.clone();
    int64_t per = wt.numel() / cout;
    float* pw = nw.data<float>();
    std::vector<float> nb(size_t(cout), 0.f);
    std::vector<float> ob = b ? b->constant()->to_float() : std::vector<float>(size_t(cout), 0.f);
    for (int64_t c = 0; c < cout; ++c) {
      float k = scale[c] / std::sqrt(var[c] + eps);
      for (int64_t i = 0; i < per; ++i) pw[c * per + i] *= k;
      nb[c] = (ob[c] - mean[c]) * k + shift[c];
    }
    Value* nwv = g.add_constant(g.unique_name(w->name() + "_bnfolded"), std::move(nw));
    Value* nbv =
        g.add_constant(g.unique_name(layer->name() + "_bias_bnfolded"), Tensor::from_vector<float>({cout}, nb));
    g.set_input(layer, 1, nwv);
    g.set_input(layer, 2, nbv);
    g.replace_all_uses(bn->output(0), x);
    g.remove_node(bn);
  }
  g.remove_unused();
}

}  // namespace mq::passes
