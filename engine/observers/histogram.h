#pragma once
/// Histogram observers (percentile and entropy) that stream in fixed memory.
///
/// Method. ONNX Runtime's HistogramCollector bins each batch over [−T, T], T = max|x|, and
/// when a later batch exceeds T it *adds bins* (its memory grows with the range); PyTorch's
/// HistogramObserver keeps a fixed bin count but re-bins by upsampling, which smears counts.
/// monoquant keeps a fixed number B of bins (default 2048, a power of two) over a range
/// [−T, T) whose half-width T is always a power of two, the smallest one strictly greater
/// than every |x| seen. Bin b covers [−T + b·w, −T + (b+1)·w), w = 2T / B, so 0 is always
/// the edge between bins B/2 − 1 and B/2. When a batch needs a larger T' = 2^k·T, adjacent
/// groups of 2^k bins are summed into one: the grids are nested, so this re-binning is exact
/// and the histogram equals the one that binning every value directly on the final grid
/// would give. Consequently merging observers (any order, any batching) is exact too, and the
/// state is B counters plus a handful of scalars whatever the number of samples. The price
/// is resolution: the data occupies at least half of [−T, T), i.e. at least B/4 bins on its
/// side of zero (B/2 for data of both signs). Exact min / max are tracked beside it.
///
/// Percentile (asymmetric): cuts (100 − p)/2 % of the mass from each tail, as ORT's
/// `compute_percentile`; the range is [lower edge of the bin holding the lower cut point,
/// upper edge of the bin holding the upper cut point] (ORT takes the lower edge on both sides;
/// monoquant keeps the bin that contains the cut point), clipped to the exact [min, max].
/// Percentile (symmetric): the histogram of |x| (folded) is cut at p %, giving ±t.
///
/// Entropy: TensorRT's KL-divergence calibration (as in its documentation and MXNet's
/// `_get_optimal_threshold`) on the histogram of |x| (the B/2 bins on each side of 0 folded
/// together): for each i from quantized_bins to B/2, the first i bins with the mass beyond
/// folded into the last one are the reference p; the same i bins merged into quantized_bins
/// levels (the last level also takes the remainder bins) and spread back evenly over the
/// non-empty bins of p are q (q = 0 where p = 0); for non-negative data the first bin (every
/// exact zero) counts as its neighbour (as in NVIDIA's calibrator); both are smoothed (eps 1e-4) and the i
/// minimizing KL(p‖q) gives the threshold t = i·w; the range is [−t, t] clipped to the exact
/// [min, max]. The levels are those a u8 grid on [max(min, −t), min(max, t)] gives |x| ≤ t:
/// quantized_bins for data symmetric about 0, up to twice that for non-negative data.
/// Working on |x| matters: a signed window [−t, t] split into quantized_bins
/// levels (ONNX Runtime's `get_entropy_threshold` with CalibNumBins > its default 128) leaves
/// non-negative data — every post-ReLU activation — half the levels, and its threshold then
/// clips far too much. (With ORT's defaults, 128 bins and 128 levels, its search has a single
/// candidate and returns max |x|.)
///
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "engine/observers/observer.h"

namespace mq {

/// Fixed-size histogram over [−2^exponent, 2^exponent) whose range doubles as needed.
class StreamingHistogram {
 public:
  /// `bins` must be a power of two, 2 ≤ bins ≤ 2^24.
  explicit StreamingHistogram(int32_t bins = 2048);
  /// Adds n finite values.
  void add(const float* data, size_t n);
  /// Adds another histogram's counts (any exponents, same bin count), exactly.
  void merge(const StreamingHistogram& other);
  /// Forgets all counts.
  void clear();
  /// Bin count B.
  int32_t bins() const { return int32_t(counts_.size()); }
  /// log2 of the half-width T; none while every value seen was 0.
  std::optional<int32_t> exponent() const { return exponent_; }
  /// The counts, B of them.
  const std::vector<uint64_t>& counts() const { return counts_; }
  /// Sum of all counts.
  uint64_t total() const;
  /// Left edge of bin b (b = B gives the right edge of the last bin); 0-width grid while
  /// the exponent is unset.
  double edge(int64_t b) const;
  /// Replaces the state (used when loading stats); validates sizes.
  void assign(std::optional<int32_t> exponent, std::vector<uint64_t> counts);

 private:
  /// Grows the grid so that its half-width is 2^e.
  void grow_to(int32_t e);
  std::optional<int32_t> exponent_;
  std::vector<uint64_t> counts_;
};

/// Percentile, entropy, MSE or auto observer over a StreamingHistogram (per tensor only).
class HistogramObserver final : public Observer {
 public:
  /// `options.kind` must be percentile, entropy or mse; options.axis must be empty.
  explicit HistogramObserver(ObserverOptions options);
  ObserverKind kind() const override { return options_.kind; }
  const ObserverOptions& options() const override { return options_; }
  void observe(const float* data, std::span<const int64_t> dims) override;
  using Observer::observe;
  ObservedRange range(bool symmetric = false) const override;
  void reset() override;
  size_t state_bytes() const override;
  /// Exact: equals observing both streams with one observer.
  void merge(const Observer& other) override;
  ObserverStats stats() const override;
  void load_stats(const ObserverStats& stats) override;
  std::unique_ptr<Observer> clone() const override;
  /// The histogram collected so far.
  const StreamingHistogram& histogram() const { return hist_; }
  /// Exact min and max seen (throws before any data).
  std::pair<float, float> min_max() const;

 private:
  ObserverOptions options_;
  StreamingHistogram hist_;
  float min_ = 0.0f, max_ = 0.0f;
};

/// The KL-divergence threshold search (see the file comment) over a histogram; returns
/// the (lower, upper) thresholds before clipping to min / max. Exposed for tests.
/// `min` and `max` (the exact data range) set how many of a u8 grid's levels fall on |x| ≤ t.
std::pair<double, double> entropy_threshold(const StreamingHistogram& hist, int32_t quantized_bins,
                                            double min = -std::numeric_limits<double>::infinity(),
                                            double max = std::numeric_limits<double>::infinity());

/// The MSE-optimal range of a histogram (see the file comment) for a grid of `levels` points,
/// within [min, max].
std::pair<double, double> mse_range(const StreamingHistogram& hist, double min, double max, bool symmetric,
                                    int64_t levels = 256);

/// Percentile range of a histogram (see the file comment); before clipping to min / max.
std::pair<double, double> percentile_range(const StreamingHistogram& hist, double percentile, bool symmetric);

}  // namespace mq
