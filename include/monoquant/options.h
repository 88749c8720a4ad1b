#pragma once
/// Options of loading, running, calibrating and quantizing; the defaults are what ONNX
/// Runtime and PyTorch users expect.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "monoquant/tensor.h"

namespace monoquant {

/// How a model is loaded.
struct LoadOptions {
  bool optimize = true;  ///< run the standard passes (constant folding, BatchNorm folding, ...)
};

/// Session settings.
struct SessionOptions {
  int threads = 0;               ///< worker threads; 0 = all hardware threads
  int64_t max_tensor_bytes = 0;  ///< largest tensor a run may create (0 = no limit): set it for untrusted models
  bool optimize = true;          ///< compile the graph for speed (layouts, fused epilogues)
};

/// The activation observer algorithms. `auto_select` ("auto" on the command line) picks, per
/// calibrated value, the candidate range (minmax, percentile 99.9/99.99/99.999, mse, entropy)
/// that gives the least error in the layers reading the value on the calibration samples.
enum class ObserverKind : uint8_t { minmax, moving_average, percentile, entropy, mse, auto_select };

/// Which observer calibration runs on each activation.
struct ObserverOptions {
  ObserverKind kind = ObserverKind::minmax;
  std::optional<int64_t> axis;       ///< per-channel axis (minmax and moving-average only)
  double averaging_constant = 0.01;  ///< moving-average: weight of each new batch
  double percentile = 99.99;         ///< percentile: % of values the range covers, in (0, 100]
  int32_t bins = 2048;               ///< histogram bins (a power of two ≥ 2·quantized_bins)
  int32_t quantized_bins = 128;      ///< entropy: quantized levels
};

/// Which layers are quantized: by pattern, then by name (names or globs with `*` and `?`).
/// Patterns: linear, conv2d, lstm (weight layers), matmul (MatMul of two activations), add,
/// mul, activation, concat,
/// data_movement (ops that run on int8 values between quantized layers).
struct LayerSelection {
  std::vector<std::string> types;    ///< pattern names; empty = every pattern
  std::vector<std::string> include;  ///< empty = every node of the selected patterns
  std::vector<std::string> exclude;  ///< never quantized
};

/// A recurrent state fed back from run to run: the model output `output` becomes the
/// input `input` of the next run (streaming models).
struct StateLink {
  std::string output, input;
};

/// Calibration settings.
struct CalibrationOptions {
  ObserverOptions observer;      ///< activation observer (default MinMax)
  int64_t max_samples = 0;       ///< 0 = every sample the data yields
  int threads = 0;               ///< Session threads (0 = all cores)
  LayerSelection layers;         ///< observe only what these layers need
  std::vector<StateLink> state;  ///< recurrent states carried from batch to batch
  /// Called after each batch with (samples done, samples expected or 0 if unknown).
  std::function<void(int64_t, int64_t)> progress;
};

/// What validation does when a check fails.
enum class OnFailure { error, warn, ignore };

/// Quantization settings.
struct QuantizeOptions {
  LayerSelection layers;
  bool per_channel_weights = true;    ///< s8 symmetric per output channel (else per tensor)
  bool reduce_range_weights = false;  ///< 7-bit weights (fast AVX2 path on CPUs without VNNI)
  DType activation_type = DType::u8;  ///< u8 (default) or i8
  bool symmetric_activations = false;
  bool fuse_activations = true;  ///< fold a following Relu / Clip into the layer
  /// A Linear that no quantized layer reads (a classifier head) is static too, instead of
  /// quantizing its input per call and giving a float result (more accurate, about as fast).
  bool static_float_outputs = false;
  /// The model's outputs int8 too, dequantized at the end, as ONNX Runtime's quantize_static
  /// makes them (one rounding more on every output a layer writes).
  bool int8_outputs = false;
  /// The ops that assemble an output from the last layers' results (a detection head's
  /// Sigmoid / Concat / Reshape / Transpose, a classifier's Softmax) run in float instead of
  /// on int8 values (a Concat there keeps each operand's scale, per channel).
  bool float_output_assembly = false;
  bool validate = true;  ///< measure SQNR, sizes and the save → load → run round trip
  OnFailure on_failure = OnFailure::error;
  std::optional<double> min_sqnr_db;       ///< worst layers go back to float until the output meets it
  double fail_below_sqnr_db = 10.0;        ///< validation fails when an output SQNR is lower
  int64_t validation_samples = 32;         ///< held-back samples for the SQNR checks
  std::vector<StateLink> state;            ///< recurrent states fed back during validation
  std::string round_trip_format = ".mqm";  ///< format of the round-trip check ("" = skip)
  int threads = 0;
};

}  // namespace monoquant
