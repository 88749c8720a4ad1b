// Rewrites Linear / Conv2d / LSTM into monoquant's quantized ops (see ir/ops/quantized.cpp
// for their operands). Static mode places QuantizeLinear before the first int8 layer of a
// chain and DequantizeLinear after the last; int8 values flow through quantization-
// transparent ops (Reshape, Flatten, MaxPool, ...) without a float round trip.
#include "engine/quantize/rewrite.h"

#include <cmath>
#include <optional>
#include <limits>
#include <map>
#include <set>

#include "engine/observers/qparams.h"
#include "ir/control_flow.h"

namespace mq::quant {

namespace {

bool is_f32_const(const Value* v) { return v && v->is_constant() && v->dtype() == DType::f32; }

/// Ops whose int8 output is exact with the input's QuantParams.
bool transparent(OpKind op) {
  switch (op) {
    case OpKind::Reshape: case OpKind::Flatten: case OpKind::Squeeze: case OpKind::Unsqueeze:
    case OpKind::Transpose: case OpKind::Identity: case OpKind::MaxPool:
      return true;
    default:
      return false;
  }
}

/// Why a layer cannot be quantized, or "" when it can.
std::string ineligible(const Node& n) {
  Value* x = n.input(0);
  if (!x || x->dtype() != DType::f32) return "input is not f32";
  if (x->is_constant()) return "input is a constant";
  if (n.op() == OpKind::LSTM) {
    if (!is_f32_const(n.input(1)) || !is_f32_const(n.input(2))) return "W and R must be f32 constants";
    if (n.input(3) && !is_f32_const(n.input(3))) return "B must be an f32 constant";
    if (n.input(7)) return "peepholes are not supported by the int8 LSTM";
    if (n.attrs().has("clip")) return "clip is not supported by the int8 LSTM";
    if (n.attrs().get_int_or("input_forget", 0)) return "input_forget is not supported by the int8 LSTM";
    auto acts = n.attrs().get_strings_or("activations", {});
    for (size_t i = 0; i < acts.size(); ++i)
      if (acts[i] != (i % 3 == 0 ? "Sigmoid" : "Tanh")) return "non-default activations";
    return "";
  }
  if (!is_f32_const(n.input(1))) return "weight is not an f32 constant";
  if (n.input(2) && !is_f32_const(n.input(2))) return "bias is not an f32 constant";
  if (n.op() == OpKind::Conv2d && (!x->shape().has_rank() || x->shape().rank() != 4)) return "input is not 4-D";
  return "";
}

/// Follows a Relu / Clip (with constant bounds) that alone reads the layer's output.
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

QuantScheme activation_scheme(const QuantizeOptions& o) {
  return {o.activation_type, o.symmetric_activations, false, QuantConvention::pytorch};
}

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

/// s8 symmetric weight quantization, per row of a 2-D view (channel axis 0) or per tensor.
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

std::vector<float> channel_scales(const Tensor& wq, int64_t channels) {
  const auto& q = *wq.quant();
  if (q.scales.size() == 1) return std::vector<float>(size_t(channels), q.scales[0]);
  return q.scales;
}

struct Rewriter {
  Graph& g;
  const Calibration* cal;
  const QuantizeOptions& o;
  std::vector<LayerReport>& reports;
  std::vector<LayerProbe>& probes;
  std::map<const Value*, Value*> quantized;  // float value → its int8 version

  Value* scalar_const(const std::string& name, float v) {
    return g.add_constant(g.unique_name(name), Tensor::scalar<float>(v));
  }
  Value* zp_const(const std::string& name, int32_t zp) {
    if (o.activation_type == DType::i8) return g.add_constant(g.unique_name(name), Tensor::scalar<int8_t>(int8_t(zp)));
    return g.add_constant(g.unique_name(name), Tensor::scalar<uint8_t>(uint8_t(zp)));
  }

  /// The int8 value already computed for `x` (through a DequantizeLinear or a transparent
  /// chain), or nullptr.
  Value* existing_int8(Value* x, Node* before) {
    if (auto it = quantized.find(x); it != quantized.end()) return it->second;
    Node* p = x->producer();
    if (!p) return nullptr;
    if (p->op() == OpKind::DequantizeLinear && p->input(0)->type().quant) return p->input(0);
    if (!transparent(p->op()) || !p->input(0)) return nullptr;
    for (size_t i = 1; i < p->inputs().size(); ++i)
      if (p->input(i) && !p->input(i)->is_constant()) return nullptr;
    if (p->outputs().size() > 1 && (!p->output(1)->users().empty() || g.is_output(p->output(1)))) return nullptr;
    Value* inner = existing_int8(p->input(0), before);
    if (!inner) return nullptr;
    std::vector<Value*> ins = p->inputs();
    ins[0] = inner;
    Node* t = g.insert_node(before, p->op(), {.name = g.unique_name(p->name() + "_int8"), .inputs = ins,
                                              .attrs = p->attrs(), .num_outputs = 1});
    t->output(0)->set_quant(inner->type().quant);
    quantized[x] = t->output(0);
    return t->output(0);
  }

  Value* int8_input(Value* x, Node* before) {
    if (Value* v = existing_int8(x, before)) return v;
    QuantParams qp = cal->params(x->name(), activation_scheme(o));
    Value* s = scalar_const(x->name() + "_scale", qp.scales[0]);
    Value* z = zp_const(x->name() + "_zero_point", qp.zero_points[0]);
    Node* qn = g.insert_node(before, OpKind::QuantizeLinear,
                             {.name = g.unique_name(x->name() + "_quantize"), .inputs = {x, s, z}});
    quantized[x] = qn->output(0);
    return qn->output(0);
  }

  void replace_outputs(Node* old, Node* fresh, Node* act) {
    // keep value and node names stable for users (graph outputs, layer selection)
    std::vector<std::string> names;
    Node* last = act ? act : old;
    for (Value* v : last->outputs()) names.push_back(v->name());
    for (size_t i = 0; i < last->outputs().size() && i < fresh->outputs().size(); ++i)
      g.replace_all_uses(last->output(i), fresh->output(i));
    std::string layer_name = old->name();
    if (act) g.remove_node(act);
    // the layer's own outputs may still be read (by nothing else when fused)
    for (Value* v : old->outputs())
      if (!v->users().empty()) return;
    g.remove_node(old);
    for (size_t i = 0; i < fresh->outputs().size() && i < names.size(); ++i)
      if (!g.find_value(names[i])) g.rename_value(fresh->output(i), names[i]);
    (void)layer_name;
  }

  void linear_or_conv(Node* n, LayerReport& rep) {
    const Tensor& w = *n->input(1)->constant();
    Tensor wq = quantize_weight(w, o.per_channel_weights, o.reduce_range_weights);
    int64_t cout = w.dim(0);
    rep.weight_sqnr_db = sqnr_db(w, dequantize_tensor(wq));
    rep.weight_bytes_fp32 = int64_t(w.nbytes()) + (n->input(2) ? int64_t(n->input(2)->constant()->nbytes()) : 0);
    rep.weight_bytes_int8 = int64_t(wq.nbytes()) + int64_t(wq.quant()->scales.size()) * 4;
    std::string base = n->name();
    Value* wv = g.add_constant(g.unique_name(base + "_weight_int8"), wq);
    if (o.mode == QuantMode::dynamic_quant) {
      std::vector<Value*> ins{n->input(0), wv, n->input(2)};
      Node* dq = g.insert_node(n, OpKind::DynamicQLinear, {.name = g.unique_name(base + "_dynamic"), .inputs = ins});
      if (n->input(2)) rep.weight_bytes_int8 += int64_t(n->input(2)->constant()->nbytes());
      rep.scheme = "dynamic w:s8/" + std::string(o.per_channel_weights ? "channel" : "tensor") + " a:u8/call";
      probes.push_back({reports.size(), n->output(0)->name(), "", false});
      replace_outputs(n, dq, nullptr);
      g.rename_node(dq, base);
      probes.back().quant_value = dq->output(0)->name();
      rep.quantized = true;
      return;
    }
    const QuantScheme scheme = activation_scheme(o);
    Node* act = o.fuse_activations ? fusable_activation(g, *n) : nullptr;
    std::optional<QuantParams> qy;  // of the fused activation's output, else of the layer's
    if (act && cal->has(act->output(0)->name())) {
      qy = cal->params(act->output(0)->name(), scheme);
      if (!fusion_is_exact(*act, *qy, scheme)) act = nullptr, qy.reset();
    }
    Value* out = act ? act->output(0) : n->output(0);
    if (!cal->has(n->input(0)->name()) || !cal->has(out->name())) {
      rep.scheme = "float (not calibrated)";
      return;
    }
    if (!qy) qy = cal->params(out->name(), scheme);
    Value* xq = int8_input(n->input(0), n);
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
    Value* ys = scalar_const(out->name() + "_scale", qy->scales[0]);
    Value* yz = zp_const(out->name() + "_zero_point", qy->zero_points[0]);
    OpKind qop = n->op() == OpKind::Conv2d ? OpKind::QConv2d : OpKind::QLinear;
    Node* qn = g.insert_node(n, qop, {.name = g.unique_name(base + "_int8"), .inputs = {xq, wv, bv, ys, yz}, .attrs = attrs});
    Node* dq = g.insert_node(n, OpKind::DequantizeLinear,
                             {.name = g.unique_name(out->name() + "_dequantize"), .inputs = {qn->output(0), ys, yz}});
    probes.push_back({reports.size(), out->name(), qn->output(0)->name(), true});
    quantized[dq->output(0)] = qn->output(0);
    replace_outputs(n, dq, act);
    g.rename_node(qn, base);
    g.rename_value(qn->output(0), g.unique_name(base + ":int8"));
    probes.back().quant_value = qn->output(0)->name();
    rep.scheme = std::string(o.reduce_range_weights ? "static w:s7/" : "static w:s8/") + (o.per_channel_weights ? "channel" : "tensor") + " a:" +
                 std::string(dtype_name(o.activation_type)) + (o.symmetric_activations ? "/sym" : "");
    rep.quantized = true;
  }

  void lstm(Node* n, LayerReport& rep) {
    const Tensor& w = *n->input(1)->constant();
    const Tensor& r = *n->input(2)->constant();
    int64_t D = w.dim(0), H4 = w.dim(1);
    Tensor wq = quantize_weight(w.reshaped({D * H4, w.dim(2)}), true, o.reduce_range_weights);
    Tensor rq = quantize_weight(r.reshaped({D * H4, r.dim(2)}), true, o.reduce_range_weights);
    rep.weight_sqnr_db = std::min(sqnr_db(w.reshaped({D * H4, w.dim(2)}), dequantize_tensor(wq)),
                                  sqnr_db(r.reshaped({D * H4, r.dim(2)}), dequantize_tensor(rq)));
    rep.weight_bytes_fp32 = int64_t(w.nbytes() + r.nbytes()) + (n->input(3) ? int64_t(n->input(3)->constant()->nbytes()) : 0);
    rep.weight_bytes_int8 = int64_t(wq.nbytes() + rq.nbytes()) + 4 * 2 * D * H4 +
                            (n->input(3) ? int64_t(n->input(3)->constant()->nbytes()) : 0);
    std::string base = n->name();
    Attributes attrs;
    for (const char* k : {"direction", "hidden_size", "layout"})
      if (n->attrs().has(k)) attrs.set(k, n->attrs().all().at(k));
    OpKind op = OpKind::DynamicQLSTM;
    if (o.mode == QuantMode::static_quant) {
      if (!cal->has(n->input(0)->name())) {
        rep.scheme = "float (not calibrated)";
        return;
      }
      op = OpKind::QLSTM;
      QuantParams qx = cal->params(n->input(0)->name(), QuantScheme::activation());
      // h = o ⊙ tanh(c) lies in (−1, 1); the observed Y range narrows it when available
      QuantParams qh = n->output(0) && cal->has(n->output(0)->name())
                           ? cal->params(n->output(0)->name(), QuantScheme::activation())
                           : compute_qparams(-1.f, 1.f, QuantScheme::activation());
      attrs.set("x_scale", qx.scales[0]);
      attrs.set("x_zero_point", int64_t(qx.zero_points[0]));
      attrs.set("h_scale", qh.scales[0]);
      attrs.set("h_zero_point", int64_t(qh.zero_points[0]));
      rep.scheme = "static w:s8/row x,h:u8";
    } else {
      rep.scheme = "dynamic w:s8/row x,h:u8/step";
    }
    Value* wv = g.add_constant(g.unique_name(base + "_W_int8"), wq);
    Value* rv = g.add_constant(g.unique_name(base + "_R_int8"), rq);
    std::vector<Value*> ins{n->input(0), wv, rv, n->input(3), n->input(4), n->input(5), n->input(6)};
    Node* qn = g.insert_node(n, op, {.name = g.unique_name(base + "_int8"), .inputs = ins, .attrs = attrs,
                                     .num_outputs = n->outputs().size()});
    probes.push_back({reports.size(), n->output(0)->name(), "", false});
    replace_outputs(n, qn, nullptr);
    g.rename_node(qn, base);
    probes.back().quant_value = qn->output(0)->name();
    rep.quantized = true;
  }

  void run() {
    // Only the layers are collected: rewriting one removes its fused activation (never a
    // layer), so no node visited here can have been freed by an earlier rewrite.
    std::vector<Node*> layers;
    for (Node* n : g.nodes())
      if (n->op() == OpKind::Linear || n->op() == OpKind::Conv2d || n->op() == OpKind::LSTM) layers.push_back(n);
    for (Node* n : layers) {
      LayerReport rep;
      rep.name = n->name();
      rep.type = std::string(n->op_name());
      if (!o.layers.selects(*n)) {
        rep.scheme = "float (not selected)";
      } else if (std::string why = ineligible(*n); !why.empty()) {
        rep.scheme = "float (" + why + ")";
      } else if (o.mode == QuantMode::dynamic_quant && n->op() == OpKind::Conv2d) {
        rep.scheme = "float (dynamic Conv2d is not supported)";
      } else if (n->op() == OpKind::LSTM) {
        lstm(n, rep);
      } else {
        linear_or_conv(n, rep);
      }
      reports.push_back(rep);
    }
    g.remove_unused();
    g.topo_sort();
  }
};

}  // namespace

namespace {
void observe(const Graph& g, const LayerSelection& layers, std::set<std::string>& names) {
  for (Node* n : g.nodes()) {
    // layers inside If / Loop / Scan bodies are calibrated like any other (a Session taps
    // values inside subgraphs by name)
    for (auto& [attr, sub] : subgraphs(*n)) observe(*sub, layers, names);
    if (!layers.selects(*n) || !ineligible(*n).empty()) continue;
    names.insert(n->input(0)->name());
    if (n->output(0)) names.insert(n->output(0)->name());
    if (Node* act = fusable_activation(g, *n)) names.insert(act->output(0)->name());
  }
}
}  // namespace

std::vector<std::string> values_to_observe(const Graph& g, const LayerSelection& layers) {
  std::set<std::string> names;
  observe(g, layers, names);
  return {names.begin(), names.end()};
}

void rewrite(Graph& q, const Calibration* cal, const QuantizeOptions& options,
             std::vector<LayerReport>& reports, std::vector<LayerProbe>& probes) {
  // the main graph, then each subgraph (its signature stays float: the rewrite keeps the
  // names and types of graph outputs)
  for_each_graph(q, [&](Graph& g) {
    Rewriter r{g, cal, options, reports, probes, {}};
    r.run();
  });
}

int64_t constant_bytes(const Graph& g) {
  int64_t n = 0;
  for (Value* v : g.values())
    if (v->is_constant()) n += int64_t(v->constant()->nbytes());
  for (Node* node : g.nodes())
    for (auto& [attr, sub] : subgraphs(*node)) n += constant_bytes(*sub);
  return n;
}

}  // namespace mq::quant
