// Dynamically quantized MatMuls as ONNX Runtime's quantize_dynamic writes them —
//   DynamicQuantizeLinear(x) → (xq, xs, xz)
//   MatMulInteger(xq, W, xz, wz) → Cast(float) → Mul(·, Mul(xs, ws)) [→ Add(·, bias)]
// — become one DynamicQLinear(x, W, bias): the same arithmetic (x quantized to u8 from its own
// range, exact int32 products, float(acc) · (xs · ws) + bias) in one step on the int8 GEMM
// instead of five or six. W must be a constant symmetric 8-bit weight [K, N] (s8 with zero
// points 0, or u8 with zero points 128), its scale one value or one per column. What does not
// match stays as it is.
#include <cmath>

#include "engine/passes/passes.h"

namespace mq::passes {

namespace {

/// `v`'s only reader (null when it has several, none, or is a graph output).
Node* only_reader(const Graph& g, const Value* v) {
  if (!v || g.is_output(v) || v->users().size() != 1) return nullptr;
  return v->users()[0];
}

/// The operand of binary `n` that is not `v` (null when `v` is not an operand).
Value* other_operand(const Node* n, const Value* v) {
  if (n->inputs().size() != 2) return nullptr;
  if (n->input(0) == v) return n->input(1);
  if (n->input(1) == v) return n->input(0);
  return nullptr;
}

/// W [K, N] with zero points `wz` and scales `ws` as DynamicQLinear's weight: s8 [N, K] with
/// QuantParams (per tensor, or per output channel on axis 0). False when W is not symmetric.
bool linear_weight(const Value* w, const Value* wz, const Value* ws, Tensor& out) {
  if (!w || !w->is_constant() || !ws || !ws->is_constant() || ws->dtype() != DType::f32) return false;
  const Tensor& t = *w->constant();
  if (t.rank() != 2 || (t.dtype() != DType::i8 && t.dtype() != DType::u8)) return false;
  const int64_t k = t.dim(0), n = t.dim(1);
  const auto scales = ws->constant()->to_float();
  if (scales.size() != 1 && int64_t(scales.size()) != n) return false;
  if (scales.size() != 1 && ws->constant()->rank() != 1) return false;
  for (float s : scales)
    if (!(std::isfinite(s) && s > 0.f)) return false;
  const int64_t symmetric = t.dtype() == DType::u8 ? 128 : 0;
  if (wz) {
    if (!wz->is_constant() || wz->dtype() != t.dtype()) return false;
    const auto z = wz->constant()->to_int64();
    if (z.size() != 1 && int64_t(z.size()) != n) return false;
    for (int64_t v : z)
      if (v != symmetric) return false;
  } else if (symmetric != 0) {
    return false;
  }
  out = Tensor(DType::i8, {n, k});
  int8_t* dst = out.data<int8_t>();
  const auto* src = static_cast<const uint8_t*>(t.raw());
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) dst[j * k + i] = int8_t(int(src[i * n + j]) - int(symmetric));
  QuantParams q;
  q.scales = scales;
  q.zero_points.assign(scales.size(), 0);
  if (scales.size() != 1) q.axis = 0;
  q.qtype = DType::i8;
  out.set_quant(q);
  return true;
}

/// A constant float bias of N values along the last axis (shape [N], or [1, ..., N]).
bool bias_vector(const Value* b, int64_t n) {
  if (!b || !b->is_constant() || b->dtype() != DType::f32) return false;
  const Tensor& t = *b->constant();
  if (t.rank() < 1 || t.numel() != n || t.dim(t.rank() - 1) != n) return false;
  return true;
}

bool fuse_one(Graph& g, Node* mm) {
  Node* dql = mm->input(0) ? mm->input(0)->producer() : nullptr;
  if (!dql || dql->op() != OpKind::DynamicQuantizeLinear || dql->outputs().size() != 3) return false;
  if (mm->input(2) != dql->output(2)) return false;  // the zero point of the same quantization
  Value* x = dql->input(0);
  if (!x || x->dtype() != DType::f32) return false;
  // Cast to float, then one Mul by the product of the scales
  Node* cast = only_reader(g, mm->output(0));
  if (!cast || cast->op() != OpKind::Cast || cast->output(0)->dtype() != DType::f32) return false;
  Node* mul = only_reader(g, cast->output(0));
  if (!mul || mul->op() != OpKind::Mul) return false;
  Value* scale = other_operand(mul, cast->output(0));
  Node* scale_mul = scale ? scale->producer() : nullptr;
  if (!scale_mul || scale_mul->op() != OpKind::Mul || g.is_output(scale) || scale->users().size() != 1)
    return false;
  Value* ws = other_operand(scale_mul, dql->output(1));
  Tensor w;
  if (!ws || !linear_weight(mm->input(1), mm->input(3), ws, w)) return false;
  // an Add of a constant bias after it
  Value* y = mul->output(0);
  Node* add = only_reader(g, y);
  Value* bias = add && add->op() == OpKind::Add ? other_operand(add, y) : nullptr;
  if (!bias_vector(bias, w.dim(0))) add = nullptr, bias = nullptr;
  if (add) {
    Tensor b = bias->constant()->reshaped({w.dim(0)});
    bias = g.add_constant(g.unique_name(mm->name() + "_bias"), b);
    y = add->output(0);
  }
  // the result keeps its shape: the fused layer's output must be the one y has
  if (!y->shape().has_rank() || !x->shape().has_rank() || y->shape().rank() != x->shape().rank()) return false;

  const std::string name = mm->name(), out_name = y->name();
  Value* wv = g.add_constant(g.unique_name(name + "_weight_int8"), w);
  Node* fused = g.insert_node(mm, OpKind::DynamicQLinear,
                              {.name = g.unique_name(name + "_dynamic"), .inputs = {x, wv, bias}});
  g.replace_all_uses(y, fused->output(0));
  for (Node* n : {add, mul, scale_mul, cast, mm})
    if (n) g.remove_node(n);  // the DynamicQuantizeLinear goes with remove_unused once unread
  g.rename_node(fused, name);
  g.rename_value(fused->output(0), out_name);
  return true;
}

}  // namespace

int fuse_dynamic_matmul(Graph& g) {
  int fused = 0;
  std::vector<Node*> candidates;
  for (Node* n : g.nodes())
    if (n->op() == OpKind::MatMulInteger) candidates.push_back(n);
  for (Node* n : candidates)
    if (fuse_one(g, n)) ++fused;
  if (fused) g.remove_unused();
  return fused;
}

}  // namespace mq::passes
