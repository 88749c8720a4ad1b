// Observers: min/max (per tensor and per channel), moving average, histogram percentile and
// entropy, fixed memory, merging, stats round trip, factory.
//
// The moving-average reference numbers were computed with Debian's /usr/bin/python3
// (torch 1.13): MovingAverageMinMaxObserver() fed [-1, 2], [-3, 1], [0.5, 4] gives
// min_val -1.0047999620437622, max_val 2.0101001262664795, scale 0.01182313822209835, zp 85.
// (PyTorch's HistogramObserver uses a different range search — an L2 error minimization — so
// it is not a reference for the percentile / entropy observers.)
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "engine/observers/histogram.h"
#include "engine/observers/minmax.h"
#include "engine/observers/observer.h"
#include "ir/error.h"

using namespace mq;

namespace {

std::vector<float> uniform(std::mt19937& rng, size_t n, float lo, float hi) {
  std::vector<float> v(n);
  for (float& x : v) x = lo + (hi - lo) * float(rng() >> 8) * (1.0f / 16777216.0f);
  return v;
}

/// Laplace-like long-tailed data: sign · (−log u) · b.
std::vector<float> long_tailed(std::mt19937& rng, size_t n, float b) {
  std::vector<float> v(n);
  for (float& x : v) {
    const float u = (float((rng() >> 8) + 1) * (1.0f / 16777217.0f));
    x = ((rng() & 1) ? 1.0f : -1.0f) * -std::log(u) * b;
  }
  return v;
}

ObserverOptions opts(ObserverKind k, std::optional<int64_t> axis = {}) {
  ObserverOptions o;
  o.kind = k;
  o.axis = axis;
  return o;
}

}  // namespace

TEST_CASE("minmax per tensor and per channel equal brute force") {
  std::mt19937 rng(1);
  MinMaxObserver pt(opts(ObserverKind::minmax));
  MinMaxObserver pc(opts(ObserverKind::minmax, 1));
  const std::vector<int64_t> dims{4, 3, 5};
  float gmin = INFINITY, gmax = -INFINITY;
  std::vector<float> cmin(3, INFINITY), cmax(3, -INFINITY);
  for (int b = 0; b < 20; ++b) {
    auto v = uniform(rng, 60, -3.0f + float(b) * 0.1f, 2.0f + float(b % 7));
    pt.observe(v.data(), dims);
    pc.observe(v.data(), dims);
    for (size_t i = 0; i < v.size(); ++i) {
      gmin = std::min(gmin, v[i]);
      gmax = std::max(gmax, v[i]);
      const size_t c = (i / 5) % 3;
      cmin[c] = std::min(cmin[c], v[i]);
      cmax[c] = std::max(cmax[c], v[i]);
    }
  }
  ObservedRange r = pt.range();
  CHECK(r.min == std::vector<float>{gmin});
  CHECK(r.max == std::vector<float>{gmax});
  ObservedRange rc = pc.range();
  CHECK(rc.axis == 1);
  CHECK(rc.min == cmin);
  CHECK(rc.max == cmax);
  CHECK(pt.batches() == 20);
  CHECK(pt.elements() == 1200);
  QuantParams qp = pc.compute(QuantScheme::weight());
  CHECK(qp.axis == 1);
  CHECK(qp.scales.size() == 3);
  CHECK(qp.scales[2] == std::max(-cmin[2], cmax[2]) / 127.5f);
  // A batch with a different channel count is an error, as is NaN.
  std::vector<float> small(8, 0.0f);
  CHECK_THROWS_AS(pc.observe(small.data(), std::vector<int64_t>{2, 4}), InvalidArgument);
  small[3] = NAN;
  CHECK_THROWS_AS(pt.observe(small.data(), std::vector<int64_t>{8}), InvalidArgument);
  CHECK(pt.range().min == std::vector<float>{gmin});  // state unchanged by the rejected batch
  pt.reset();
  CHECK_THROWS_AS(pt.range(), InvalidArgument);
  CHECK_THROWS_AS(pt.compute(QuantScheme::activation()), InvalidArgument);
}

TEST_CASE("moving average follows the PyTorch recurrence") {
  MovingAverageMinMaxObserver ma(opts(ObserverKind::moving_average));
  const std::vector<std::vector<float>> batches{{-1.0f, 2.0f}, {-3.0f, 1.0f}, {0.5f, 4.0f}};
  float mn = 0, mx = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    ma.observe(batches[i].data(), std::vector<int64_t>{2});
    const float bmin = *std::min_element(batches[i].begin(), batches[i].end());
    const float bmax = *std::max_element(batches[i].begin(), batches[i].end());
    if (i == 0) {
      mn = bmin;
      mx = bmax;
    } else {
      mn = mn + 0.01f * (bmin - mn);
      mx = mx + 0.01f * (bmax - mx);
    }
  }
  CHECK(ma.range().min[0] == mn);
  CHECK(ma.range().max[0] == mx);
  CHECK(mn == -1.0047999620437622f);  // torch 1.13
  CHECK(mx == 2.0101001262664795f);   // torch 1.13
  QuantParams qp = ma.compute(QuantScheme::activation());
  CHECK(qp.scales[0] == 0.01182313822209835f);  // torch 1.13
  CHECK(qp.zero_points[0] == 85);               // torch 1.13
}

TEST_CASE("percentile excludes planted outliers") {
  std::mt19937 rng(2);
  auto obs = make_observer("percentile:99.99");
  for (int b = 0; b < 10; ++b) {
    auto v = uniform(rng, 10000, -1.0f, 1.0f);
    if (b == 3) v[17] = 1000.0f;  // outliers
    if (b == 6) v[5] = -800.0f;
    if (b == 8) v[99] = 950.0f;
    obs->observe(v.data(), std::vector<int64_t>{100, 100});
  }
  ObservedRange r = obs->range();
  CHECK(r.max[0] <= 1.0f);
  CHECK(r.max[0] > 0.9f);
  CHECK(r.min[0] >= -1.0f);
  CHECK(r.min[0] < -0.9f);
  ObservedRange rs = obs->range(/*symmetric=*/true);
  CHECK(rs.max[0] <= 1.0f);
  // The minmax observer keeps the outliers.
  auto mm = make_observer("minmax");
  std::vector<float> out{-800.0f, 1000.0f};
  mm->observe(out.data(), std::vector<int64_t>{2});
  CHECK(mm->range().max[0] == 1000.0f);
}

TEST_CASE("percentile on a fine grid") {
  // 0..9999 / 10000: the 99% central range is about [0.005, 0.995].
  std::vector<float> v(10000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i) / 10000.0f;
  ObserverOptions o = opts(ObserverKind::percentile);
  o.percentile = 99.0;
  HistogramObserver h(o);
  h.observe(v.data(), std::vector<int64_t>{10000});
  ObservedRange r = h.range();
  CHECK(r.min[0] == doctest::Approx(0.005).epsilon(0.002));
  CHECK(r.max[0] == doctest::Approx(0.995).epsilon(0.002));
}

TEST_CASE("entropy: below minmax on long tails, close to minmax on uniform data") {
  std::mt19937 rng(3);
  auto ent = make_observer("entropy");
  auto mm = make_observer("minmax");
  for (int b = 0; b < 20; ++b) {
    auto v = long_tailed(rng, 5000, 0.5f);
    ent->observe(v.data(), std::vector<int64_t>{5000});
    mm->observe(v.data(), std::vector<int64_t>{5000});
  }
  ObservedRange re = ent->range(), rm = mm->range();
  CHECK(re.max[0] < rm.max[0]);
  CHECK(re.min[0] > rm.min[0]);
  CHECK(re.max[0] - re.min[0] < 0.95f * (rm.max[0] - rm.min[0]));
  CHECK(re.max[0] > 1.0f);  // still covers the bulk (b = 0.5)

  // Rare large spikes on top (0.02 %): the entropy range clips most of them.
  auto ent_c = make_observer("entropy");
  auto mm_c = make_observer("minmax");
  for (int b = 0; b < 10; ++b) {
    auto v = long_tailed(rng, 5000, 0.5f);
    v[size_t(b) * 7] = 20.0f + float(b) * 2.0f;
    ent_c->observe(v.data(), std::vector<int64_t>{5000});
    mm_c->observe(v.data(), std::vector<int64_t>{5000});
  }
  ObservedRange rc = ent_c->range(), rmc = mm_c->range();
  CHECK(rc.max[0] < 30.0f);  // below most spikes (20 … 38)
  CHECK(rc.max[0] - rc.min[0] < 0.8f * (rmc.max[0] - rmc.min[0]));
  CHECK(rc.max[0] > 1.0f);

  auto ent_u = make_observer("entropy");
  auto mm_u = make_observer("minmax");
  for (int b = 0; b < 10; ++b) {
    auto v = uniform(rng, 5000, -2.0f, 3.0f);
    ent_u->observe(v.data(), std::vector<int64_t>{5000});
    mm_u->observe(v.data(), std::vector<int64_t>{5000});
  }
  ObservedRange ru = ent_u->range(), rmu = mm_u->range();
  CHECK(ru.max[0] <= rmu.max[0]);
  CHECK(ru.min[0] >= rmu.min[0]);
  CHECK(ru.max[0] - ru.min[0] > 0.95f * (rmu.max[0] - rmu.min[0]));
}

TEST_CASE("entropy on post-ReLU data stays non-negative") {
  std::mt19937 rng(4);
  auto ent = make_observer("entropy");
  for (int b = 0; b < 5; ++b) {
    auto v = long_tailed(rng, 4000, 1.0f);
    for (float& x : v) x = std::max(x, 0.0f);
    ent->observe(v.data(), std::vector<int64_t>{4000});
  }
  ObservedRange r = ent->range();
  CHECK(r.min[0] == 0.0f);
  CHECK(r.max[0] > 1.0f);
  QuantParams qp = ent->compute(QuantScheme::activation());
  CHECK(qp.zero_points[0] == 0);
}

/// Mean squared error of quantizing `v` to u8 with the observer's range (quantize → dequantize).
double quant_mse(const Observer& obs, const std::vector<float>& v,
                 const QuantScheme& scheme = QuantScheme::activation()) {
  const QuantParams qp = obs.compute(scheme);
  const double s = qp.scales[0], zp = qp.zero_points[0];
  const QRange r = quant_range(scheme);
  double e = 0.0;
  for (float x : v) {
    const double q = std::clamp(std::nearbyint(double(x) / s) + zp, double(r.qmin), double(r.qmax));
    const double d = (q - zp) * s - double(x);
    e += d * d;
  }
  return e / double(v.size());
}

TEST_CASE("mse: the range with the least quantization error of all observers") {
  std::mt19937 rng(31);
  for (bool spikes : {false, true})
    for (bool relu : {false, true}) {
      CAPTURE(spikes);
      CAPTURE(relu);
      auto mse = make_observer("mse"), mm = make_observer("minmax"), pc = make_observer("percentile"),
           ent = make_observer("entropy");
      std::vector<float> all;
      for (int b = 0; b < 10; ++b) {
        auto v = long_tailed(rng, 20000, 0.5f);
        if (relu)
          for (float& x : v) x = std::max(x, 0.0f);
        if (spikes) v[size_t(b) * 7] = 12.0f + float(b);  // rare spikes: the squared error keeps them
        for (auto* o : {mse.get(), mm.get(), pc.get(), ent.get()})
          o->observe(v.data(), std::vector<int64_t>{20000});
        all.insert(all.end(), v.begin(), v.end());
      }
      const double e_mse = quant_mse(*mse, all), e_mm = quant_mse(*mm, all);
      if (!spikes) CHECK(e_mse < 0.97 * e_mm);  // long tails: clipping pays
      CHECK(e_mse <= e_mm * 1.001);
      CHECK(e_mse <= quant_mse(*pc, all) * 1.001);
      CHECK(e_mse <= quant_mse(*ent, all) * 1.001);
      ObservedRange r = mse->range(), rm = mm->range();
      if (relu) CHECK(r.min[0] == 0.0f);
      CHECK(r.max[0] > 2.0f);
      CHECK(r.max[0] <= rm.max[0]);
      // symmetric schemes get a symmetric search
      const QuantScheme sym{DType::i8, true, false, QuantConvention::pytorch};
      CHECK(quant_mse(*mse, all, sym) <= quant_mse(*mm, all, sym) * 1.001);
    }
  // uniform data: no clipping pays, the range stays (nearly) minmax's
  auto mse = make_observer("mse"), mm = make_observer("minmax");
  for (int b = 0; b < 10; ++b) {
    auto v = uniform(rng, 5000, -2.0f, 3.0f);
    mse->observe(v.data(), std::vector<int64_t>{5000});
    mm->observe(v.data(), std::vector<int64_t>{5000});
  }
  ObservedRange r = mse->range(), rm = mm->range();
  CHECK(r.max[0] - r.min[0] > 0.97f * (rm.max[0] - rm.min[0]));
  CHECK(r.max[0] <= rm.max[0]);
  CHECK(r.min[0] >= rm.min[0]);
}

TEST_CASE("state_bytes is the same after 10 and after 10000 batches") {
  for (const char* spec : {"minmax", "moving-average", "percentile", "entropy", "mse"}) {
    CAPTURE(spec);
    std::mt19937 rng(5);
    auto obs = make_observer(spec);
    size_t after10 = 0;
    for (int b = 0; b < 10000; ++b) {
      // growing ranges force the histogram to re-bin many times
      auto v = uniform(rng, 16, -0.001f * float(b + 1), 0.002f * float(b + 1));
      obs->observe(v.data(), std::vector<int64_t>{16});
      if (b == 9) after10 = obs->state_bytes();
    }
    CHECK(obs->state_bytes() == after10);
    CHECK(obs->batches() == 10000);
  }
  MinMaxObserver pc(opts(ObserverKind::minmax, 0));
  std::vector<float> v(64, 1.0f);
  size_t after10 = 0;
  for (int b = 0; b < 10000; ++b) {
    pc.observe(v.data(), std::vector<int64_t>{8, 8});
    if (b == 9) after10 = pc.state_bytes();
  }
  CHECK(pc.state_bytes() == after10);
}

TEST_CASE("merge equals observing everything in one observer") {
  for (const char* spec : {"minmax", "percentile", "entropy"}) {
    CAPTURE(spec);
    std::mt19937 rng(6);
    auto one = make_observer(spec);
    auto a = make_observer(spec), b = make_observer(spec);
    for (int i = 0; i < 30; ++i) {
      // different ranges in the two halves so the histograms' grids differ
      auto v = i % 2 ? uniform(rng, 500, -0.01f, 0.03f) : long_tailed(rng, 500, 2.0f);
      if (i == 0) std::fill(v.begin(), v.end(), 0.0f);  // an all-zero batch first
      one->observe(v.data(), std::vector<int64_t>{500});
      (i % 3 ? a : b)->observe(v.data(), std::vector<int64_t>{500});
    }
    a->merge(*b);
    CHECK(a->stats() == one->stats());
    CHECK(a->range().min == one->range().min);
    CHECK(a->range().max == one->range().max);
  }
  // Merging in the other direction, and into an empty observer.
  auto e = make_observer("entropy"), f = make_observer("entropy");
  std::vector<float> v{-5.0f, 0.5f, 7.0f};
  f->observe(v.data(), std::vector<int64_t>{3});
  e->merge(*f);
  CHECK(e->stats() == f->stats());
  // Kinds and options must agree.
  auto m = make_observer("minmax");
  CHECK_THROWS_AS(m->merge(*f), InvalidArgument);
  auto p1 = make_observer("percentile:99.9"), p2 = make_observer("percentile:99");
  CHECK_THROWS_AS(p1->merge(*p2), InvalidArgument);
}

TEST_CASE("moving-average merge is the batch-weighted mean") {
  auto a = make_observer("moving-average"), b = make_observer("moving-average");
  std::vector<float> x{-1.0f, 1.0f}, y{-4.0f, 4.0f};
  a->observe(x.data(), std::vector<int64_t>{2});
  b->observe(y.data(), std::vector<int64_t>{2});
  b->observe(y.data(), std::vector<int64_t>{2});
  a->merge(*b);
  CHECK(a->range().max[0] == 3.0f);
  CHECK(a->range().min[0] == -3.0f);
  CHECK(a->batches() == 3);
}

TEST_CASE("streaming histogram re-binning is exact") {
  // Values added at a fine grid then re-binned equal values added directly at the coarse grid.
  StreamingHistogram fine(16), direct(16);
  std::vector<float> small{0.1f, -0.3f, 0.45f, -0.01f, 0.0f}, big{5.0f};
  fine.add(small.data(), small.size());
  CHECK(fine.exponent() == -1);  // 2^-1 = 0.5 > 0.45
  fine.add(big.data(), 1);
  CHECK(fine.exponent() == 3);  // 8 > 5
  std::vector<float> all{0.1f, -0.3f, 0.45f, -0.01f, 0.0f, 5.0f};
  direct.add(all.data(), all.size());
  CHECK(fine.counts() == direct.counts());
  CHECK(fine.total() == 6);
  CHECK(fine.edge(0) == -8.0);
  CHECK(fine.edge(16) == 8.0);
  CHECK_THROWS_AS(StreamingHistogram(100), InvalidArgument);
}

TEST_CASE("stats round trip and factory") {
  std::mt19937 rng(7);
  for (const char* spec : {"minmax", "moving-average", "percentile:99.5", "entropy", "mse"}) {
    CAPTURE(spec);
    auto obs = make_observer(spec);
    for (int b = 0; b < 5; ++b) {
      auto v = long_tailed(rng, 300, 1.0f);
      obs->observe(v.data(), std::vector<int64_t>{300});
    }
    auto back = observer_from_stats(obs->stats());
    CHECK(back->kind() == obs->kind());
    CHECK(back->stats() == obs->stats());
    CHECK(back->compute(QuantScheme::activation()) == obs->compute(QuantScheme::activation()));
    auto copy = obs->clone();
    CHECK(copy->stats() == obs->stats());
  }
  auto pc = make_observer("minmax", int64_t{0});
  std::vector<float> w{1.0f, -2.0f, 3.0f, 4.0f};
  pc->observe(w.data(), std::vector<int64_t>{2, 2});
  CHECK(observer_from_stats(pc->stats())->range().min == std::vector<float>{-2.0f, 3.0f});

  CHECK(make_observer("percentile:99.9")->options().percentile == 99.9);
  CHECK(make_observer("moving-average")->kind() == ObserverKind::moving_average);
  CHECK(parse_observer_kind("entropy") == ObserverKind::entropy);
  CHECK(parse_observer_kind("mse") == ObserverKind::mse);
  CHECK(observer_kind_name(ObserverKind::percentile) == "percentile");
  CHECK_THROWS_AS(make_observer("kl"), InvalidArgument);
  CHECK_THROWS_AS(make_observer("percentile:abc"), InvalidArgument);
  CHECK_THROWS_AS(make_observer("percentile:101"), InvalidArgument);
  CHECK_THROWS_AS(make_observer("entropy:3"), InvalidArgument);
  CHECK_THROWS_AS(make_observer("entropy", int64_t{0}), InvalidArgument);

  ObserverStats bad = pc->stats();
  bad.max.pop_back();
  CHECK_THROWS_AS(observer_from_stats(bad), InvalidArgument);
  ObserverStats bad_hist = make_observer("entropy")->stats();
  bad_hist.histogram->counts.resize(10);
  CHECK_THROWS_AS(observer_from_stats(bad_hist), InvalidArgument);
}
