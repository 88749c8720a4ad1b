#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "engine/ops/fused_program.h"
#include "engine/plan/plan.h"

namespace mq::plan {

namespace {

namespace k = mq::kernels;

bool is_f32(const Value* v) { return v && v->dtype() == DType::f32; }

/// A constant holding one f32 value (an instruction's immediate).
bool scalar_constant(const Value* v, float& value) {
  if (!v || !v->is_constant() || v->dtype() != DType::f32 || v->constant()->numel() != 1) return false;
  value = v->constant()->data<float>()[0];
  return true;
}

/// A QuantizeLinear / DequantizeLinear with one constant scale (f32, > 0) and zero point of
/// dtype `q` (or none: 0).
bool per_tensor(const Node* n, DType q, float& scale, int32_t& zp) {
  const Value* s = n->input(1);
  const Value* z = n->input(2);
  if (!s || !s->is_constant() || s->dtype() != DType::f32 || s->constant()->numel() != 1) return false;
  scale = s->constant()->data<float>()[0];
  if (!(scale > 0.f) || !std::isfinite(scale)) return false;
  zp = 0;
  if (z) {
    if (!z->is_constant() || z->dtype() != q || z->constant()->numel() != 1) return false;
    zp = int32_t(z->constant()->to_int64()[0]);
  }
  return n->inputs().size() <= 3;
}

/// The QuantizeLinear whose result only DequantizeLinear `dq` reads, back with the same
/// per-tensor scale and zero point (a QDQ model's fake quantization inside a chain), or null.
const Node* fake_quant_source(const Node* dq) {
  if (dq->op() != OpKind::DequantizeLinear || !dq->input(0)) return nullptr;
  const Node* q = dq->input(0)->producer();
  if (!q || q->op() != OpKind::QuantizeLinear || !is_f32(q->input(0)) || q->outputs().size() != 1) return nullptr;
  // only when this DequantizeLinear is the one reader: else the int8 tensor exists anyway and
  // reading it (1 byte an element) beats computing the float value again
  if (q->output(0)->users().size() != 1) return nullptr;
  const DType t = dq->input(0)->dtype();
  if (t != DType::u8 && t != DType::i8) return nullptr;
  float s1 = 0.f, s2 = 0.f;
  int32_t z1 = 0, z2 = 0;
  if (!per_tensor(q, t, s1, z1) || !per_tensor(dq, t, s2, z2) || s1 != s2 || z1 != z2) return nullptr;
  return q;
}

/// Operand `i` of `n` as the fused program reads it: a fake-quantizing DequantizeLinear reads
/// the float value its QuantizeLinear quantizes.
Value* operand(const Node* n, size_t i) {
  if (const Node* q = fake_quant_source(n)) return q->input(0);
  return n->input(i);
}

/// The instruction `n` computes (operand slots left for the caller), or false when `n` is
/// not an fp32 elementwise op the fused kernel evaluates exactly as the op's own executor.
/// `operands` gets how many of n's inputs are data operands (Clip's bounds are parameters).
bool instruction_of(const Node* n, k::FusedInstr& in, size_t& operands) {
  if (n->outputs().size() != 1 || !is_f32(n->output(0))) return false;
  const Attributes& a = n->attrs();
  auto binary = [&](k::BinaryOp op) {
    in.kind = k::FusedKind::binary;
    in.op = uint8_t(op);
    operands = 2;
    return n->inputs().size() == 2;
  };
  auto unary = [&](k::UnaryOp op) {
    in.kind = k::FusedKind::unary;
    in.op = uint8_t(op);
    operands = 1;
    return n->inputs().size() == 1;
  };
  auto act = [&](k::Activation op, float alpha = 0.f, float beta = 0.f) {
    in.kind = k::FusedKind::activation;
    in.op = uint8_t(op);
    in.params = {alpha, beta};
    operands = 1;
    return n->inputs().size() == 1;
  };
  bool ok = false;
  switch (n->op()) {
    case OpKind::Add: ok = binary(k::BinaryOp::add); break;
    case OpKind::Sub: ok = binary(k::BinaryOp::sub); break;
    case OpKind::Mul: ok = binary(k::BinaryOp::mul); break;
    case OpKind::Div: ok = binary(k::BinaryOp::div); break;
    case OpKind::Pow: ok = binary(k::BinaryOp::pow); break;
    case OpKind::Max: ok = binary(k::BinaryOp::max); break;
    case OpKind::Min: ok = binary(k::BinaryOp::min); break;
    case OpKind::Neg: ok = unary(k::UnaryOp::neg); break;
    case OpKind::Abs: ok = unary(k::UnaryOp::abs); break;
    case OpKind::Sqrt: ok = unary(k::UnaryOp::sqrt); break;
    case OpKind::Exp: ok = unary(k::UnaryOp::exp); break;
    case OpKind::Log: ok = unary(k::UnaryOp::log); break;
    case OpKind::Reciprocal: ok = unary(k::UnaryOp::reciprocal); break;
    case OpKind::DequantizeLinear: {  // per tensor: y = (x − zp) · scale, x u8 or i8
      const Value* x = n->input(0);
      float scale = 0.f;
      int32_t zp = 0;
      if (fake_quant_source(n)) {  // DequantizeLinear(QuantizeLinear(f)): round f to the grid
        per_tensor(n, x->dtype(), scale, zp);
        in.kind = k::FusedKind::fake_quant;
        in.op = x->dtype() == DType::u8 ? 0 : 1;
        in.params = {scale, 0.f};
        in.imm = float(zp);
        operands = 1;
        return true;
      }
      if (!x || (x->dtype() != DType::u8 && x->dtype() != DType::i8) || !per_tensor(n, x->dtype(), scale, zp))
        return false;
      in.kind = k::FusedKind::dequantize;
      in.params = {scale, 0.f};
      in.imm = float(zp);
      operands = 1;
      return true;
    }
    case OpKind::Cast: {  // bool / u8 / i8 → f32: exact, a dequantization with scale 1 and zero point 0
      const DType t = n->input(0) ? n->input(0)->dtype() : DType::undefined;
      if (t != DType::u8 && t != DType::i8 && t != DType::boolean) return false;
      in.kind = k::FusedKind::dequantize;
      in.params = {1.f, 0.f};
      in.imm = 0.f;
      operands = 1;
      return true;
    }
    case OpKind::Relu:
      in.kind = k::FusedKind::relu;
      operands = 1;
      ok = n->inputs().size() == 1;
      break;
    case OpKind::Clip: {
      in.kind = k::FusedKind::clip;
      operands = 1;
      float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
      ok = n->inputs().size() >= 1 && n->inputs().size() <= 3;
      if (ok && n->input(1)) ok = scalar_constant(n->input(1), lo);
      if (ok && n->input(2)) ok = scalar_constant(n->input(2), hi);
      in.params = {lo, hi};
      break;
    }
    case OpKind::LeakyRelu: ok = act(k::Activation::leaky_relu, a.get_float_or("alpha", 0.01f)); break;
    case OpKind::Sigmoid: ok = act(k::Activation::sigmoid); break;
    case OpKind::HardSigmoid:
      ok = act(k::Activation::hard_sigmoid, a.get_float_or("alpha", 0.2f), a.get_float_or("beta", 0.5f));
      break;
    case OpKind::HardSwish: ok = act(k::Activation::hard_swish); break;
    case OpKind::Tanh: ok = act(k::Activation::tanh); break;
    case OpKind::Erf: ok = act(k::Activation::erf); break;
    case OpKind::Softplus: ok = act(k::Activation::softplus); break;
    case OpKind::Gelu:
      ok = act(a.get_string_or("approximate", "none") == "tanh" ? k::Activation::gelu_tanh : k::Activation::gelu);
      break;
    default: return false;
  }
  if (!ok) return false;
  for (size_t i = 0; i < operands; ++i)
    if (!is_f32(n->input(i))) return false;
  return true;
}

bool candidate(const Node* n) {
  k::FusedInstr in;
  size_t operands = 0;
  return instruction_of(n, in, operands);
}

/// The chain ending at `root`: root and, transitively, the producers of its operands whose
/// output only the chain reads, is not a graph output and has the root's shape (a smaller
/// intermediate would be recomputed for every element it broadcasts to).
std::vector<Node*> chain_of(const Graph& g, Node* root, const std::unordered_set<const Node*>& taken) {
  std::vector<Node*> group = {root};
  std::unordered_set<const Node*> in_group = {root};
  const Shape& shape = root->output(0)->shape();
  for (bool grew = true; grew;) {
    grew = false;
    for (size_t gi = 0; gi < group.size() && group.size() < ops::kMaxFusedInstructions; ++gi) {
      std::vector<Value*> reads;
      size_t count = 0;
      k::FusedInstr scratch;
      if (!instruction_of(group[gi], scratch, count)) count = group[gi]->inputs().size();
      for (size_t i = 0; i < count; ++i) reads.push_back(operand(group[gi], i));
      for (Value* v : reads) {
        Node* p = v ? v->producer() : nullptr;
        if (!p || in_group.count(p) || taken.count(p) || g.is_output(v) || !candidate(p) ||
            !same_shape(v->shape(), shape))
          continue;
        // a DequantizeLinear is cheap to compute again: the chain takes it even when others
        // read it too (the int8 value is then what the chain reads)
        // readers: the chain, or a QuantizeLinear only the chain's fake quantization reads
        auto in_chain = [&](const Node* u) {
          if (in_group.count(u)) return true;
          return u->op() == OpKind::QuantizeLinear && !g.is_output(u->output(0)) &&
                 !u->output(0)->users().empty() &&
                 std::all_of(u->output(0)->users().begin(), u->output(0)->users().end(),
                             [&](const Node* r) { return in_group.count(r) != 0 && fake_quant_source(r) == u; });
        };
        if (p->op() != OpKind::DequantizeLinear && !std::all_of(v->users().begin(), v->users().end(), in_chain))
          continue;
        group.push_back(p);
        in_group.insert(p);
        grew = true;
        if (group.size() >= ops::kMaxFusedInstructions) break;
      }
    }
  }
  return group;
}

/// A QuantizeLinear that can be a chain's output quantization: f32 input, per-tensor u8 / i8.
bool quantize_root(const Node* n, float& scale, int32_t& zp) {
  if (n->op() != OpKind::QuantizeLinear || !is_f32(n->input(0)) || n->outputs().size() != 1) return false;
  const DType out = n->output(0)->dtype();
  return (out == DType::u8 || out == DType::i8) && per_tensor(n, out, scale, zp);
}

/// Replaces `group` (in execution order, the root last) and `quant` (a QuantizeLinear reading
/// the root, or null) by one FusedElementwise node; false when its operands are more than one
/// step takes.
bool replace_chain(Graph& g, const std::vector<Node*>& group, Node* quant, std::vector<const Node*>& removed) {
  std::unordered_map<const Value*, int32_t> slot_of_result;
  std::vector<Value*> externals;
  std::vector<k::FusedInstr> program;
  auto external_slot = [&](Value* v) {
    auto it = std::find(externals.begin(), externals.end(), v);
    if (it != externals.end()) return int32_t(it - externals.begin());
    externals.push_back(v);
    return int32_t(externals.size() - 1);
  };
  // externals first (their slots come before every result), then the instructions
  struct Pending {
    k::FusedInstr in;
    Value* operand[2] = {nullptr, nullptr};
  };
  std::vector<Pending> pending;
  for (Node* n : group) {
    Pending p;
    size_t operands = 0;
    instruction_of(n, p.in, operands);
    bool immediate_used = false;
    for (size_t i = 0; i < operands; ++i) {
      Value* v = operand(n, i);
      float imm = 0.f;
      const bool inside = v->producer() && std::find(group.begin(), group.end(), v->producer()) != group.end();
      if (!inside && p.in.kind == k::FusedKind::binary && !immediate_used && scalar_constant(v, imm)) {
        immediate_used = true;
        p.in.imm = imm;
        (i == 0 ? p.in.a : p.in.b) = k::kFusedImmediate;
        continue;
      }
      p.operand[i] = v;
      if (!inside) external_slot(v);
    }
    pending.push_back(p);
    slot_of_result[n->output(0)] = int32_t(pending.size() - 1);
  }
  if (externals.empty() || externals.size() > k::kMaxBroadcastOperands) return false;
  const int32_t num_ext = int32_t(externals.size());
  for (Pending& p : pending) {
    for (int i = 0; i < 2; ++i) {
      if (!p.operand[i]) continue;
      auto it = slot_of_result.find(p.operand[i]);
      (i == 0 ? p.in.a : p.in.b) = it != slot_of_result.end() ? num_ext + it->second : external_slot(p.operand[i]);
    }
    program.push_back(p.in);
  }
  Node* root = quant ? quant : group.back();
  const std::string name = root->name();
  Node* fused = g.insert_node(group.front(), OpKind::FusedElementwise,
                              {.name = g.unique_name(name + "_fused"), .inputs = externals});
  ops::encode_fused_program(*fused, program);
  if (quant) {
    float scale = 0.f;
    int32_t zp = 0;
    quantize_root(quant, scale, zp);
    fused->attrs().set("output_type", std::string(quant->output(0)->dtype() == DType::u8 ? "u8" : "s8"));
    fused->attrs().set("output_scale", scale);
    fused->attrs().set("output_zero_point", int64_t(zp));
  }
  g.reinfer(fused);
  Value* out = root->output(0);
  fused->output(0)->set_quant(out->type().quant);  // a quantized layer reading it needs its QuantParams
  const std::string out_name = out->name();
  g.replace_all_uses(out, fused->output(0));
  g.rename_value(out, g.unique_name(out_name + "_unfused"));
  g.rename_value(fused->output(0), out_name);
  if (quant) g.remove_node(quant);
  for (auto it = group.rbegin(); it != group.rend();
       ++it)  // a shared DequantizeLinear stays for its other readers
    if ((*it)->output(0)->users().empty()) {
      Node* q = const_cast<Node*>(fake_quant_source(*it));
      removed.push_back(*it);
      g.remove_node(*it);
      if (q && q->output(0)->users().empty() &&
          !g.is_output(q->output(0))) {  // its QuantizeLinear had no other reader
        removed.push_back(q);
        g.remove_node(q);
      }
    }
  g.rename_node(fused, name);
  return true;
}

}  // namespace

void fuse_elementwise(Graph& g) {
  const std::vector<Node*> order = g.nodes();
  std::unordered_map<const Node*, size_t> position;
  for (size_t i = 0; i < order.size(); ++i) position[order[i]] = i;
  std::unordered_set<const Node*> taken;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* root = *it;
    if (taken.count(root)) continue;
    // a QuantizeLinear whose input only it reads quantizes the chain that computes the input
    Node* quant = nullptr;
    float scale = 0.f;
    int32_t zp = 0;
    if (quantize_root(root, scale, zp)) {
      Value* v = root->input(0);
      Node* p = v->producer();
      if (!p || taken.count(p) || g.is_output(v) || v->users().size() != 1 || !candidate(p)) continue;
      quant = root;
      root = p;
    } else if (!candidate(root)) {
      continue;
    }
    std::vector<Node*> group = chain_of(g, root, taken);
    if (group.size() + (quant ? 1 : 0) < 2) continue;
    std::sort(group.begin(), group.end(), [&](const Node* a, const Node* b) { return position[a] < position[b]; });
    std::vector<const Node*> removed;
    if (!replace_chain(g, group, quant, removed)) continue;
    // a DequantizeLinear others still read may join their chains too
    for (const Node* n : removed) taken.insert(n);
    if (quant) taken.insert(quant);
  }
}

}  // namespace mq::plan
