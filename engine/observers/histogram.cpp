#include "engine/observers/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>

#include "ir/error.h"

namespace mq {
namespace {

int32_t log2_exact(int32_t v) { return std::countr_zero(uint32_t(v)); }

/// Smallest e with 2^e > v (v > 0, finite).
int32_t exponent_above(double v) {
  int e = 0;
  std::frexp(v, &e);  // v = f·2^e, f in [0.5, 1)  ⇒  2^(e−1) ≤ v < 2^e
  return e;
}

/// Smooths a count distribution like MXNet / ORT `smooth_distribution` (eps 1e-4): zeros
/// become eps, the mass taken from the non-zero entries. False when p is all zero or the
/// smoothing would make an entry non-positive.
bool smooth(std::vector<double>& p) {
  constexpr double eps = 1e-4;
  size_t zeros = 0;
  for (double v : p) zeros += (v == 0.0);
  const size_t nonzeros = p.size() - zeros;
  if (nonzeros == 0) return false;
  const double eps1 = eps * double(zeros) / double(nonzeros);
  for (double& v : p) {
    v = v == 0.0 ? eps : v - eps1;
    if (v <= 0.0) return false;
  }
  return true;
}

/// scipy.stats.entropy(p, q): both normalized, Σ p·log(p/q).
double kl_divergence(const std::vector<double>& p, const std::vector<double>& q) {
  const double sp = std::accumulate(p.begin(), p.end(), 0.0);
  const double sq = std::accumulate(q.begin(), q.end(), 0.0);
  double kl = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double a = p[i] / sp, b = q[i] / sq;
    kl += a * std::log(a / b);
  }
  return kl;
}

}  // namespace

// ---- StreamingHistogram --------------------------------------------------------------

StreamingHistogram::StreamingHistogram(int32_t bins) {
  if (bins < 2 || bins > (1 << 24) || !std::has_single_bit(uint32_t(bins)))
    fail<InvalidArgument>("histogram bins must be a power of two in [2, 2^24], got ", bins);
  counts_.assign(size_t(bins), 0);
}

void StreamingHistogram::clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  exponent_.reset();
}

uint64_t StreamingHistogram::total() const { return std::accumulate(counts_.begin(), counts_.end(), uint64_t{0}); }

double StreamingHistogram::edge(int64_t b) const {
  if (!exponent_) return 0.0;
  const int64_t half = bins() / 2;
  return std::ldexp(double(b - half), *exponent_ - log2_exact(int32_t(half)));
}

void StreamingHistogram::grow_to(int32_t e) {
  if (!exponent_) {  // only zeros so far: they sit in bin B/2 on every grid
    exponent_ = e;
    return;
  }
  if (e <= *exponent_) return;
  const int shift = std::min(e - *exponent_, 62);
  const int64_t half = bins() / 2;
  std::vector<uint64_t> merged(counts_.size(), 0);
  for (int64_t b = 0; b < bins(); ++b) merged[size_t(((b - half) >> shift) + half)] += counts_[size_t(b)];
  counts_.swap(merged);
  exponent_ = e;
}

void StreamingHistogram::add(const float* data, size_t n) {
  double maxabs = 0.0;
  for (size_t i = 0; i < n; ++i) maxabs = std::max(maxabs, std::fabs(double(data[i])));
  const int64_t half = bins() / 2;
  if (maxabs == 0.0) {  // all zeros: bin B/2 on any grid
    counts_[size_t(half)] += n;
    return;
  }
  grow_to(exponent_above(maxabs));
  // Scaling by a power of two is exact, so floor() puts each value in its true bin.
  const double to_bins = std::ldexp(1.0, log2_exact(int32_t(half)) - *exponent_);
  const int64_t last = bins() - 1;
  for (size_t i = 0; i < n; ++i) {
    const int64_t b = int64_t(std::floor(double(data[i]) * to_bins)) + half;
    ++counts_[size_t(std::clamp<int64_t>(b, 0, last))];
  }
}

void StreamingHistogram::merge(const StreamingHistogram& other) {
  if (other.bins() != bins())
    fail<InvalidArgument>("cannot merge histograms of ", other.bins(), " and ", bins(), " bins");
  const int64_t half = bins() / 2;
  if (other.exponent_) grow_to(std::max(other.exponent_.value(), exponent_.value_or(other.exponent_.value())));
  // Other's bin b maps to bin ((b − B/2) >> shift) + B/2 of this grid (exact: nested grids).
  const int shift = other.exponent_ ? std::min(*exponent_ - *other.exponent_, 62) : 0;
  for (int64_t b = 0; b < bins(); ++b) counts_[size_t(((b - half) >> shift) + half)] += other.counts_[size_t(b)];
}

void StreamingHistogram::assign(std::optional<int32_t> exponent, std::vector<uint64_t> counts) {
  if (counts.size() != counts_.size())
    fail<InvalidArgument>("histogram has ", counts.size(), " bins, expected ", counts_.size());
  if (exponent && (*exponent < -200 || *exponent > 200))
    fail<InvalidArgument>("histogram exponent ", *exponent, " is out of range");
  if (!exponent)
    for (size_t b = 0; b < counts.size(); ++b)
      if (counts[b] != 0 && b != counts.size() / 2)
        fail<InvalidArgument>("histogram without exponent has counts outside the zero bin");
  exponent_ = exponent;
  counts_ = std::move(counts);
}

// ---- range selection ------------------------------------------------------------------

std::pair<double, double> percentile_range(const StreamingHistogram& hist, double percentile, bool symmetric) {
  const double total = double(hist.total());
  if (total == 0.0) fail<InvalidArgument>("percentile of an empty histogram");
  const auto& c = hist.counts();
  const int64_t n = hist.bins(), half = n / 2;
  if (symmetric) {
    const double need = percentile / 100.0 * total;
    double cum = 0.0;
    int64_t j = 0;
    for (; j < half; ++j) {
      cum += double(c[size_t(half + j)] + c[size_t(half - 1 - j)]);
      if (cum >= need) break;
    }
    const double t = hist.edge(half + std::min(j, half - 1) + 1);
    return {-t, t};
  }
  const double cut = (100.0 - percentile) / 200.0 * total;
  double cum = 0.0;
  int64_t left = 0;
  for (; left < n; ++left) {
    cum += double(c[size_t(left)]);
    if (cum > cut) break;
  }
  cum = 0.0;
  int64_t right = 0;
  for (; right < n; ++right) {
    cum += double(c[size_t(right)]);
    if (cum >= total - cut) break;
  }
  return {hist.edge(std::min(left, n - 1)), hist.edge(std::min(right, n - 1) + 1)};
}

std::pair<double, double> entropy_threshold(const StreamingHistogram& hist, int32_t quantized_bins, double min,
                                            double max) {
  const bool nonnegative = min >= 0.0;
  const auto& c = hist.counts();
  const int64_t n = hist.bins(), zero = n / 2, q_bins = quantized_bins;
  if (q_bins < 2 || q_bins > zero)
    fail<InvalidArgument>("quantized bins must be in [2, ", zero, "], got ", q_bins);
  // the histogram of |x|: bin j covers [j·w, (j+1)·w)
  std::vector<double> a(static_cast<size_t>(zero));
  for (int64_t j = 0; j < zero; ++j) a[size_t(j)] = double(c[size_t(zero + j)] + c[size_t(zero - 1 - j)]);
  // non-negative data: the first bin holds every exact zero (half of a post-ReLU tensor),
  // counted as its neighbour as NVIDIA's calibrator does, or the search chases that spike
  // with tiny ranges
  if (nonnegative && zero > 1) a[0] = a[1];
  std::vector<double> prefix(size_t(zero) + 1, 0.0);
  for (int64_t j = 0; j < zero; ++j) prefix[size_t(j) + 1] = prefix[size_t(j)] + a[size_t(j)];

  double best_kl = std::numeric_limits<double>::infinity();
  int64_t best_i = zero;
  std::vector<double> p, q;
  for (int64_t i = q_bins; i <= zero; ++i) {
    // reference: the first i bins, the mass beyond folded into the last one
    p.assign(a.begin(), a.begin() + i);
    p.back() += prefix[size_t(zero)] - prefix[size_t(i)];
    // candidate: the same i bins merged into the levels a u8 grid on [max(min, −t),
    // min(max, t)] gives |x| ≤ t — q_bins for data symmetric about 0, up to 2·q_bins for
    // non-negative data — (the last takes the remainder) and spread back evenly over the
    // non-empty bins
    const double t = hist.edge(zero + i);
    const double span = std::min(t, std::max(-min, 0.0)) + std::min(t, std::max(max, 0.0));
    const int64_t levels = std::min<int64_t>(
        i, std::clamp<int64_t>(span > 0 ? int64_t(std::lround(2.0 * double(q_bins) * t / span)) : q_bins, q_bins,
                               2 * q_bins));
    const int64_t merged = i / levels;
    q.assign(size_t(i), 0.0);
    for (int64_t j = 0; j < levels; ++j) {
      const int64_t s0 = j * merged, e0 = (j == levels - 1) ? i : s0 + merged;
      const double mass = prefix[size_t(e0)] - prefix[size_t(s0)];
      int64_t nonzero = 0;
      for (int64_t k = s0; k < e0; ++k) nonzero += (a[size_t(k)] != 0.0);
      if (nonzero == 0) continue;
      for (int64_t k = s0; k < e0; ++k) q[size_t(k)] = a[size_t(k)] != 0.0 ? mass / double(nonzero) : 0.0;
    }
    if (!smooth(p) || !smooth(q)) continue;
    const double kl = kl_divergence(p, q);
    if (kl < best_kl) best_kl = kl, best_i = i;
  }
  const double t = hist.edge(zero + best_i);
  return {-t, t};
}

std::pair<double, double> mse_range(const StreamingHistogram& hist, double min, double max, bool symmetric,
                                    int64_t levels) {
  const auto& c = hist.counts();
  const int64_t n = hist.bins(), zero = n / 2;
  if (hist.total() == 0 || !hist.exponent()) return {std::min(min, 0.0), std::max(max, 0.0)};
  // prefix sums of count, count·centre, count·centre² (centres of the bins)
  std::vector<double> s0(size_t(n) + 1, 0.0), s1(size_t(n) + 1, 0.0), s2(size_t(n) + 1, 0.0);
  for (int64_t b = 0; b < n; ++b) {
    const double x = 0.5 * (hist.edge(b) + hist.edge(b + 1)), k = double(c[size_t(b)]);
    s0[size_t(b) + 1] = s0[size_t(b)] + k;
    s1[size_t(b) + 1] = s1[size_t(b)] + k * x;
    s2[size_t(b) + 1] = s2[size_t(b)] + k * x * x;
  }
  auto sum = [](const std::vector<double>& s, int64_t a, int64_t b) { return s[size_t(b)] - s[size_t(a)]; };
  // squared distance of bins [a, b) to the point t: Σ k (x − t)²
  auto spread = [&](int64_t a, int64_t b, double t) {
    return sum(s2, a, b) - 2.0 * t * sum(s1, a, b) + t * t * sum(s0, a, b);
  };
  const double steps = double(levels - 1);
  if (symmetric) {
    const double amax = std::max(std::fabs(min), std::fabs(max));
    double best_t = amax, best = std::numeric_limits<double>::infinity();
    for (int64_t i = 1; i <= zero; ++i) {  // t = edge(zero + i)
      const double t = std::min(hist.edge(zero + i), amax);
      const int64_t lo = zero - i, hi = zero + i;
      const double d = 2.0 * t / steps;
      const double err = sum(s0, lo, hi) * d * d / 12.0 + spread(0, lo, -t) + spread(hi, n, t);
      if (err < best) best = err, best_t = t;
      if (t >= amax) break;
    }
    return {-best_t, best_t};
  }
  // candidate ends: bin edges at or below 0 for lo, at or above 0 for hi, within [min, max]
  int64_t first = 0, last = n;
  while (first < zero && hist.edge(first + 1) <= min) ++first;
  while (last > zero && hist.edge(last - 1) >= max) --last;
  double best = std::numeric_limits<double>::infinity();
  std::pair<double, double> best_range{std::min(min, 0.0), std::max(max, 0.0)};
  for (int64_t a = first; a <= zero; ++a) {
    const double lo = std::min(std::max(hist.edge(a), min), 0.0);
    const double below = spread(0, a, lo);
    if (below >= best) continue;
    for (int64_t b = last; b >= zero; --b) {
      const double hi = std::max(std::min(hist.edge(b), max), 0.0);
      const double d = (hi - lo) / steps;
      const double err = below + sum(s0, a, b) * d * d / 12.0 + spread(b, n, hi);
      if (err < best) best = err, best_range = {lo, hi};
    }
  }
  return best_range;
}

// ---- HistogramObserver ----------------------------------------------------------------

HistogramObserver::HistogramObserver(ObserverOptions options)
    : options_(std::move(options)), hist_(options_.bins) {
  if (options_.kind != ObserverKind::percentile && options_.kind != ObserverKind::entropy &&
      options_.kind != ObserverKind::mse && options_.kind != ObserverKind::auto_select)
    fail<InvalidArgument>("HistogramObserver needs kind percentile, entropy, mse or auto");
  if (options_.axis) fail<InvalidArgument>(observer_kind_name(options_.kind), " observers are per tensor only");
  if (!(options_.percentile > 0.0 && options_.percentile <= 100.0))
    fail<InvalidArgument>("percentile must be in (0, 100], got ", options_.percentile);
  // the entropy search runs on the B/2 bins of |x|
  if (options_.quantized_bins < 2 || options_.quantized_bins > options_.bins / 2)
    fail<InvalidArgument>("quantized bins must be in [2, bins/2=", options_.bins / 2, "], got ",
                          options_.quantized_bins);
}

void HistogramObserver::observe(const float* data, std::span<const int64_t> dims) {
  std::vector<float> lo, hi;  // one channel: no allocation beyond two floats
  batch_min_max(data, dims, std::nullopt, lo, hi);
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  if (n == 0) return;
  hist_.add(data, size_t(n));
  min_ = batches_ == 0 ? lo[0] : std::min(min_, lo[0]);
  max_ = batches_ == 0 ? hi[0] : std::max(max_, hi[0]);
  ++batches_;
  elements_ += n;
}

std::pair<float, float> HistogramObserver::min_max() const {
  if (batches_ == 0) fail<InvalidArgument>(observer_kind_name(kind()), " observer has not seen any data");
  return {min_, max_};
}

ObservedRange HistogramObserver::range(bool symmetric) const {
  const auto [mn, mx] = min_max();
  if (kind() == ObserverKind::auto_select) return {{mn}, {mx}, std::nullopt};  // MinMax until calibrate() chooses
  const auto [lo_d, hi_d] =
      kind() == ObserverKind::entropy ? entropy_threshold(hist_, options_.quantized_bins, mn, mx)
      : kind() == ObserverKind::mse   ? mse_range(hist_, mn, mx, symmetric)
                                      : percentile_range(hist_, options_.percentile, symmetric);
  float lo = std::max(float(lo_d), mn);
  float hi = std::min(float(hi_d), mx);
  lo = std::min(lo, hi);
  return {{lo}, {hi}, std::nullopt};
}

void HistogramObserver::reset() {
  hist_.clear();
  min_ = max_ = 0.0f;
  batches_ = elements_ = 0;
}

size_t HistogramObserver::state_bytes() const {
  return sizeof(*this) + hist_.counts().capacity() * sizeof(uint64_t);
}

void HistogramObserver::merge(const Observer& other) {
  check_compatible(other);
  const auto& o = static_cast<const HistogramObserver&>(other);
  if (o.batches_ == 0) return;
  hist_.merge(o.hist_);
  min_ = batches_ == 0 ? o.min_ : std::min(min_, o.min_);
  max_ = batches_ == 0 ? o.max_ : std::max(max_, o.max_);
  batches_ += o.batches_;
  elements_ += o.elements_;
}

ObserverStats HistogramObserver::stats() const {
  ObserverStats s;
  s.kind = std::string(observer_kind_name(kind()));
  s.batches = batches_;
  s.elements = elements_;
  if (batches_ > 0) {
    s.min = {min_};
    s.max = {max_};
  }
  s.averaging_constant = options_.averaging_constant;
  s.percentile = options_.percentile;
  s.quantized_bins = options_.quantized_bins;
  s.histogram = HistogramStats{hist_.exponent(), hist_.counts()};
  return s;
}

void HistogramObserver::load_stats(const ObserverStats& s) {
  if (s.kind != observer_kind_name(kind()))
    fail<InvalidArgument>("stats of a '", s.kind, "' observer given to a ", observer_kind_name(kind()),
                          " observer");
  if (s.axis) fail<InvalidArgument>(observer_kind_name(kind()), " stats cannot have an axis");
  if (!s.histogram) fail<InvalidArgument>(observer_kind_name(kind()), " stats need a histogram");
  if (s.percentile != options_.percentile || s.quantized_bins != options_.quantized_bins)
    fail<InvalidArgument>("stats options do not match the observer's");
  if (s.batches < 0 || s.elements < 0) fail<InvalidArgument>("stats have negative sample counts");
  if (s.min.size() != s.max.size() || s.min.size() != (s.batches > 0 ? 1u : 0u))
    fail<InvalidArgument>("histogram stats need one min and max once data was seen");
  if (!s.min.empty() && !(s.min[0] <= s.max[0] && std::isfinite(s.min[0]) && std::isfinite(s.max[0])))
    fail<InvalidArgument>("stats range [", s.min[0], ", ", s.max[0], "] is invalid");
  StreamingHistogram h(options_.bins);
  h.assign(s.histogram->exponent, s.histogram->counts);
  if (h.total() != uint64_t(s.elements))
    fail<InvalidArgument>("histogram holds ", h.total(), " values but stats say ", s.elements);
  hist_ = std::move(h);
  min_ = s.min.empty() ? 0.0f : s.min[0];
  max_ = s.max.empty() ? 0.0f : s.max[0];
  batches_ = s.batches;
  elements_ = s.elements;
}

std::unique_ptr<Observer> HistogramObserver::clone() const { return std::make_unique<HistogramObserver>(*this); }

}  // namespace mq
