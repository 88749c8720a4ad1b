#pragma once
/// Calibration tables: what the observers saw for each value (ranges, histograms, sample
/// counts) and optionally the QuantParams chosen from it, saved as JSON so that calibration
/// and quantization can run as two separate steps (as ncnn and TensorRT do).
///
/// File layout (format "monoquant-calibration", version 1):
/// {
///   "format": "monoquant-calibration", "version": 1,
///   "values": {
///     "<value name>": {
///       "observer": "minmax" | "moving-average" | "percentile" | "entropy" | "mse" | "auto",
///       "batches": 12, "elements": 4096,
///       "axis": 1,                              (optional; per-channel observers)
///       "min": [..], "max": [..],               (one per tensor or per channel)
///       "averaging_constant": 0.01,             (moving-average)
///       "percentile": 99.99,                    (percentile)
///       "quantized_bins": 128,                  (entropy)
///       "histogram": {"exponent": 3, "counts": [..]},   (percentile / entropy)
///       "qparams": {"qtype": "u8", "scales": [..], "zero_points": [..], "axis": 1}
///     }, ...
///   }
/// }
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/quant_params.h"

namespace mq {

/// A streamed histogram over [−2^exponent, 2^exponent) with counts.size() equal bins.
struct HistogramStats {
  std::optional<int32_t> exponent;  ///< none while every value seen was 0 (all in the middle bin)
  std::vector<uint64_t> counts;     ///< bin counts; bin b covers [−T + b·w, −T + (b+1)·w)
  bool operator==(const HistogramStats&) const = default;
};

/// An observer's complete state: enough to recompute QuantParams or resume observing.
struct ObserverStats {
  std::string kind;                         ///< observer name, e.g. "minmax", "entropy"
  std::optional<int64_t> axis;              ///< channel axis of per-channel observers
  int64_t batches = 0;                      ///< number of observe() calls that saw data
  int64_t elements = 0;                     ///< total number of values observed
  std::vector<float> min;                   ///< running minimum(s); empty before any data
  std::vector<float> max;                   ///< running maximum(s); same length as min
  double averaging_constant = 0.01;         ///< moving-average weight of each new batch
  double percentile = 99.99;                ///< percentile observer's coverage in percent
  int32_t quantized_bins = 128;             ///< entropy observer's number of quantized levels
  std::optional<HistogramStats> histogram;  ///< histogram observers only

  bool operator==(const ObserverStats&) const = default;
};

/// One value's entry: the stats, and the QuantParams if they have been chosen.
struct CalibrationEntry {
  ObserverStats stats;                 ///< what was observed
  std::optional<QuantParams> qparams;  ///< the parameters chosen from it, if any
  bool operator==(const CalibrationEntry&) const = default;
};

/// Value name → calibration entry, ordered by name.
struct CalibrationTable {
  std::map<std::string, CalibrationEntry> values;  ///< one entry per observed value
  bool operator==(const CalibrationTable&) const = default;
};

/// Writes `table` to `path` as JSON, atomically (temporary file in the same folder, then
/// rename). Throws IoError naming the file when it cannot be written.
void save_calibration_table(const CalibrationTable& table, const std::filesystem::path& path);

/// Reads a table written by save_calibration_table. Throws IoError when the file cannot be
/// read and FormatError naming the file, the value and the field on malformed content.
CalibrationTable load_calibration_table(const std::filesystem::path& path);

/// The JSON text of a table (what save_calibration_table writes).
std::string calibration_table_to_json(const CalibrationTable& table);
/// Parses JSON text; `source` names the origin in error messages.
CalibrationTable calibration_table_from_json(const std::string& text, const std::string& source);

}  // namespace mq
