#pragma once
/// monoquant's quantization API: calibrate → static_quantize (or dynamic_quantize) →
/// QuantizationInfo.
///
///   mq::Graph g = mq::load_model("model.onnx");
///   mq::FileSource data(g, {"calib/"});
///   mq::Calibration cal = mq::calibrate(g, data);
///   mq::QuantizeResult q = mq::static_quantize(g, cal, {}, &data);
///   std::cout << q.info.table();
///   mq::save_model(q.graph, "model.int8.mqm");
#include <map>
#include <memory>
#include <string>

#include "engine/calibration/source.h"
#include "engine/quantize/info.h"
#include "engine/quantize/options.h"
#include "ir/graph.h"

namespace mq {

/// The observed ranges of the values calibration watched.
class Calibration {
 public:
  Calibration() = default;
  Calibration(Calibration&&) = default;
  Calibration& operator=(Calibration&&) = default;

  /// QuantParams of a value under `scheme`; throws InvalidArgument when it was not observed.
  QuantParams params(const std::string& value, const QuantScheme& scheme) const;
  bool has(const std::string& value) const { return observers_.count(value) != 0; }
  int64_t samples() const { return samples_; }
  const ObserverOptions& observer() const { return observer_; }
  std::vector<std::string> values() const;
  /// The observer that gives a value's range ("minmax", "percentile:99.99", ...; with the
  /// auto observer, the candidate chosen for it); throws InvalidArgument when not observed.
  std::string observer_of(const std::string& value) const;

  /// Saves / loads the calibration (a JSON table) — calibrate once, quantize many times.
  void save(const std::string& path) const;
  static Calibration load(const std::string& path);

 private:
  friend Calibration calibrate(const Graph&, CalibrationSource&, const CalibrationOptions&);
  std::map<std::string, std::unique_ptr<Observer>> observers_;
  ObserverOptions observer_;
  int64_t samples_ = 0;
};

/// Runs the fp32 model over the source, observing what quantization will need: the inputs
/// and outputs of the selectable layers and of the activations that follow them. Throws
/// InvalidArgument when the source yields no samples.
Calibration calibrate(const Graph& g, CalibrationSource& source, const CalibrationOptions& options = {});

/// A quantized graph and its report.
struct QuantizeResult {
  Graph graph;
  QuantizationInfo info;
};

/// Rewrites the selected layers into int8 ops with calibrated activation ranges; validates
/// on `validation` (held-back samples; SQNR checks are skipped without it). Throws
/// ValidationError when validation fails and on_failure is error.
QuantizeResult static_quantize(const Graph& g, const Calibration& calibration, const QuantizeOptions& options = {},
                               CalibrationSource* validation = nullptr);
/// Weights int8 ahead of time, activations quantized at run time (Linear, LSTM).
QuantizeResult dynamic_quantize(const Graph& g, const QuantizeOptions& options = {},
                                CalibrationSource* validation = nullptr);
/// An fp32 graph whose weights are the dequantized int8 weights.
Graph dequantize_model(const Graph& g);

/// Validation failed (on_failure = error); what() lists the problems.
class ValidationError : public Error {
 public:
  using Error::Error;
};

}  // namespace mq
