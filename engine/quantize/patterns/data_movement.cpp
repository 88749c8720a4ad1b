// Patterns "data_movement" and "average": ops that run on an int8 input as they are, their
// result keeping the input's quantization. data_movement only moves values (ir's moves_values
// but Concat, which has its own pattern, and Expand / Tile: Reshape, Flatten, Squeeze,
// Unsqueeze, Transpose, Identity, Slice, Split, MaxPool, Resize nearest): exact. average mixes
// values convexly (AveragePool, GlobalAveragePool, Resize linear): the result stays within
// the input's range, so the input's scale holds it, rounded once to its grid.
#include <algorithm>

#include "engine/quantize/patterns/patterns.h"
#include "ir/infer.h"

namespace mq::quant {

namespace {

bool moves_bytes(const Node& n) {
  // Concat has its own pattern (it rescales). Expand / Tile stay float: made int8, they pull
  // quantization into what they feed (magika's LayerNorm arithmetic: 30.8 -> 27.5 dB)
  if (n.op() == OpKind::Concat || n.op() == OpKind::Expand || n.op() == OpKind::Tile || !moves_values(n))
    return false;
  // MaxPool's Indices output has no int8 meaning
  return n.op() != OpKind::MaxPool || n.outputs().size() == 1 || !n.output(1) || n.output(1)->users().empty();
}

bool averages(const Node& n) { return n.outputs().size() == 1 && averages_values(n); }

class DataMovementPattern final : public Pattern {
 public:
  DataMovementPattern(std::string_view name, std::string_view summary, bool (*ops)(const Node&),
                      std::string_view scheme)
      : name_(name), summary_(summary), ops_(ops), scheme_(scheme) {}
  std::string_view name() const override { return name_; }
  std::string_view summary() const override { return summary_; }
  bool matches(const Node& n) const override { return ops_(n); }
  bool supports(QuantMode mode) const override { return mode == QuantMode::static_quant; }
  std::string ineligible(const Graph& g, const Node& n) const override {
    if (!n.input(0) || n.input(0)->dtype() != DType::f32) return "input is not f32";
    for (size_t i = 1; i < n.inputs().size(); ++i)
      if (n.input(i) && n.input(i)->dtype() == DType::f32 && !n.input(i)->is_constant())
        return "a float operand is not a constant";
    for (size_t i = 0; i < n.outputs().size(); ++i)
      if (n.op() == OpKind::MaxPool && i > 0 && g.is_output(n.output(i))) return "the Indices output is read";
    return "";
  }
  /// Exact on int8 values; the input's range is what quantizes a float input here.
  void observe(const Graph&, const Node& n, std::set<std::string>& names) const override {
    names.insert(n.input(0)->name());
  }
  bool rewrite(Rewriter& r, Node* n, LayerReport& rep) const override {
    // inside an int8 elementwise chain (a LayerNorm's statistics reshaped between its steps)
    // the moved values stay float, like the chain's
    if (r.int8_fed.count(n->input(0)) && continues_chain(r, *n)) {
      for (Value* y : n->outputs())
        if (y) r.int8_fed.insert(y);
      rep.quantized = true;
      rep.scheme = "static (inside an int8 elementwise chain)";
      return true;
    }
    if (std::none_of(n->outputs().begin(), n->outputs().end(), [&](const Value* v) { return v && r.demanded(v); }))
      return move_then_dequantize(r, n, rep, scheme_);
    // a float input (a model input sliced and concatenated before the first convolution) is
    // quantized here, so what follows moves bytes instead of floats
    // (not when it only assembles an output: moving rounded values gains nothing there)
    Value* xq = r.existing_int8(n->input(0));
    const bool assembles = !r.o.int8_outputs && r.assembled.count(n->output(0));
    if (!xq && !assembles && r.calibrated(n->input(0))) xq = r.int8_input(n->input(0), n);
    if (!xq || !xq->type().quant) return false;
    QuantParams yq = *xq->type().quant;
    if (yq.per_channel()) {  // an output's assembly: the channel axis moves with the values
      const int64_t a = moved_axis(*n, *yq.axis);
      if (a < 0) return false;
      yq.axis = a;
    }
    std::vector<Value*> ins = n->inputs();
    ins[0] = xq;
    const size_t outs = n->op() == OpKind::MaxPool ? 1 : n->outputs().size();
    Node* m = r.g.insert_node(
        n, n->op(),
        {.name = r.g.unique_name(n->name() + "_int8"), .inputs = ins, .attrs = n->attrs(), .num_outputs = outs});
    for (size_t i = 0; i < outs; ++i) {
      m->output(i)->set_quant(yq);
      r.publish_int8(n->output(i), m->output(i));
    }
    rep.quantized = true;
    rep.scheme = scheme_;
    return true;
  }
  /// No int8 reader, but an int8 input (its producer is quantized): the op moves the bytes and
  /// a DequantizeLinear follows it — the same values, a quarter of the memory traffic (a
  /// depth-to-space Reshape / Transpose before the model's float output).
  static bool move_then_dequantize(Rewriter& r, Node* n, LayerReport& rep, const std::string& scheme) {
    Value* xq = r.existing_int8(n->input(0));
    if (n->outputs().size() != 1 || !xq || !xq->type().quant || xq->type().quant->per_channel()) return false;
    std::vector<Value*> ins = n->inputs();
    ins[0] = xq;
    Node* m = r.g.insert_node(n, n->op(),
                              {.name = r.g.unique_name(n->name() + "_int8"), .inputs = ins, .attrs = n->attrs()});
    m->output(0)->set_quant(xq->type().quant);
    Value* f = r.dequantize_fresh(m->output(0), n, n->output(0)->name());
    r.replace_outputs(n, f->producer(), nullptr);
    rep.quantized = true;
    rep.scheme = scheme + ", dequantized after";
    return true;
  }
  bool to_float(Graph& g, Node* n) const override {
    if (!matches(*n) || n->input(0)->dtype() == DType::f32 || !n->input(0)->type().quant) return false;
    std::vector<Value*> ins = n->inputs();
    ins[0] = float_of(g, ins[0], n);
    Node* f = g.insert_node(n, n->op(),
                            {.name = g.unique_name(n->name() + "_float"),
                             .inputs = ins,
                             .attrs = n->attrs(),
                             .num_outputs = n->outputs().size()});
    requantize_readers(g, n, f);
    return true;
  }

 private:
  std::string name_, summary_;
  bool (*ops_)(const Node&);
  std::string scheme_;
};
}  // namespace

const Pattern& data_movement_pattern() {
  static const DataMovementPattern p("data_movement",
                                     "Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Identity, Slice, Split, "
                                     "MaxPool, Resize (nearest) of int8 values: exact",
                                     moves_bytes, "int8 (exact)");
  return p;
}

const Pattern& average_pattern() {
  static const DataMovementPattern p("average",
                                     "AveragePool, GlobalAveragePool, Resize (linear) of int8 values: on the "
                                     "input's scale, rounded once",
                                     averages, "int8 (input's scale)");
  return p;
}

}  // namespace mq::quant
