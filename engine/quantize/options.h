#pragma once
/// Options of calibration and quantization.
#include <optional>
#include <string>
#include <vector>

#include "engine/calibration/source.h"
#include "engine/observers/observer.h"
#include "ir/graph.h"

namespace mq {

/// Static: activations quantized with calibrated ranges. Dynamic: weights int8 ahead of
/// time, activations quantized per call from their own range.
enum class QuantMode { static_quant, dynamic_quant };
/// What validation does when a check fails.
enum class OnFailure { error, warn, ignore };

/// Which layers are quantized: by pattern (the registry in engine/quantize/patterns/: linear,
/// conv2d, lstm, matmul, add, mul, activation, concat, data_movement), then by node name (glob
/// patterns, `*` and `?`).
struct LayerSelection {
  std::vector<std::string> types;    ///< pattern names; empty = every pattern
  std::vector<std::string> include;  ///< names or globs; empty = every node of the types
  std::vector<std::string> exclude;  ///< names or globs never quantized
  /// True when a pattern of `types` matches the node and its name passes include/exclude.
  bool selects(const Node& n) const;
  /// InvalidArgument naming an unknown type.
  void check() const;
};

/// Calibration settings.
struct CalibrationOptions {
  ObserverOptions observer;  ///< activation observer (default MinMax)
  int64_t max_samples = 0;   ///< 0 = every sample the source yields
  int threads = 0;           ///< Session threads (0 = all cores)
  LayerSelection layers;     ///< observe only what these layers need
  /// Recurrent states fed back from run to run (streaming models): the source's batches are
  /// one sequence, each run's state outputs become the next run's state inputs.
  std::vector<StateLink> state;
  /// Called after each batch with (samples done, samples expected or 0 if unknown).
  std::function<void(int64_t, int64_t)> progress;
};

/// Quantization settings; defaults are what ONNX Runtime and PyTorch users expect.
struct QuantizeOptions {
  QuantMode mode = QuantMode::static_quant;
  LayerSelection layers;
  bool per_channel_weights = true;  ///< s8 symmetric per output channel (else per tensor)
  /// 7-bit weights (|w| ≤ 64): CPUs without VNNI then stay on the fast AVX2 int8 path
  /// (u8·s8 pairs cannot saturate vpmaddubsw), at some accuracy cost (ORT's reduce_range).
  bool reduce_range_weights = false;
  DType activation_type = DType::u8;  ///< u8 (default) or i8
  bool symmetric_activations = false;
  bool fuse_activations = true;  ///< fold a following Relu / Clip into the layer
  /// Static mode: a Linear that no quantized layer reads (a classifier head) is static too
  /// (calibrated input and output ranges) instead of DynamicQLinear (input range per call,
  /// float output: more accurate, about as fast).
  bool static_float_outputs = false;
  /// Static mode: the model's outputs are int8 too, as ONNX Runtime's quantize_static makes
  /// them: every op up to each output runs on int8 values where a pattern has an int8 form
  /// (a detection head's Sigmoid / Concat / Reshape / Transpose, a classifier's Softmax) and
  /// the output is dequantized at the end. Off by default: the last layers' float results are
  /// more accurate (one rounding fewer on every output). Implies static_float_outputs.
  bool int8_outputs = false;
  /// Static mode: the ops that assemble an output from the last layers' int8 results — a
  /// detection head's Sigmoid / Concat / Reshape / Transpose, a classifier's Softmax, what
  /// ONNX Runtime's quantize_static quantizes — run in float. By default they run on int8
  /// values (a Concat of differently scaled values keeps each one's scale, per channel: box
  /// coordinates and scores joined into one tensor keep their own ranges), the output
  /// dequantized at the end; a layer or an elementwise op that writes an output itself still
  /// gives a float result.
  bool float_output_assembly = false;
  bool dynamic_conv2d = false;  ///< dynamic mode: also Conv2d (not supported yet)

  // validation
  bool validate = true;
  OnFailure on_failure = OnFailure::error;
  std::optional<double> min_sqnr_db;  ///< accuracy-driven fallback target (model output)
  double fail_below_sqnr_db = 10.0;   ///< validation fails when any output SQNR is lower
  int64_t validation_samples = 32;    ///< held-back samples for activation / output SQNR
  /// Recurrent states fed back during validation, as in CalibrationOptions::state (each
  /// model, float and int8, is fed its own states).
  std::vector<StateLink> state;
  std::string round_trip_format = ".mqm";  ///< format of the save → load → run check ("" = skip)
  int threads = 0;
};

}  // namespace mq
