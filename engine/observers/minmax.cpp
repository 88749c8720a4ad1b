#include "engine/observers/minmax.h"

#include <algorithm>
#include <cmath>

#include "ir/error.h"

namespace mq {
namespace {

ObservedRange make_range(const std::vector<float>& lo, const std::vector<float>& hi, std::optional<int64_t> axis,
                         ObserverKind kind) {
  if (lo.empty()) fail<InvalidArgument>(observer_kind_name(kind), " observer has not seen any data");
  return {lo, hi, axis};
}

void check_channels(const std::vector<float>& have, const std::vector<float>& batch) {
  if (!have.empty() && have.size() != batch.size())
    fail<InvalidArgument>("observer saw ", have.size(), " channels before, this batch has ", batch.size());
}

ObserverStats base_stats(const Observer& o, const std::vector<float>& lo, const std::vector<float>& hi) {
  ObserverStats s;
  s.kind = std::string(observer_kind_name(o.kind()));
  s.axis = o.options().axis;
  s.batches = o.batches();
  s.elements = o.elements();
  s.min = lo;
  s.max = hi;
  s.averaging_constant = o.options().averaging_constant;
  s.percentile = o.options().percentile;
  s.quantized_bins = o.options().quantized_bins;
  return s;
}

/// Validates the min/max part of a stats record against an observer's options.
void check_stats(const Observer& o, const ObserverStats& s) {
  if (s.kind != observer_kind_name(o.kind()))
    fail<InvalidArgument>("stats of a '", s.kind, "' observer given to a ", observer_kind_name(o.kind()),
                          " observer");
  if (s.axis != o.options().axis) fail<InvalidArgument>("stats axis does not match the observer's");
  if (s.min.size() != s.max.size())
    fail<InvalidArgument>("stats have ", s.min.size(), " minima but ", s.max.size(), " maxima");
  if (!o.options().axis && s.min.size() > 1)
    fail<InvalidArgument>("per-tensor stats have ", s.min.size(), " ranges");
  if (s.batches < 0 || s.elements < 0) fail<InvalidArgument>("stats have negative sample counts");
  if (s.min.empty() != (s.batches == 0))
    fail<InvalidArgument>("stats have ", s.batches, " batches but ", s.min.size(), " ranges");
  for (size_t i = 0; i < s.min.size(); ++i)
    if (!(s.min[i] <= s.max[i]) || !std::isfinite(s.min[i]) || !std::isfinite(s.max[i]))
      fail<InvalidArgument>("stats range ", i, " [", s.min[i], ", ", s.max[i], "] is invalid");
}

}  // namespace

// ---- MinMaxObserver ------------------------------------------------------------------

MinMaxObserver::MinMaxObserver(ObserverOptions options) : options_(std::move(options)) {
  if (options_.kind != ObserverKind::minmax) fail<InvalidArgument>("MinMaxObserver needs kind minmax");
  if (options_.axis && *options_.axis < 0)
    fail<InvalidArgument>("observer axis must be ≥ 0, got ", *options_.axis);
}

void MinMaxObserver::observe(const float* data, std::span<const int64_t> dims) {
  batch_min_max(data, dims, options_.axis, scratch_min_, scratch_max_);
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  if (n == 0) return;
  check_channels(min_, scratch_min_);
  if (min_.empty()) {
    min_ = scratch_min_;
    max_ = scratch_max_;
  } else {
    for (size_t c = 0; c < min_.size(); ++c) {
      min_[c] = std::min(min_[c], scratch_min_[c]);
      max_[c] = std::max(max_[c], scratch_max_[c]);
    }
  }
  ++batches_;
  elements_ += n;
}

ObservedRange MinMaxObserver::range(bool) const { return make_range(min_, max_, options_.axis, kind()); }

void MinMaxObserver::reset() {
  min_.clear();
  max_.clear();
  batches_ = elements_ = 0;
}

size_t MinMaxObserver::state_bytes() const {
  return sizeof(*this) +
         (min_.capacity() + max_.capacity() + scratch_min_.capacity() + scratch_max_.capacity()) * sizeof(float);
}

void MinMaxObserver::merge(const Observer& other) {
  check_compatible(other);
  const auto& o = static_cast<const MinMaxObserver&>(other);
  if (o.min_.empty()) return;
  check_channels(min_, o.min_);
  if (min_.empty()) {
    min_ = o.min_;
    max_ = o.max_;
  } else {
    for (size_t c = 0; c < min_.size(); ++c) {
      min_[c] = std::min(min_[c], o.min_[c]);
      max_[c] = std::max(max_[c], o.max_[c]);
    }
  }
  batches_ += o.batches_;
  elements_ += o.elements_;
}

ObserverStats MinMaxObserver::stats() const { return base_stats(*this, min_, max_); }

void MinMaxObserver::load_stats(const ObserverStats& s) {
  check_stats(*this, s);
  min_ = s.min;
  max_ = s.max;
  batches_ = s.batches;
  elements_ = s.elements;
}

std::unique_ptr<Observer> MinMaxObserver::clone() const { return std::make_unique<MinMaxObserver>(*this); }

// ---- MovingAverageMinMaxObserver -----------------------------------------------------

MovingAverageMinMaxObserver::MovingAverageMinMaxObserver(ObserverOptions options) : options_(std::move(options)) {
  if (options_.kind != ObserverKind::moving_average)
    fail<InvalidArgument>("MovingAverageMinMaxObserver needs kind moving-average");
  if (!(options_.averaging_constant > 0.0 && options_.averaging_constant <= 1.0))
    fail<InvalidArgument>("averaging constant must be in (0, 1], got ", options_.averaging_constant);
  if (options_.axis && *options_.axis < 0)
    fail<InvalidArgument>("observer axis must be ≥ 0, got ", *options_.axis);
}

void MovingAverageMinMaxObserver::observe(const float* data, std::span<const int64_t> dims) {
  batch_min_max(data, dims, options_.axis, scratch_min_, scratch_max_);
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  if (n == 0) return;
  check_channels(min_, scratch_min_);
  if (min_.empty()) {
    min_ = scratch_min_;
    max_ = scratch_max_;
  } else {
    const float c = float(options_.averaging_constant);  // PyTorch multiplies by a float32 constant
    for (size_t i = 0; i < min_.size(); ++i) {
      min_[i] = min_[i] + c * (scratch_min_[i] - min_[i]);
      max_[i] = max_[i] + c * (scratch_max_[i] - max_[i]);
    }
  }
  ++batches_;
  elements_ += n;
}

ObservedRange MovingAverageMinMaxObserver::range(bool) const {
  return make_range(min_, max_, options_.axis, kind());
}

void MovingAverageMinMaxObserver::reset() {
  min_.clear();
  max_.clear();
  batches_ = elements_ = 0;
}

size_t MovingAverageMinMaxObserver::state_bytes() const {
  return sizeof(*this) +
         (min_.capacity() + max_.capacity() + scratch_min_.capacity() + scratch_max_.capacity()) * sizeof(float);
}

void MovingAverageMinMaxObserver::merge(const Observer& other) {
  check_compatible(other);
  const auto& o = static_cast<const MovingAverageMinMaxObserver&>(other);
  if (o.min_.empty()) return;
  check_channels(min_, o.min_);
  if (min_.empty()) {
    min_ = o.min_;
    max_ = o.max_;
  } else {
    const double wa = double(batches_), wb = double(o.batches_), w = wa + wb;
    for (size_t i = 0; i < min_.size(); ++i) {
      min_[i] = float((double(min_[i]) * wa + double(o.min_[i]) * wb) / w);
      max_[i] = float((double(max_[i]) * wa + double(o.max_[i]) * wb) / w);
    }
  }
  batches_ += o.batches_;
  elements_ += o.elements_;
}

ObserverStats MovingAverageMinMaxObserver::stats() const { return base_stats(*this, min_, max_); }

void MovingAverageMinMaxObserver::load_stats(const ObserverStats& s) {
  check_stats(*this, s);
  if (s.averaging_constant != options_.averaging_constant)
    fail<InvalidArgument>("stats averaging constant does not match the observer's");
  min_ = s.min;
  max_ = s.max;
  batches_ = s.batches;
  elements_ = s.elements;
}

std::unique_ptr<Observer> MovingAverageMinMaxObserver::clone() const {
  return std::make_unique<MovingAverageMinMaxObserver>(*this);
}

}  // namespace mq
