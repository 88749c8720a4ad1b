#pragma once
/// What quantization did and how good the result is.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "monoquant/export.h"

namespace monoquant {

/// One candidate layer.
struct LayerReport {
  std::string name;     ///< node name
  std::string type;     ///< op type (Linear, Conv2d, LSTM, Add, Concat, ...)
  std::string pattern;  ///< the quantization pattern that handled it (linear, add, ...)
  bool quantized = false;
  std::string scheme;         ///< e.g. "static w:s8/channel a:u8", or why it stayed float
  std::string activation;     ///< fused activation ("relu", "clip" or "")
  double weight_sqnr_db = 0;  ///< float weights vs dequantized int8 weights
  double output_sqnr_db = 0;  ///< the layer's output, float model vs quantized model
  bool has_output_sqnr = false;
  int64_t weight_bytes_fp32 = 0;
  int64_t weight_bytes_int8 = 0;
  bool fell_back = false;  ///< returned to float by the min_sqnr_db fallback
};

/// One model output.
struct OutputReport {
  std::string name;
  double sqnr_db = 0;
  double max_abs_error = 0;
};

/// Everything quantization and validation measured.
struct MONOQUANT_API Report {
  std::string mode;  ///< "static" or "dynamic"
  std::vector<LayerReport> layers;
  std::vector<OutputReport> outputs;
  int64_t size_before = 0;   ///< bytes of constants before quantization
  int64_t size_after = 0;    ///< and after
  int64_t file_size = 0;     ///< bytes of the round-trip file, when written
  double model_sqnr_db = 0;  ///< the lowest output SQNR
  int64_t calibration_samples = 0;
  int64_t validation_samples = 0;
  bool round_trip_checked = false;
  bool round_trip_ok = false;
  std::string round_trip_format;
  std::vector<std::string> fallback_layers;  ///< returned to float, in order
  std::vector<std::string> problems;         ///< failed checks (see QuantizeOptions::on_failure)
  std::map<std::string, double> seconds;     ///< time per stage (calibrate, quantize, validate)

  double compression() const { return size_after ? double(size_before) / double(size_after) : 0; }
  bool passed() const { return problems.empty(); }
  /// A fixed-width table for terminals.
  std::string table() const;
  /// The same as a JSON document (what `monoquant quantize --report` writes).
  std::string json() const;
};

}  // namespace monoquant
