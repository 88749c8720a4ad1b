#include "engine/observers/observer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "engine/observers/histogram.h"
#include "engine/observers/minmax.h"
#include "ir/error.h"

namespace mq {

std::string_view observer_kind_name(ObserverKind kind) {
  switch (kind) {
    case ObserverKind::minmax: return "minmax";
    case ObserverKind::moving_average: return "moving-average";
    case ObserverKind::percentile: return "percentile";
    case ObserverKind::entropy: return "entropy";
    case ObserverKind::mse: return "mse";
    case ObserverKind::auto_select: return "auto";
  }
  return "?";
}

ObserverKind parse_observer_kind(std::string_view name) {
  for (ObserverKind k : {ObserverKind::minmax, ObserverKind::moving_average, ObserverKind::percentile,
                         ObserverKind::entropy, ObserverKind::mse, ObserverKind::auto_select})
    if (observer_kind_name(k) == name) return k;
  fail<InvalidArgument>("unknown observer '", std::string(name),
                        "' (known: minmax, moving-average, percentile, entropy, mse, auto)");
}

void batch_min_max(const float* data, std::span<const int64_t> dims, std::optional<int64_t> axis,
                   std::vector<float>& min_out, std::vector<float>& max_out) {
  int64_t outer = 1, channels = 1, inner = 1;
  for (int64_t d : dims)
    if (d < 0) fail<InvalidArgument>("observed batch has a negative dimension ", d);
  if (axis) {
    if (*axis < 0 || *axis >= int64_t(dims.size()))
      fail<InvalidArgument>("observer channel axis ", *axis, " out of range for a batch of rank ", dims.size());
    for (int64_t i = 0; i < *axis; ++i) outer *= dims[size_t(i)];
    channels = dims[size_t(*axis)];
    for (size_t i = size_t(*axis) + 1; i < dims.size(); ++i) inner *= dims[i];
  } else {
    for (int64_t d : dims) inner *= d;
  }
  min_out.assign(size_t(channels), std::numeric_limits<float>::infinity());
  max_out.assign(size_t(channels), -std::numeric_limits<float>::infinity());
  bool finite = true;
  const float* p = data;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c) {
      float lo = min_out[size_t(c)], hi = max_out[size_t(c)];
      for (int64_t k = 0; k < inner; ++k) {
        const float v = p[k];
        finite &= std::isfinite(v);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      min_out[size_t(c)] = lo;
      max_out[size_t(c)] = hi;
      p += inner;
    }
  if (!finite) fail<InvalidArgument>("observed batch contains NaN or infinite values");
}

void Observer::observe(const Tensor& t) {
  if (t.dtype() != DType::f32) fail<InvalidArgument>("observers take f32 tensors, got ", dtype_name(t.dtype()));
  observe(t.data<float>(), std::span<const int64_t>(t.dims()));
}

QuantParams Observer::compute(const QuantScheme& scheme) const {
  const ObservedRange r = range(scheme.symmetric);
  return compute_qparams(r.min, r.max, r.axis, scheme);
}

void Observer::check_compatible(const Observer& other) const {
  const ObserverOptions& a = options();
  const ObserverOptions& b = other.options();
  if (other.kind() != kind())
    fail<InvalidArgument>("cannot merge a ", observer_kind_name(other.kind()), " observer into a ",
                          observer_kind_name(kind()), " observer");
  if (a.axis != b.axis || a.averaging_constant != b.averaging_constant || a.percentile != b.percentile ||
      a.bins != b.bins || a.quantized_bins != b.quantized_bins)
    fail<InvalidArgument>("cannot merge ", observer_kind_name(kind()), " observers with different options");
}

std::unique_ptr<Observer> make_observer(const ObserverOptions& options) {
  switch (options.kind) {
    case ObserverKind::minmax: return std::make_unique<MinMaxObserver>(options);
    case ObserverKind::moving_average: return std::make_unique<MovingAverageMinMaxObserver>(options);
    case ObserverKind::percentile:
    case ObserverKind::entropy:
    case ObserverKind::mse:
    case ObserverKind::auto_select: return std::make_unique<HistogramObserver>(options);
  }
  fail<InvalidArgument>("unknown observer kind ", int(options.kind));
}

std::unique_ptr<Observer> make_observer(std::string_view spec, std::optional<int64_t> axis) {
  ObserverOptions o;
  o.axis = axis;
  const size_t colon = spec.find(':');
  o.kind = parse_observer_kind(spec.substr(0, colon));
  if (colon != std::string_view::npos) {
    if (o.kind != ObserverKind::percentile)
      fail<InvalidArgument>("observer '", std::string(spec), "': only percentile takes a value");
    const std::string value(spec.substr(colon + 1));
    size_t used = 0;
    try {
      o.percentile = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size())
      fail<InvalidArgument>("observer '", std::string(spec), "': bad percentile '", value, "'");
  }
  return make_observer(o);
}

std::unique_ptr<Observer> observer_from_stats(const ObserverStats& stats) {
  ObserverOptions o;
  o.kind = parse_observer_kind(stats.kind);
  o.axis = stats.axis;
  o.averaging_constant = stats.averaging_constant;
  o.percentile = stats.percentile;
  o.quantized_bins = stats.quantized_bins;
  if (stats.histogram) o.bins = int32_t(stats.histogram->counts.size());
  auto obs = make_observer(o);
  obs->load_stats(stats);
  return obs;
}

}  // namespace mq
