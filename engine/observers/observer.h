#pragma once
/// Observers watch the float values flowing through one graph value during calibration and
/// turn what they saw into QuantParams. Every observer streams: its memory is fixed after
/// the first batch, whatever the number of batches. Observers of the same kind and options
/// can be merged (one observer per thread, combined at the end) and saved to / restored from
/// ObserverStats (the calibration table entry).
///
/// Kinds (see make_observer):
///   "minmax"          running min / max (per tensor, or per channel with an axis)
///   "moving-average"  PyTorch's MovingAverageMinMaxObserver (per tensor or per channel)
///   "percentile"      histogram, range covering the central `percentile` % of values
///   "entropy"         histogram, range minimizing KL divergence (TensorRT / ORT algorithm)
///   "mse"             histogram, range minimizing the expected squared quantization error
///                     (clipping plus rounding on the 8-bit grid)
///   "auto"            histogram plus a bounded subsample; calibrate() replaces it per value
///                     by the candidate (minmax, percentile, mse, entropy) whose range gives
///                     the least error in the layers that read the value
///                     (engine/calibration/auto_range.h); on its own its range is MinMax's
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/observers/qparams.h"
#include "ir/quant_params.h"
#include "ir/tensor.h"
#include "serialization/calibration_table.h"

namespace mq {

/// The observer algorithms monoquant offers.
enum class ObserverKind : uint8_t { minmax, moving_average, percentile, entropy, mse, auto_select };

/// "minmax", "moving-average", "percentile", "entropy", "mse", "auto".
std::string_view observer_kind_name(ObserverKind kind);
/// Inverse of observer_kind_name; throws InvalidArgument listing the known names.
ObserverKind parse_observer_kind(std::string_view name);

/// Everything needed to build an observer.
struct ObserverOptions {
  ObserverKind kind = ObserverKind::minmax;  ///< which algorithm
  std::optional<int64_t> axis;               ///< per-channel axis (≥ 0; minmax and moving-average only)
  double averaging_constant = 0.01;          ///< moving-average: weight of each new batch (PyTorch default)
  double percentile = 99.99;                 ///< percentile: % of values the range must cover, in (0, 100]
  int32_t bins = 2048;                       ///< histogram bins (a power of two ≥ 2·quantized_bins)
  int32_t quantized_bins = 128;              ///< entropy: quantized levels (ORT's num_quantized_bins)
};

/// A chosen float range, per tensor (one entry) or per channel along `axis`.
struct ObservedRange {
  std::vector<float> min;       ///< lower end(s)
  std::vector<float> max;       ///< upper end(s)
  std::optional<int64_t> axis;  ///< channel axis, none = per tensor
};

/// Min and max of each channel of a row-major batch (helper shared by the observers).
/// With no axis, one channel spanning the whole batch. Throws InvalidArgument on NaN / inf
/// or an axis outside the rank.
void batch_min_max(const float* data, std::span<const int64_t> dims, std::optional<int64_t> axis,
                   std::vector<float>& min_out, std::vector<float>& max_out);

/// The common interface of all observers.
class Observer {
 public:
  virtual ~Observer() = default;
  /// The algorithm this observer runs.
  virtual ObserverKind kind() const = 0;
  /// The options it was built with.
  virtual const ObserverOptions& options() const = 0;
  /// Observes one batch: `data` is row-major with dimensions `dims` (the channel axis, if
  /// any, indexes into dims). An empty batch is ignored. Non-finite values are rejected.
  virtual void observe(const float* data, std::span<const int64_t> dims) = 0;
  /// Observes an f32 tensor.
  void observe(const Tensor& t);
  /// The range the algorithm selects; `symmetric` tells range-choosing observers (percentile)
  /// that only max(|min|, |max|) matters. Throws InvalidArgument before any data was seen.
  virtual ObservedRange range(bool symmetric = false) const = 0;
  /// QuantParams for `scheme` from range(scheme.symmetric).
  QuantParams compute(const QuantScheme& scheme) const;
  /// Forgets everything observed (keeps the options).
  virtual void reset() = 0;
  /// Bytes of observation state held (fixed after the first batch).
  virtual size_t state_bytes() const = 0;
  /// Adds what `other` observed (same kind and options) into this observer.
  virtual void merge(const Observer& other) = 0;
  /// The state as a calibration-table entry.
  virtual ObserverStats stats() const = 0;
  /// Restores a state produced by stats() of an observer with the same options.
  virtual void load_stats(const ObserverStats& stats) = 0;
  /// A deep copy (for one observer per thread).
  virtual std::unique_ptr<Observer> clone() const = 0;
  /// Number of non-empty batches observed.
  int64_t batches() const { return batches_; }
  /// Number of values observed.
  int64_t elements() const { return elements_; }

 protected:
  /// Throws InvalidArgument unless `other` has this observer's kind and options.
  void check_compatible(const Observer& other) const;
  int64_t batches_ = 0;   ///< non-empty batches seen
  int64_t elements_ = 0;  ///< values seen
};

/// Builds an observer; throws InvalidArgument on inconsistent options.
std::unique_ptr<Observer> make_observer(const ObserverOptions& options);
/// Builds an observer from a name: "minmax", "moving-average", "entropy", "mse", "auto", "percentile" or
/// "percentile:<value>" (e.g. "percentile:99.9"); `axis` makes minmax / moving-average per
/// channel.
std::unique_ptr<Observer> make_observer(std::string_view spec, std::optional<int64_t> axis = {});
/// Rebuilds an observer (options and state) from a calibration-table entry.
std::unique_ptr<Observer> observer_from_stats(const ObserverStats& stats);

}  // namespace mq
