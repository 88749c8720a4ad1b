#pragma once
/// Min/max observers: the running extremes (PyTorch MinMaxObserver / PerChannelMinMaxObserver)
/// and their exponential moving average (PyTorch MovingAverageMinMaxObserver and its
/// per-channel twin).
#include "engine/observers/observer.h"

namespace mq {

/// Running min and max over every value seen, per tensor or per channel.
/// State: two floats per channel.
class MinMaxObserver final : public Observer {
 public:
  /// `options.kind` must be minmax.
  explicit MinMaxObserver(ObserverOptions options);
  ObserverKind kind() const override { return ObserverKind::minmax; }
  const ObserverOptions& options() const override { return options_; }
  void observe(const float* data, std::span<const int64_t> dims) override;
  using Observer::observe;
  ObservedRange range(bool symmetric = false) const override;
  void reset() override;
  size_t state_bytes() const override;
  /// Element-wise min of minima and max of maxima: identical to observing both streams.
  void merge(const Observer& other) override;
  ObserverStats stats() const override;
  void load_stats(const ObserverStats& stats) override;
  std::unique_ptr<Observer> clone() const override;

 private:
  ObserverOptions options_;
  std::vector<float> min_, max_;
  std::vector<float> scratch_min_, scratch_max_;
};

/// Exponential moving average of each batch's min and max, computed in float32 exactly as
/// PyTorch: the first batch sets the range, then
///   min ← min + c·(batch_min − min),  max ← max + c·(batch_max − max),  c = averaging_constant.
class MovingAverageMinMaxObserver final : public Observer {
 public:
  /// `options.kind` must be moving_average; 0 < averaging_constant ≤ 1.
  explicit MovingAverageMinMaxObserver(ObserverOptions options);
  ObserverKind kind() const override { return ObserverKind::moving_average; }
  const ObserverOptions& options() const override { return options_; }
  void observe(const float* data, std::span<const int64_t> dims) override;
  using Observer::observe;
  ObservedRange range(bool symmetric = false) const override;
  void reset() override;
  size_t state_bytes() const override;
  /// A moving average depends on batch order, so merging cannot equal one sequential run:
  /// the result is the batch-count-weighted mean of the two averages.
  void merge(const Observer& other) override;
  ObserverStats stats() const override;
  void load_stats(const ObserverStats& stats) override;
  std::unique_ptr<Observer> clone() const override;

 private:
  ObserverOptions options_;
  std::vector<float> min_, max_;
  std::vector<float> scratch_min_, scratch_max_;
};

}  // namespace mq
