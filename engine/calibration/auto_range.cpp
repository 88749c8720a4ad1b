#include "engine/calibration/auto_range.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <cmath>
#include <functional>
#include <limits>

#include "engine/executor.h"
#include "engine/observers/qparams.h"
#include "engine/sqnr.h"
#include "ir/control_flow.h"
#include "ir/error.h"

namespace mq {

namespace {

/// Every operand but the first is absent or constant (the layer can run on its own).
bool runs_alone(const Node& n) {
  for (size_t i = 1; i < n.inputs().size(); ++i)
    if (n.input(i) && !n.input(i)->is_constant()) return false;
  return true;
}

/// Finds `name` in `g` or its subgraphs.
const Value* find_anywhere(const Graph& g, const std::string& name) {
  if (const Value* v = g.find_value(name)) return v;
  for (const Node* n : g.nodes())
    for (auto& [attr, sub] : subgraphs(*n))
      if (const Value* v = find_anywhere(*sub, name)) return v;
  return nullptr;
}

/// The operands of a layer run on `x`: x, then its constants.
std::vector<const Tensor*> operands(const Node& n, const Tensor& x) {
  std::vector<const Tensor*> ins{&x};
  for (size_t i = 1; i < n.inputs().size(); ++i) ins.push_back(n.input(i) ? &*n.input(i)->constant() : nullptr);
  return ins;
}

int64_t product(const std::vector<int64_t>& dims) {
  int64_t p = 1;
  for (int64_t d : dims) p *= d;
  return p;
}

}  // namespace

AutoRangeSelector::AutoRangeSelector(const Graph& g, const std::vector<std::string>& watched,
                                     const LayerSelection& layers, int64_t budget, int64_t total_budget)
    : budget_(
          std::max<int64_t>(1, std::min(budget, total_budget / std::max<int64_t>(1, int64_t(watched.size()))))) {
  for (const std::string& name : watched) {
    Entry& e = entries_[name];
    e.rng.seed(uint32_t(std::hash<std::string>{}(name)));
    const Value* v = find_anywhere(g, name);
    if (!v) continue;
    std::vector<Rule> rules;
    for (const Node* n : v->users()) {
      if (n->input(0) != v || !layers.selects(*n) || !runs_alone(*n) || n->outputs().empty()) continue;
      if (n->op() == OpKind::Conv2d && n->attrs().get_string_or("layout", "NCHW") == "NCHW" &&
          n->input(1)->shape().rank() == 4) {
        rules.push_back(Rule::conv);
        const auto& w = n->input(1)->constant()->dims();
        const auto dil = n->attrs().get_ints_or("dilations", {1, 1});
        const auto strides = n->attrs().get_ints_or("strides", {1, 1});
        for (size_t k = 0; k < 2 && k < dil.size() && k < strides.size(); ++k)
          e.window = std::max({e.window, dil[k] * (w[2 + k] - 1) + 1, strides[k]});
      } else if (n->op() == OpKind::Linear) {
        rules.push_back(Rule::linear);
      } else if (n->op() == OpKind::LSTM && !n->input(4) && !n->input(5) && !n->input(6)) {
        rules.push_back(Rule::lstm);
      } else {
        continue;
      }
      e.readers.push_back(n);
    }
    // readers of different kinds (or several LSTMs of different layouts) cannot share one
    // subsample: score the value on its own error then
    bool same = !rules.empty() && std::all_of(rules.begin(), rules.end(), [&](Rule r) { return r == rules[0]; });
    if (same && rules[0] == Rule::lstm)
      for (const Node* n : e.readers)
        same &= n->attrs().get_int_or("layout", 0) == e.readers[0]->attrs().get_int_or("layout", 0);
    if (same) {
      e.rule = rules[0];
    } else {
      e.readers.clear();
      e.rule = Rule::none;
    }
  }
}

void AutoRangeSelector::record(const std::string& name, const Tensor& t) {
  auto it = entries_.find(name);
  if (it == entries_.end() || t.dtype() != DType::f32 || t.numel() == 0) return;
  Entry& e = it->second;
  if (e.rule == Rule::none) return;
  // each batch may fill half of what is left: a few large batches still give a large
  // subsample, many small ones spread over the budget
  const int64_t room = (budget_ - int64_t(e.data.size()) + 1) / 2;
  if (room <= 0 && !e.data.empty()) return;
  switch (e.rule) {
    case Rule::conv:
      if (t.rank() == 4) return keep_conv(e, t, room);
      break;
    case Rule::linear:
      if (t.rank() >= 1) return keep_rows(e, t, room);
      break;
    case Rule::lstm:
      if (t.rank() == 3) return keep_lstm(e, t, room);
      break;
    case Rule::none: break;
  }
}

// The first batch fixes the unit; a later batch whose unit does not fit is skipped. At least
// one unit is kept even when it is larger than the room.
void AutoRangeSelector::keep_conv(Entry& e, const Tensor& t, int64_t room) const {
  const int64_t N = t.dim(0), C = t.dim(1), H = t.dim(2), W = t.dim(3);
  if (e.unit.empty()) {
    const int64_t side = std::max(e.window, int64_t(std::sqrt(double(room) / double(std::max<int64_t>(C, 1)))));
    e.unit = {C, std::min(H, side), std::min(W, side)};
  }
  const int64_t h = e.unit[1], w = e.unit[2], unit = product(e.unit);
  if (e.unit[0] != C || h > H || w > W) return;
  const float* p = t.data<float>();
  for (int64_t n = 0; n < N && (room >= unit || e.data.empty()); ++n, room -= unit) {
    // the batch's first window is centred on its largest |x| (the values a clipped range
    // loses are then always scored), the others are random
    int64_t item = n, y0 = int64_t(e.rng() % uint64_t(H - h + 1)), x0 = int64_t(e.rng() % uint64_t(W - w + 1));
    if (n == 0) {
      const int64_t at =
          std::max_element(p, p + N * C * H * W, [](float a, float b) { return std::fabs(a) < std::fabs(b); }) - p;
      const int64_t yx = at % (H * W);
      item = at / (C * H * W);
      y0 = std::clamp<int64_t>(yx / W - h / 2, 0, H - h);
      x0 = std::clamp<int64_t>(yx % W - w / 2, 0, W - w);
    }
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < h; ++y) {
        const float* row = p + ((item * C + c) * H + y0 + y) * W + x0;
        e.data.insert(e.data.end(), row, row + w);
      }
  }
}

void AutoRangeSelector::keep_rows(Entry& e, const Tensor& t, int64_t room) const {
  const int64_t K = t.dim(t.rank() - 1), R = t.numel() / std::max<int64_t>(K, 1);
  if (e.unit.empty()) e.unit = {K};
  if (e.unit[0] != K || K == 0) return;
  const int64_t rows = std::clamp<int64_t>(room / K, e.data.empty() ? 1 : 0, R);
  if (rows == 0) return;
  const int64_t stride = R / rows, offset = int64_t(e.rng() % uint64_t(stride));
  // the row holding the largest |x| replaces the first pick (the values a clipped range loses
  // are then always scored)
  const float* p = t.data<float>();
  const int64_t top =
      (std::max_element(p, p + R * K, [](float a, float b) { return std::fabs(a) < std::fabs(b); }) - p) / K;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = p + (r == 0 ? top : offset + r * stride) * K;
    e.data.insert(e.data.end(), row, row + K);
  }
}

void AutoRangeSelector::keep_lstm(Entry& e, const Tensor& t, int64_t room) const {
  const bool batch_first = e.readers[0]->attrs().get_int_or("layout", 0) == 1;
  const int64_t T = t.dim(batch_first ? 1 : 0), B = t.dim(batch_first ? 0 : 1), I = t.dim(2);
  if (e.unit.empty()) e.unit = {std::clamp<int64_t>(room / std::max<int64_t>(I, 1), 1, T), I};
  const int64_t steps = e.unit[0], unit = product(e.unit);
  if (e.unit[1] != I || steps > T) return;
  const float* p = t.data<float>();
  for (int64_t b = 0; b < B && (room >= unit || e.data.empty()); ++b, room -= unit)
    for (int64_t s = 0; s < steps; ++s) {
      const float* row = p + (batch_first ? b * T + s : s * B + b) * I;
      e.data.insert(e.data.end(), row, row + I);
    }
}

int64_t AutoRangeSelector::kept() const {
  int64_t n = 0;
  for (auto& [name, e] : entries_) n += int64_t(e.data.size());
  return n;
}

double AutoRangeSelector::error(const Entry& e, const Tensor& x, const std::vector<std::vector<Tensor>>& ref,
                                const Observer& obs) const {
  const Tensor xq = fake_quantize(x, obs.compute(QuantScheme::activation()));
  auto noise_ratio = [](const Tensor& a, const Tensor& b) {
    SqnrAccumulator acc;
    acc.add(a.data<float>(), b.data<float>(), a.numel());
    if (acc.bad_test > acc.bad_ref) return std::numeric_limits<double>::infinity();
    return acc.signal > 0 ? acc.noise / acc.signal : acc.noise;
  };
  double total = 0;
  for (size_t r = 0; r < e.readers.size(); ++r) {
    const Node& n = *e.readers[r];
    const std::vector<Tensor> out = run_node(n, operands(n, xq));
    for (size_t k = 0; k < out.size() && k < ref[r].size(); ++k)
      if (out[k].dtype() == DType::f32 && out[k].numel() > 0) total += noise_ratio(ref[r][k], out[k]);
  }
  return total;
}

void AutoRangeSelector::select(std::map<std::string, std::unique_ptr<Observer>>& observers, int threads) const {
  // one job per value; each job replaces only its own map entry, so jobs run in parallel
  struct Job {
    const std::string* name;
    const Entry* entry;
    std::unique_ptr<Observer>* observer;
  };
  std::vector<Job> jobs;
  for (auto& [name, e] : entries_) {
    auto it = observers.find(name);
    if (it == observers.end() || it->second->kind() != ObserverKind::auto_select) continue;
    if (e.data.empty())  // no layer to measure the error in: MinMax, the first candidate
      it->second = std::move(auto_candidates(it->second->stats()).front());
    else jobs.push_back({&name, &e, &it->second});
  }
  std::atomic<size_t> next{0};
  std::mutex failed_mutex;
  std::exception_ptr failed;
  auto work = [&] {
    for (size_t j; (j = next++) < jobs.size();) {
      try {
        choose(*jobs[j].name, *jobs[j].entry, *jobs[j].observer);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failed_mutex);
        if (!failed) failed = std::current_exception();
      }
    }
  };
  const int n = std::max(
      1, std::min<int>(threads > 0 ? threads : int(std::thread::hardware_concurrency()), int(jobs.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failed) std::rethrow_exception(failed);
}

void AutoRangeSelector::choose(const std::string& name, const Entry& e,
                               std::unique_ptr<Observer>& observer) const {
  with_context("choosing the range of '" + name + "'", [&] {
    const int64_t units = int64_t(e.data.size()) / product(e.unit);
    std::vector<int64_t> dims;
    switch (e.rule) {
      case Rule::conv: dims = {units, e.unit[0], e.unit[1], e.unit[2]}; break;
      case Rule::linear: dims = {units, e.unit[0]}; break;
      case Rule::lstm: dims = {units, e.unit[0], e.unit[1]}; break;  // batch-first, see below
      case Rule::none: break;
    }
    Tensor x(DType::f32, dims);
    if (e.rule == Rule::lstm && e.readers[0]->attrs().get_int_or("layout", 0) == 0) {
      // kept as [units, steps, I]; the LSTM reads [steps, units, I]
      const int64_t steps = e.unit[0], I = e.unit[1];
      x = Tensor(DType::f32, {steps, units, I});
      for (int64_t u = 0; u < units; ++u)
        for (int64_t s = 0; s < steps; ++s)
          std::copy_n(e.data.data() + (u * steps + s) * I, I, x.data<float>() + (s * units + u) * I);
    } else {
      std::copy(e.data.begin(), e.data.end(), x.data<float>());
    }
    std::vector<std::vector<Tensor>> ref;
    for (const Node* n : e.readers) ref.push_back(run_node(*n, operands(*n, x)));
    // MinMax (the first candidate) is replaced only by a candidate whose error is at least
    // kMargin lower (3 dB at that layer): a layer's gain from clipping does not carry to the
    // model's output when errors compound downstream. Measured on captcha_det (output SQNR,
    // minmax 37.2 dB): margin 0 → 35.8, 0.2 → 36.8, 0.5 → 37.1; on captcha_ocr (22.5 dB):
    // 0.2 → 23.6, 0.5 → 24.6; gtzan_mlp lost 1.1 dB without a margin
    constexpr double kMargin = 0.5;
    std::unique_ptr<Observer> best;
    double best_error = std::numeric_limits<double>::infinity();
    for (auto& c : auto_candidates(observer->stats())) {
      const double err = error(e, x, ref, *c);
      const double bar = best && best->kind() == ObserverKind::minmax ? (1.0 - kMargin) * best_error : best_error;
      if (err < bar) best_error = err, best = std::move(c);  // strict: earlier candidates win ties
    }
    if (best) observer = std::move(best);
    return 0;
  });
}

std::vector<std::unique_ptr<Observer>> auto_candidates(const ObserverStats& stats) {
  std::vector<std::unique_ptr<Observer>> out;
  ObserverStats mm;
  mm.kind = std::string(observer_kind_name(ObserverKind::minmax));
  mm.batches = stats.batches;
  mm.elements = stats.elements;
  mm.min = stats.min;
  mm.max = stats.max;
  out.push_back(observer_from_stats(mm));
  for (double p : {99.999, 99.99, 99.9}) {
    ObserverStats s = stats;
    s.kind = std::string(observer_kind_name(ObserverKind::percentile));
    s.percentile = p;
    out.push_back(observer_from_stats(s));
  }
  for (ObserverKind k : {ObserverKind::mse, ObserverKind::entropy}) {
    ObserverStats s = stats;
    s.kind = std::string(observer_kind_name(k));
    out.push_back(observer_from_stats(s));
  }
  return out;
}

}  // namespace mq
