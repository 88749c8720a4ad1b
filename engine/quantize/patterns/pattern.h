#pragma once
/// The quantization-pattern registry: one Pattern per quantizable op family (one file each in
/// this folder). Layer selection, calibration, the rewrite, dequantize_model, the CLI and
/// `inspect` all read it; adding a quantizable op is one new pattern plus its kernel.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/quantize/options.h"
#include "ir/graph.h"

namespace mq {
struct LayerReport;
}

namespace mq::quant {

struct Rewriter;

class Pattern {
 public:
  virtual ~Pattern() = default;
  /// The name `--layers` and LayerSelection::types use ("conv2d", "add", ...).
  virtual std::string_view name() const = 0;
  /// One line for `--help` and docs: what it quantizes and how.
  virtual std::string_view summary() const = 0;
  /// True for the float nodes this pattern quantizes.
  virtual bool matches(const Node& n) const = 0;
  /// True when the pattern quantizes in `mode` (weight layers: both; int8 forms: static).
  virtual bool supports(QuantMode mode) const = 0;
  /// Why `n` cannot be quantized by this pattern in graph `g`, or "" when it can.
  virtual std::string ineligible(const Graph& g, const Node& n) const = 0;
  /// Adds the values calibration must observe to quantize `n`.
  virtual void observe(const Graph& g, const Node& n, std::set<std::string>& names) const = 0;
  /// Rewrites `n` (static or dynamic, as r.options say). Fills `rep`; returns false when `n`
  /// stays float without a report (e.g. an op whose inputs are not int8 to begin with).
  virtual bool rewrite(Rewriter& r, Node* n, LayerReport& rep) const = 0;
  /// True for the monoquant ops this pattern produces (inspect names them, dequantize_model
  /// returns them to float).
  virtual bool produces(OpKind) const { return false; }
  /// Replaces `n`, a node this pattern produced, by float nodes computing the same values
  /// (used by dequantize_model). Returns false when it does not handle `n`.
  virtual bool to_float(Graph&, Node*) const { return false; }
  /// True when the pattern's nodes carry weights (reported with sizes and weight SQNR).
  virtual bool weighted() const { return false; }
};

/// Every pattern, in the order reports list them.
const std::vector<const Pattern*>& patterns();
/// The pattern quantizing float node `n`, or null.
const Pattern* pattern_for(const Node& n);
/// The pattern producing quantized op `op`, or null.
const Pattern* pattern_producing(OpKind op);
/// The pattern named `name` (case-insensitive; "conv" is conv2d), or null.
const Pattern* pattern_named(std::string_view name);
/// "linear, conv2d, ..." — the names `--layers` accepts.
std::string pattern_names();

}  // namespace mq::quant
