// Linear / Conv2d → QLinear / QConv2d (static: int8 in, int8 out, bias int32) or
// DynamicQLinear, and back to float.
#include "engine/quantize/patterns/weighted_layer.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace mq::quant {

bool is_f32_const(const Value* v) { return v && v->is_constant() && v->dtype() == DType::f32; }

std::string weighted_ineligible(const Node& n) {
  Value* x = n.input(0);
  if (!x || x->dtype() != DType::f32) return "input is not f32";
  if (x->is_constant()) return "input is a constant";
  if (!is_f32_const(n.input(1))) return "weight is not an f32 constant";
  if (n.input(2) && !is_f32_const(n.input(2))) return "bias is not an f32 constant";
  if (n.op() == OpKind::Conv2d && (!x->shape().has_rank() || x->shape().rank() != 4)) return "input is not 4-D";
  return "";
}

Node* fusable_activation(const Graph& g, const Node& n) {
  Value* out = n.output(0);
  if (out->users().size() != 1 || g.is_output(out)) return nullptr;
  Node* u = out->users()[0];
  if (u->op() == OpKind::Relu) return u;
  if (u->op() == OpKind::Clip) {
    for (size_t i = 1; i < 3; ++i)
      if (u->input(i) && !u->input(i)->is_constant()) return nullptr;
    return u;
  }
  return nullptr;
}

void observe_weighted(const Graph& g, const Node& n, std::set<std::string>& names) {
  names.insert(n.input(0)->name());
  if (n.output(0)) names.insert(n.output(0)->name());
  if (Node* act = fusable_activation(g, n)) names.insert(act->output(0)->name());
}

namespace {

/// True when folding `act` (a Relu or Clip) into a layer whose output is quantized with
/// `qy` gives the values the float activation gives: each bound of the activation inside
/// the quantized range must be a point of its grid (0 always is; Clip to [0, 6] on a [0, 6]
/// range is). A bound between grid points — Clip(min 1e-10) before a Log, whose clamp would
/// round to 0 — keeps the activation a separate float op after the layer.
bool fusion_is_exact(const Node& act, const QuantParams& qy, const QuantScheme& scheme) {
  if (act.op() == OpKind::Relu) return true;
  const QRange r = quant_range(scheme);
  const double s = qy.scales.at(0), zp = qy.zero_points.at(0);
  const double lo = s * (r.qmin - zp), hi = s * (r.qmax - zp);
  for (size_t i = 1; i < 3; ++i) {
    if (!act.input(i)) continue;
    const auto v = act.input(i)->constant()->to_float();
    if (v.size() != 1) return false;
    const double b = v[0];
    if (!std::isfinite(b) || b <= lo || b >= hi) continue;  // the range's own saturation
    const double back = s * (std::nearbyint(b / s + zp) - zp);
    if (std::fabs(back - b) > 1e-6 * std::fabs(b)) return false;
  }
  return true;
}

std::vector<float> channel_scales(const Tensor& wq, int64_t channels) {
  const auto& q = *wq.quant();
  if (q.scales.size() == 1) return std::vector<float>(size_t(channels), q.scales[0]);
  return q.scales;
}

}  // namespace

Tensor quantize_weight(const Tensor& w, bool per_channel, bool reduce_range) {
  QuantScheme scheme = QuantScheme::weight();
  scheme.reduce_range = reduce_range;
  int64_t rows = w.dim(0);
  int64_t per = w.numel() / std::max<int64_t>(1, rows);
  const float* p = w.data<float>();
  QuantParams qp;
  if (per_channel) {
    std::vector<float> lo(static_cast<size_t>(rows)), hi(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      float a = 0.f, b = 0.f;
      for (int64_t i = 0; i < per; ++i) {
        a = std::min(a, p[r * per + i]);
        b = std::max(b, p[r * per + i]);
      }
      lo[size_t(r)] = a;
      hi[size_t(r)] = b;
    }
    qp = compute_qparams(lo, hi, 0, scheme);
  } else {
    float a = 0.f, b = 0.f;
    for (int64_t i = 0; i < w.numel(); ++i) {
      a = std::min(a, p[i]);
      b = std::max(b, p[i]);
    }
    qp = compute_qparams(a, b, scheme);
  }
  return quantize_tensor(w, qp);
}

void rewrite_weighted(Rewriter& r, Node* n, LayerReport& rep) {
  Graph& g = r.g;
  const QuantizeOptions& o = r.o;
  const Tensor& w = *n->input(1)->constant();
  Tensor wq = quantize_weight(w, o.per_channel_weights, o.reduce_range_weights);
  int64_t cout = w.dim(0);
  rep.weight_sqnr_db = sqnr_db(w, dequantize_tensor(wq));
  rep.weight_bytes_fp32 = int64_t(w.nbytes()) + (n->input(2) ? int64_t(n->input(2)->constant()->nbytes()) : 0);
  rep.weight_bytes_int8 = int64_t(wq.nbytes()) + int64_t(wq.quant()->scales.size()) * 4;
  std::string base = n->name();
  Value* wv = g.add_constant(g.unique_name(base + "_weight_int8"), wq);
  if (o.mode == QuantMode::dynamic_quant || r.float_output_linear(*n)) {
    // a float output; the input quantized per call, or its int8 version as it is when int8
    // forms compute it (an int8 layer's output through Relu: no second rounding, no min/max pass)
    Value* x = n->input(0);
    const bool int8_in =
        o.mode == QuantMode::static_quant && r.int8_supplied(x) && (r.existing_int8(x) || r.calibrated(x));
    if (int8_in) x = r.int8_input(x, n);
    std::vector<Value*> ins{x, wv, n->input(2)};
    Node* dq = g.insert_node(n, OpKind::DynamicQLinear, {.name = g.unique_name(base + "_dynamic"), .inputs = ins});
    if (n->input(2)) rep.weight_bytes_int8 += int64_t(n->input(2)->constant()->nbytes());
    const std::string w = std::string(" w:s8/") + (o.per_channel_weights ? "channel" : "tensor");
    rep.scheme = int8_in ? "static" + w + " a:" + std::string(dtype_name(x->dtype())) + ", float output"
                         : "dynamic" + w + " a:u8/call";
    r.probes.push_back({r.reports.size(), n->output(0)->name(), "", false});
    r.replace_outputs(n, dq, nullptr);
    g.rename_node(dq, base);
    r.probes.back().quant_value = dq->output(0)->name();
    rep.quantized = true;
    return;
  }
  const QuantScheme scheme = r.activation_scheme();
  Node* act = o.fuse_activations ? fusable_activation(g, *n) : nullptr;
  std::optional<QuantParams> qy;  // of the fused activation's output, else of the layer's
  if (act && r.calibrated(act->output(0))) {
    qy = r.params(act->output(0));
    if (!fusion_is_exact(*act, *qy, scheme)) act = nullptr, qy.reset();
  }
  Value* out = act ? act->output(0) : n->output(0);
  if (!r.calibrated(n->input(0)) && !r.existing_int8(n->input(0))) {
    rep.scheme = "float (not calibrated)";
    return;
  }
  if (!r.calibrated(out)) {
    rep.scheme = "float (not calibrated)";
    return;
  }
  if (!qy) qy = r.params(out);
  Value* xq = r.int8_input(n->input(0), n);
  float sx = xq->type().quant->scales.at(0);
  auto sw = channel_scales(wq, cout);
  Value* bv = nullptr;
  if (n->input(2)) {
    auto b = n->input(2)->constant()->to_float();
    std::vector<int32_t> bq(b.size());
    QuantParams bp;
    bp.axis = 0;
    bp.qtype = DType::i32;
    for (size_t c = 0; c < b.size(); ++c) {
      double s = double(sx) * double(sw[c]);
      double v = std::nearbyint(double(b[c]) / s);
      bq[c] = int32_t(std::clamp(v, -2147483648.0, 2147483647.0));
      bp.scales.push_back(float(s));
      bp.zero_points.push_back(0);
    }
    Tensor bt = Tensor::from_vector<int32_t>({int64_t(bq.size())}, bq);
    bt.set_quant(bp);
    rep.weight_bytes_int8 += int64_t(bt.nbytes());
    bv = g.add_constant(g.unique_name(base + "_bias_int32"), bt);
  }
  Attributes attrs = n->op() == OpKind::Conv2d ? n->attrs() : Attributes();
  if (act) {
    rep.activation = act->op() == OpKind::Relu ? "relu" : "clip";
    attrs.set("activation", rep.activation);
    if (act->op() == OpKind::Clip) {
      if (act->input(1)) attrs.set("clip_min", act->input(1)->constant()->to_float().at(0));
      if (act->input(2)) attrs.set("clip_max", act->input(2)->constant()->to_float().at(0));
    }
  }
  Value* ys = r.scalar_const(out->name() + "_scale", qy->scales[0]);
  Value* yz = r.zp_const(out->name() + "_zero_point", qy->zero_points[0], o.activation_type);
  OpKind qop = n->op() == OpKind::Conv2d ? OpKind::QConv2d : OpKind::QLinear;
  Node* qn = g.insert_node(
      n, qop, {.name = g.unique_name(base + "_int8"), .inputs = {xq, wv, bv, ys, yz}, .attrs = attrs});
  Node* dq =
      g.insert_node(n, OpKind::DequantizeLinear,
                    {.name = g.unique_name(out->name() + "_dequantize"), .inputs = {qn->output(0), ys, yz}});
  r.probes.push_back({r.reports.size(), out->name(), qn->output(0)->name(), true});
  r.quantized[dq->output(0)] = qn->output(0);
  r.dequantized[qn->output(0)] = dq->output(0);
  r.replace_outputs(n, dq, act);
  g.rename_node(qn, base);
  g.rename_value(qn->output(0), g.unique_name(base + ":int8"));
  r.probes.back().quant_value = qn->output(0)->name();
  rep.scheme = std::string(o.reduce_range_weights ? "static w:s7/" : "static w:s8/") +
               (o.per_channel_weights ? "channel" : "tensor") +
               " a:" + std::string(dtype_name(o.activation_type)) + (o.symmetric_activations ? "/sym" : "");
  rep.quantized = true;
}

void layer_to_float(Graph& out, Node* n, OpKind fop) {
  std::string name = n->name();
  Value* x = n->input(0);
  // static layers read int8 activations: read the float value behind the QuantizeLinear
  if (x->dtype() != DType::f32) {
    const QuantParams& q = *x->type().quant;
    Value* s = out.add_constant(out.unique_name(name + "_xs"), Tensor::scalar<float>(q.scales[0]));
    Value* z =
        x->dtype() == DType::u8
            ? out.add_constant(out.unique_name(name + "_xz"), Tensor::scalar<uint8_t>(uint8_t(q.zero_points[0])))
            : out.add_constant(out.unique_name(name + "_xz"), Tensor::scalar<int8_t>(int8_t(q.zero_points[0])));
    x = out.insert_node(n, OpKind::DequantizeLinear,
                        {.name = out.unique_name(name + "_dq_in"), .inputs = {x, s, z}})
            ->output(0);
  }
  const float x_scale = n->input(0)->type().quant ? n->input(0)->type().quant->scales.at(0) : 1.f;
  Attributes attrs = n->attrs();
  std::string act = attrs.get_string_or("activation", "");
  for (const char* k :
       {"activation", "clip_min", "clip_max", "x_scale", "x_zero_point", "h_scale", "h_zero_point"})
    attrs.erase(k);
  std::vector<Value*> ins{x};
  Tensor w = dequantize_tensor(*n->input(1)->constant());
  if (fop == OpKind::LSTM) {
    int64_t D = attrs.get_string_or("direction", "forward") == "bidirectional" ? 2 : 1;
    int64_t H = attrs.get_int("hidden_size");
    Tensor rw = dequantize_tensor(*n->input(2)->constant());
    ins.push_back(out.add_constant(out.unique_name(name + "_W"), w.reshaped({D, 4 * H, w.dim(1)})));
    ins.push_back(out.add_constant(out.unique_name(name + "_R"), rw.reshaped({D, 4 * H, H})));
    for (size_t i = 3; i < 7; ++i) ins.push_back(n->input(i));
  } else {
    ins.push_back(out.add_constant(out.unique_name(name + "_W"), w));
    Value* b = n->input(2);
    if (b && b->dtype() == DType::i32) {
      // int32 bias in units of x_scale · w_scale[c] (its own QuantParams say so when present)
      const Tensor& bt = *b->constant();
      std::vector<float> scales;
      if (bt.quant()) {
        scales = bt.quant()->scales;
      } else {
        for (float sw : n->input(1)->constant()->quant()->scales) scales.push_back(x_scale * sw);
      }
      auto iv = bt.to_int64();
      std::vector<float> bf(iv.size());
      for (size_t i = 0; i < iv.size(); ++i) bf[i] = float(iv[i]) * scales.at(scales.size() == 1 ? 0 : i);
      b = out.add_constant(out.unique_name(name + "_B"), Tensor::from_vector<float>({int64_t(bf.size())}, bf));
    }
    ins.push_back(b);
  }
  Node* f = out.insert_node(n, fop,
                            {.name = out.unique_name(name + "_float"),
                             .inputs = ins,
                             .attrs = attrs,
                             .num_outputs = n->outputs().size()});
  Node* last = f;
  if (act == "relu")
    last = out.insert_node(n, OpKind::Relu, {.name = out.unique_name(name + "_relu"), .inputs = {f->output(0)}});
  if (act == "clip") {
    Value* lo = out.add_constant(out.unique_name(name + "_min"),
                                 Tensor::scalar<float>(n->attrs().get_float_or("clip_min", -INFINITY)));
    Value* hi = out.add_constant(out.unique_name(name + "_max"),
                                 Tensor::scalar<float>(n->attrs().get_float_or("clip_max", INFINITY)));
    last = out.insert_node(n, OpKind::Clip,
                           {.name = out.unique_name(name + "_clip"), .inputs = {f->output(0), lo, hi}});
  }
  // a static layer's int8 output is read through a DequantizeLinear: give float readers the float value
  Value* y = n->output(0);
  if (y->dtype() != DType::f32) {
    for (Node* u : std::vector<Node*>(y->users()))
      if (u->op() == OpKind::DequantizeLinear) out.replace_all_uses(u->output(0), last->output(0));
    // remaining int8 readers (other static layers, int8 forms) get a QuantizeLinear
    if (!y->users().empty()) {
      Node* qn = out.insert_node(
          n, OpKind::QuantizeLinear,
          {.name = out.unique_name(name + "_requantize"), .inputs = {last->output(0), n->input(3), n->input(4)}});
      out.replace_all_uses(y, qn->output(0));
    }
  } else {
    for (size_t i = 0; i < n->outputs().size(); ++i)
      out.replace_all_uses(n->output(i), (i == 0 ? last : f)->output(i == 0 ? 0 : i));
  }
  out.remove_node(n);
  out.rename_node(f, name);
}

bool WeightedPattern::rewrite(Rewriter& r, Node* n, LayerReport& rep) const {
  if (r.o.mode == QuantMode::dynamic_quant && !dynamic_op_)
    rep.scheme = "float (dynamic " + std::string(op_name(float_op_)) + " is not supported)";
  else rewrite_weighted(r, n, rep);
  return true;
}

bool WeightedPattern::to_float(Graph& g, Node* n) const {
  if (!produces(n->op())) return false;
  layer_to_float(g, n, float_op_);
  return true;
}

}  // namespace mq::quant
