#pragma once
/// The state a quantization rewrite shares between patterns: which float values already have
/// an int8 version, and the helpers that insert QuantizeLinear / DequantizeLinear.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/quantize.h"
#include "engine/quantize/rewrite.h"

namespace mq::quant {

struct Rewriter {
  Graph& g;
  const Calibration* cal;  ///< null in dynamic mode
  const QuantizeOptions& o;
  std::vector<LayerReport>& reports;
  std::vector<LayerProbe>& probes;
  std::map<const Value*, Value*> quantized;    ///< float value → its int8 version
  std::map<const Value*, Value*> dequantized;  ///< int8 value → the DequantizeLinear output float readers share
  std::set<const Value*> int8_fed;             ///< float outputs of elementwise steps fused into an int8 chain
  std::set<const Node*> removed;               ///< nodes freed during the rewrite (not to be visited)
  std::set<const Value*> demand;               ///< float values an int8 consumer downstream would read
  std::set<const Value*> layer_demand;         ///< the same when every Linear reads its input as int8
  bool layer_demand_known = false;             ///< layer_demand is computed (run()'s first pass)
  mutable std::map<const Value*, bool> supplied;  ///< int8_supplied's answers
  /// Values that only Concat / Reshape-like / Transpose ops assemble into the outputs (no op
  /// computes with them): an int8 Concat of them may keep each operand's scale (per channel).
  std::set<const Value*> assembled;
  /// Outputs computed on int8 values (every output with QuantizeOptions::int8_outputs, else
  /// those an int8 form assembles): each is its int8 version dequantized at the end.
  std::set<const Value*> int8_computed_outputs;

  /// True when a quantized layer (Linear, Conv2d, MatMul) reads `v` as int8, directly or through
  /// int8 forms (elementwise chains, Concat, data-movement ops): only then is an int8 form
  /// producing `v` worth making.
  bool demanded(const Value* v) const { return demand.count(v) != 0; }

  /// True when static mode runs the ops assembling the outputs on int8 values
  /// (int8_outputs, or float_output_assembly off).
  bool int8_assembly() const;
  /// The activation quantization scheme the options ask for.
  QuantScheme activation_scheme() const;
  Value* scalar_const(const std::string& name, float v);
  /// A zero-point constant of the activation type.
  Value* zp_const(const std::string& name, int32_t zp, DType type);
  /// Calibrated QuantParams of a float value (the value must have been observed).
  QuantParams params(const Value* x) const;
  bool calibrated(const Value* x) const { return cal && cal->has(x->name()); }

  /// The int8 version of float value `x` if one exists (quantized earlier, or `x` is the
  /// output of a per-tensor DequantizeLinear), else null.
  Value* existing_int8(const Value* x) const;
  /// True for a Linear that static quantization gives the dynamic form (DynamicQLinear: its
  /// input quantized per call, a float output): no quantized layer downstream reads its
  /// result (a classifier head, a projection into float ops), so a calibrated output range
  /// would only add rounding, and the per-call input range costs one min/max pass. It then
  /// reads its input as float. Off with QuantizeOptions::static_float_outputs.
  bool float_output_linear(const Node& n) const;
  /// True when float value `v` is computed from int8 values by int8 forms alone: a quantized
  /// layer's output, an int8 value's DequantizeLinear, or an elementwise chain / data movement /
  /// Concat of such values. A float-output Linear (float_output_linear) reading such a value
  /// reads its int8 version as it is instead of quantizing it again per call.
  bool int8_supplied(const Value* v) const;
  /// True when a selected pattern quantizes `n` in this mode (`n` is eligible).
  bool eligible(const Node& n) const;
  /// True when `u`, an eligible node, reads `v` as int8: a Linear / Conv2d reading it as its
  /// input, a MatMul of two activations reading it as either operand, a static LSTM with u8
  /// activations reading it as X, or an int8 form
  /// (elementwise, Concat, data movement) whose result is demanded.
  bool reads_int8(const Node& u, const Value* v) const;
  /// A new QuantizeLinear of `x` with `qp` before `before`; its output carries `qp`.
  Value* quantize(Value* x, const QuantParams& qp, Node* before, const std::string& hint);
  /// The int8 version of `x`, quantizing it with its calibrated range before `before` if
  /// there is none yet.
  Value* int8_input(Value* x, Node* before);
  /// `x` quantized with `qp` (per tensor) before `before`: its own int8 version when that has
  /// `qp` already, a requantization of it otherwise, else a new QuantizeLinear of `x`.
  Value* int8_with(Value* x, const QuantParams& qp, Node* before);
  /// A fresh DequantizeLinear of int8 value `xq` before `before` (one reader: the compiled
  /// plan fuses it into that reader's elementwise pass).
  Value* dequantize_fresh(Value* xq, Node* before, const std::string& hint);
  /// Records `yq` as the int8 version of float value `y`: int8 readers (layers, int8 forms)
  /// read it; float readers keep reading `y` (an elementwise step switches to a
  /// DequantizeLinear of `yq` itself, which the plan fuses into its pass).
  void publish_int8(Value* y, Value* yq) { quantized[y] = yq; }
  /// Replaces `old` (and its fused activation `act`) by `fresh`, keeping value names.
  void replace_outputs(Node* old, Node* fresh, Node* act);
  void remove(Node* n);
  /// Fills `assembled` (static mode).
  void find_assembled();
  /// Runs every selected pattern over the graph in execution order.
  void run();
};

}  // namespace mq::quant
