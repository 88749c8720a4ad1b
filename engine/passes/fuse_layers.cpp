// Layer canonicalization after constant folding: MatMul with a (now) constant 2-D weight
// becomes Linear, and a constant Add right after a Linear / Conv2d becomes its bias.
#include "engine/passes/passes.h"

namespace mq::passes {

namespace {

bool f32_const(const Value* v) { return v && v->is_constant() && v->dtype() == DType::f32; }

void matmul_to_linear(Graph& g) {
  for (Node* n : g.nodes()) {
    if (n->op() != OpKind::MatMul || !f32_const(n->input(1)) || n->input(1)->shape().rank() != 2) continue;
    Value* a = n->input(0);
    if (!a || !a->shape().has_rank() || a->shape().rank() < 2) continue;  // 1-D A changes the output rank
    const Tensor& b = *n->input(1)->constant();
    int64_t k = b.dim(0), m = b.dim(1);
    Tensor w(DType::f32, {m, k});
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < m; ++j) w.data<float>()[j * k + i] = b.data<float>()[i * m + j];
    Value* wv = g.add_constant(g.unique_name(n->input(1)->name() + "_t"), std::move(w));
    std::string out_name = n->output(0)->name(), name = n->name();
    Node* lin = g.insert_node(n, OpKind::Linear, {.name = g.unique_name(name + "_linear"), .inputs = {a, wv}});
    g.replace_all_uses(n->output(0), lin->output(0));
    g.remove_node(n);
    g.rename_node(lin, name);
    g.rename_value(lin->output(0), out_name);
  }
}

/// The per-channel values of a constant bias operand for `channels` channels at `axis` of an
/// output of rank `rank`, or empty when it is not such a bias.
std::vector<float> channel_bias(const Tensor& c, int64_t channels, size_t axis, size_t rank) {
  if (c.numel() != channels || c.rank() > rank) return {};
  // every dim but the channel one must be 1, and the channel dim must align with `axis`
  size_t offset = rank - c.rank();
  for (size_t i = 0; i < c.rank(); ++i) {
    bool is_channel = i + offset == axis;
    if (!is_channel && c.dim(i) != 1) return {};
    if (is_channel && c.dim(i) != channels) return {};
  }
  if (axis < offset) return {};
  return c.to_float();
}

void add_to_bias(Graph& g) {
  for (Node* add : g.nodes()) {
    if (add->op() != OpKind::Add) continue;
    for (int side = 0; side < 2; ++side) {
      Value* y = add->input(size_t(side));
      Value* c = add->input(size_t(1 - side));
      Node* layer = y ? y->producer() : nullptr;
      if (!layer || !f32_const(c) || y->users().size() != 1 || g.is_output(y)) continue;
      if (layer->op() != OpKind::Linear && layer->op() != OpKind::Conv2d) continue;
      if (!f32_const(layer->input(1)) || (layer->input(2) && !f32_const(layer->input(2)))) continue;
      if (!y->shape().has_rank() || !add->output(0)->shape().has_rank() ||
          !(add->output(0)->shape() == y->shape()))
        continue;  // the Add must not broadcast the layer's output to a larger shape
      int64_t channels = layer->input(1)->constant()->dim(0);
      size_t rank = y->shape().rank();
      size_t axis = layer->op() == OpKind::Linear ? rank - 1 : 1;
      std::vector<float> extra = channel_bias(*c->constant(), channels, axis, rank);
      if (extra.empty()) continue;
      if (layer->input(2)) {
        auto b = layer->input(2)->constant()->to_float();
        for (size_t i = 0; i < extra.size(); ++i) extra[i] += b[i];
      }
      Value* nb =
          g.add_constant(g.unique_name(layer->name() + "_bias"), Tensor::from_vector<float>({channels}, extra));
      g.set_input(layer, 2, nb);
      std::string out_name = add->output(0)->name();
      g.replace_all_uses(add->output(0), y);
      g.remove_node(add);
      if (!g.find_value(out_name)) g.rename_value(y, out_name);
      break;
    }
  }
}

}  // namespace

void fuse_layers(Graph& g) {
  matmul_to_linear(g);
  add_to_bias(g);
  g.remove_unused();
}

}  // namespace mq::passes
