// Pattern "concat": Concat of int8 values (at least one operand int8 already). Every operand is brought to the
// output's calibrated scale (an operand already at it is used as it is; another int8 operand is requantized by a
// 256-entry table in the plan; a float operand is quantized), then the bytes are concatenated.
// A Concat that only assembles an output (its result is only reshaped, transposed or concatenated again on the
// way to the output) keeps each operand's scale instead: its result is quantized per channel along the concat
// axis, exactly (a detector's box coordinates and scores keep their own ranges), or, joining per-channel values
// along another axis, per channel with each channel's widest range.
#include <algorithm>
#include <cmath>

#include "engine/observers/qparams.h"
#include "engine/quantize/patterns/patterns.h"

namespace mq::quant {

namespace {

/// Scale and zero point of channel `c` of `q` (per tensor: the one pair).
std::pair<float, int32_t> channel(const QuantParams& q, size_t c) {
  return q.per_channel() ? std::pair{q.scales.at(c), q.zero_points.at(c)}
                         : std::pair{q.scales.at(0), q.zero_points.at(0)};
}

/// Per-channel QuantParams of the Concat of int8 values `ins` along `axis` that keep every
/// operand's scale, or none (a shape is not static, operands per channel on different axes).
/// `requantize[i]` says which operands must be brought to the result's parameters first.
std::optional<QuantParams> assembled_params(const std::vector<Value*>& ins, int64_t axis,
                                            const QuantScheme& scheme, std::vector<bool>& requantize) {
  std::optional<int64_t> other;  // the channel axis of per-channel operands, when not the concat axis
  for (const Value* v : ins) {
    const QuantParams& q = *v->type().quant;
    if (!v->shape().has_rank() || size_t(axis) >= v->shape().rank() || q.qtype != ins[0]->type().quant->qtype)
      return std::nullopt;
    if (q.per_channel() && *q.axis != axis) {
      if (other && *other != *q.axis) return std::nullopt;
      other = q.axis;
    }
  }
  // per channel on both axes: no common form
  if (other)
    for (const Value* v : ins)
      if (v->type().quant->per_channel() && *v->type().quant->axis != *other) return std::nullopt;
  // the channel counts must be known (a batch axis may be symbolic)
  for (const Value* v : ins) {
    const Dim& d = v->shape()[size_t(other.value_or(axis))];
    if (!d.is_static() || (other && !(d == ins[0]->shape()[size_t(*other)]))) return std::nullopt;
  }
  QuantParams out{{}, {}, other ? other : std::optional<int64_t>(axis), ins[0]->type().quant->qtype};
  requantize.assign(ins.size(), false);
  if (!other) {  // channels side by side: every operand keeps its own parameters
    for (const Value* v : ins) {
      const QuantParams& q = *v->type().quant;
      for (int64_t c = 0; c < v->shape()[size_t(axis)].value; ++c) {
        auto [s, z] = channel(q, size_t(c));
        out.scales.push_back(s);
        out.zero_points.push_back(z);
      }
    }
  } else {  // the same channels in every operand: each channel's widest range
    const int64_t channels = ins[0]->shape()[size_t(*other)].value;
    const QRange qr = quant_range(scheme);
    for (int64_t c = 0; c < channels; ++c) {
      const std::pair<float, int32_t> first = channel(*ins[0]->type().quant, size_t(c));
      float lo = 0.f, hi = 0.f;
      bool same = true;
      for (const Value* v : ins) {
        auto [s, z] = channel(*v->type().quant, size_t(c));
        same = same && std::pair{s, z} == first;
        lo = std::min(lo, float(qr.qmin - z) * s);
        hi = std::max(hi, float(qr.qmax - z) * s);
      }
      auto [s, z] = same ? first : compute_scale_zero_point(lo, hi, scheme);
      out.scales.push_back(s);
      out.zero_points.push_back(z);
    }
    for (size_t i = 0; i < ins.size(); ++i) {
      const QuantParams& q = *ins[i]->type().quant;
      for (int64_t c = 0; c < channels && !requantize[i]; ++c)
        requantize[i] = channel(q, size_t(c)) != std::pair{out.scales[size_t(c)], out.zero_points[size_t(c)]};
    }
  }
  // one pair for every channel: per tensor
  bool uniform = true;
  for (size_t c = 1; c < out.scales.size(); ++c)
    uniform = uniform && out.scales[c] == out.scales[0] && out.zero_points[c] == out.zero_points[0];
  if (uniform && !out.scales.empty()) {
    out.scales.resize(1);
    out.zero_points.resize(1);
    out.axis.reset();
  }
  if (out.scales.empty()) return std::nullopt;
  return out;
}

class ConcatPattern final : public Pattern {
 public:
  std::string_view name() const override { return "concat"; }
  std::string_view summary() const override {
    return "Concat with an int8 operand: operands rescaled to one scale";
  }
  bool matches(const Node& n) const override { return n.op() == OpKind::Concat && n.outputs().size() == 1; }
  bool supports(QuantMode mode) const override { return mode == QuantMode::static_quant; }
  std::string ineligible(const Graph&, const Node& n) const override {
    if (n.output(0)->dtype() != DType::f32) return "output is not f32";
    return "";
  }
  void observe(const Graph&, const Node& n, std::set<std::string>& names) const override {
    names.insert(n.output(0)->name());
  }
  bool rewrite(Rewriter& r, Node* n, LayerReport& rep) const override {
    bool any_int8 = false;
    for (Value* v : n->inputs()) any_int8 = any_int8 || (v && r.existing_int8(v));
    Value* y = n->output(0);
    if (!any_int8 || !r.demanded(y)) return false;
    if (r.assembled.count(y) && assemble(r, n, rep)) return true;
    if (!r.calibrated(y)) {
      rep.scheme = "float (not calibrated)";
      return true;
    }
    const QuantParams qp = r.params(y);
    std::vector<Value*> ins;
    for (Value* v : n->inputs()) ins.push_back(v ? r.int8_with(v, qp, n) : nullptr);
    Node* c = r.g.insert_node(n, OpKind::Concat,
                              {.name = r.g.unique_name(n->name() + "_int8"), .inputs = ins, .attrs = n->attrs()});
    c->output(0)->set_quant(qp);
    r.probes.push_back({r.reports.size(), y->name(), c->output(0)->name(), true});
    r.publish_int8(y, c->output(0));
    rep.quantized = true;
    rep.scheme = "static a:" + std::string(dtype_name(qp.qtype));
    return true;
  }
  /// The Concat of an output's assembly on int8 operands keeping their scales (false: some
  /// operand is not int8, or the parameters cannot be kept).
  static bool assemble(Rewriter& r, Node* n, LayerReport& rep) {
    std::vector<Value*> ins;
    for (Value* v : n->inputs()) {
      Value* xq = v ? r.existing_int8(v) : nullptr;
      if (!xq && v && !v->is_constant() && r.calibrated(v)) xq = r.int8_input(v, n);
      if (!xq || !xq->type().quant) return false;
      ins.push_back(xq);
    }
    Value* y = n->output(0);
    if (!y->shape().has_rank()) return false;
    const int64_t axis = normalize_axis(n->attrs().get_int("axis"), int64_t(y->shape().rank()));
    std::vector<bool> requantize;
    const std::optional<QuantParams> qp = assembled_params(ins, axis, r.activation_scheme(), requantize);
    if (!qp) return false;
    for (size_t i = 0; i < ins.size(); ++i)
      if (requantize[i]) ins[i] = r.quantize(r.dequantize_fresh(ins[i], n, ins[i]->name()), *qp, n, y->name());
    Node* c = r.g.insert_node(n, OpKind::Concat,
                              {.name = r.g.unique_name(n->name() + "_int8"), .inputs = ins, .attrs = n->attrs()});
    c->output(0)->set_quant(*qp);
    r.probes.push_back({r.reports.size(), y->name(), c->output(0)->name(), true});
    r.publish_int8(y, c->output(0));
    rep.quantized = true;
    rep.scheme = "static a:" + std::string(dtype_name(qp->qtype)) + (qp->per_channel() ? " per channel" : "");
    return true;
  }
  bool to_float(Graph& g, Node* n) const override {
    if (!matches(*n) || !n->output(0)->type().quant || n->output(0)->dtype() == DType::f32) return false;
    std::vector<Value*> ins;
    for (Value* v : n->inputs()) ins.push_back(float_of(g, v, n));
    Node* f = g.insert_node(n, OpKind::Concat,
                            {.name = g.unique_name(n->name() + "_float"), .inputs = ins, .attrs = n->attrs()});
    requantize_readers(g, n, f);
    return true;
  }
};
}  // namespace

const Pattern& concat_pattern() {
  static const ConcatPattern p;
  return p;
}

}  // namespace mq::quant
