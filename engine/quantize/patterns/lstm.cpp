// Pattern "lstm": LSTM → QLSTM (static: u8 x and h, s8 W and R per row; x read as u8 where an
// int8 form made it) or DynamicQLSTM.
#include "engine/quantize/patterns/patterns.h"
#include "engine/quantize/patterns/weighted_layer.h"

namespace mq::quant {

namespace {
class LstmPattern final : public Pattern {
 public:
  std::string_view name() const override { return "lstm"; }
  std::string_view summary() const override {
    return "LSTM: s8 W and R per row, u8 x and h (static) or per step (dynamic)";
  }
  bool matches(const Node& n) const override { return n.op() == OpKind::LSTM; }
  bool supports(QuantMode) const override { return true; }
  bool weighted() const override { return true; }
  std::string ineligible(const Graph&, const Node& n) const override {
    Value* x = n.input(0);
    if (!x || x->dtype() != DType::f32) return "input is not f32";
    if (x->is_constant()) return "input is a constant";
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
  void observe(const Graph&, const Node& n, std::set<std::string>& names) const override {
    names.insert(n.input(0)->name());
    if (n.output(0)) names.insert(n.output(0)->name());
  }
  bool rewrite(Rewriter& r, Node* n, LayerReport& rep) const override {
    Graph& g = r.g;
    const QuantizeOptions& o = r.o;
    const Tensor& w = *n->input(1)->constant();
    const Tensor& rt = *n->input(2)->constant();
    int64_t D = w.dim(0), H4 = w.dim(1);
    Tensor wq = quantize_weight(w.reshaped({D * H4, w.dim(2)}), true, o.reduce_range_weights);
    Tensor rq = quantize_weight(rt.reshaped({D * H4, rt.dim(2)}), true, o.reduce_range_weights);
    rep.weight_sqnr_db = std::min(sqnr_db(w.reshaped({D * H4, w.dim(2)}), dequantize_tensor(wq)),
                                  sqnr_db(rt.reshaped({D * H4, rt.dim(2)}), dequantize_tensor(rq)));
    const int64_t bias_bytes = n->input(3) ? int64_t(n->input(3)->constant()->nbytes()) : 0;
    rep.weight_bytes_fp32 = int64_t(w.nbytes() + rt.nbytes()) + bias_bytes;
    rep.weight_bytes_int8 = int64_t(wq.nbytes() + rq.nbytes()) + 4 * 2 * D * H4 + bias_bytes;
    std::string base = n->name();
    Attributes attrs;
    for (const char* k : {"direction", "hidden_size", "layout"})
      if (n->attrs().has(k)) attrs.set(k, n->attrs().all().at(k));
    OpKind op = OpKind::DynamicQLSTM;
    Value* x_in = n->input(0);
    if (o.mode == QuantMode::static_quant) {
      if (!r.calibrated(n->input(0))) {
        rep.scheme = "float (not calibrated)";
        return true;
      }
      op = OpKind::QLSTM;
      QuantParams qx = r.cal->params(n->input(0)->name(), QuantScheme::activation());
      // X already int8 (quantized where it was made, moved by Reshape / Transpose): read it at
      // its own range instead of quantizing the float copy again
      if (Value* xq = r.existing_int8(n->input(0));
          xq && xq->dtype() == DType::u8 && xq->type().quant && !xq->type().quant->per_channel()) {
        qx = *xq->type().quant;
        x_in = xq;
      }
      // h = o ⊙ tanh(c) lies in (−1, 1); the observed Y range narrows it when available
      QuantParams qh = n->output(0) && r.calibrated(n->output(0))
                           ? r.cal->params(n->output(0)->name(), QuantScheme::activation())
                           : compute_qparams(-1.f, 1.f, QuantScheme::activation());
      attrs.set("x_scale", qx.scales[0]);
      attrs.set("x_zero_point", int64_t(qx.zero_points[0]));
      attrs.set("h_scale", qh.scales[0]);
      attrs.set("h_zero_point", int64_t(qh.zero_points[0]));
      rep.scheme = x_in == n->input(0) ? "static w:s8/row x,h:u8" : "static w:s8/row x,h:u8 (x int8 in)";
    } else {
      rep.scheme = "dynamic w:s8/row x,h:u8/step";
    }
    Value* wv = g.add_constant(g.unique_name(base + "_W_int8"), wq);
    Value* rv = g.add_constant(g.unique_name(base + "_R_int8"), rq);
    std::vector<Value*> ins{x_in, wv, rv, n->input(3), n->input(4), n->input(5), n->input(6)};
    Node* qn = g.insert_node(n, op,
                             {.name = g.unique_name(base + "_int8"),
                              .inputs = ins,
                              .attrs = attrs,
                              .num_outputs = n->outputs().size()});
    r.probes.push_back({r.reports.size(), n->output(0)->name(), "", false});
    r.replace_outputs(n, qn, nullptr);
    g.rename_node(qn, base);
    r.probes.back().quant_value = qn->output(0)->name();
    rep.quantized = true;
    return true;
  }
  bool produces(OpKind op) const override { return op == OpKind::QLSTM || op == OpKind::DynamicQLSTM; }
  bool to_float(Graph& g, Node* n) const override {
    if (!produces(n->op())) return false;
    layer_to_float(g, n, OpKind::LSTM);
    return true;
  }
};
}  // namespace

const Pattern& lstm_pattern() {
  static const LstmPattern p;
  return p;
}

}  // namespace mq::quant
