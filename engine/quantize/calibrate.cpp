// calibrate(): runs the fp32 model over calibration batches and observes the values that
// quantization needs.
#include <optional>
#include <set>
#include <sstream>

#include "engine/calibration/auto_range.h"
#include "engine/quantize.h"
#include "engine/quantize/rewrite.h"
#include "serialization/calibration_table.h"

namespace mq {

QuantParams Calibration::params(const std::string& value, const QuantScheme& scheme) const {
  auto it = observers_.find(value);
  if (it == observers_.end()) fail<InvalidArgument>("value '", value, "' was not calibrated");
  return it->second->compute(scheme);
}

std::vector<std::string> Calibration::values() const {
  std::vector<std::string> r;
  for (auto& [k, v] : observers_) r.push_back(k);
  return r;
}

std::string Calibration::observer_of(const std::string& value) const {
  auto it = observers_.find(value);
  if (it == observers_.end()) fail<InvalidArgument>("value '", value, "' was not calibrated");
  const Observer& o = *it->second;
  std::string name(observer_kind_name(o.kind()));
  if (o.kind() == ObserverKind::percentile) {
    std::ostringstream p;
    p << o.options().percentile;
    name += ":" + p.str();
  }
  return name;
}

void Calibration::save(const std::string& path) const {
  CalibrationTable t;
  for (auto& [name, obs] : observers_) t.values[name].stats = obs->stats();
  save_calibration_table(t, path);
}

Calibration Calibration::load(const std::string& path) {
  CalibrationTable t = load_calibration_table(path);
  Calibration c;
  for (auto& [name, e] : t.values) {
    auto obs = observer_from_stats(e.stats);
    c.observer_ = obs->options();
    c.observers_[name] = std::move(obs);
  }
  if (c.observers_.empty()) fail<InvalidArgument>(path, ": the calibration table has no entries");
  return c;
}

Calibration calibrate(const Graph& g, CalibrationSource& source, const CalibrationOptions& options) {
  std::vector<std::string> watch = quant::values_to_observe(g, options.layers);
  Calibration cal;
  cal.observer_ = options.observer;
  for (auto& v : watch) cal.observers_[v] = make_observer(options.observer);
  std::optional<AutoRangeSelector> automatic;  // --observer auto: subsamples to choose ranges on
  if (options.observer.kind == ObserverKind::auto_select) automatic.emplace(g, watch, options.layers);
  Session s(g, {.threads = options.threads, .optimize = false});
  StateFeed feed(g, options.state);
  int64_t done = 0;
  while (options.max_samples <= 0 || done < options.max_samples) {
    auto batch = source.next();
    if (!batch) break;
    int64_t rows = batch_rows(g, *batch);
    TensorMap in = feed.apply(*batch);
    TensorMap out = s.run(in, watch, [&](const Value& v, const Tensor& t) {
      if (t.dtype() == DType::f32 && t.numel() > 0)
        with_context("calibrating '" + v.name() + "'", [&] {
          cal.observers_.at(v.name())->observe(t);
          if (automatic) automatic->record(v.name(), t);
          return 0;
        });
    });
    feed.update(out);
    done += rows;
    if (options.progress) options.progress(done, options.max_samples);
  }
  if (done == 0) fail<InvalidArgument>("the calibration data is empty: no samples were read");
  cal.samples_ = done;
  // values that never produced data (e.g. empty tensors) are dropped
  for (auto it = cal.observers_.begin(); it != cal.observers_.end();)
    it = it->second->batches() == 0 ? cal.observers_.erase(it) : std::next(it);
  if (automatic) automatic->select(cal.observers_, options.threads);
  return cal;
}

}  // namespace mq
