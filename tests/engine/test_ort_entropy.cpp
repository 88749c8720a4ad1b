// The entropy observer against ONNX Runtime's calibrator (HistogramCollector, what
// EntropyCalibrater runs per tensor) on the same data, through tests/interop/check_ort_entropy.py.
//
// The two searches are not the same algorithm (engine/observers/histogram.h): ORT slides a
// signed window [−t, t] over a histogram of x and splits it into num_quantized_bins levels;
// monoquant searches t on the histogram of |x| with quantized_bins levels for |x| ≤ t. So they
// are compared where they are supposed to agree:
//   - data symmetric about 0, ORT configured with twice monoquant's levels (its window spends
//     half of them on each side): both minimise the same KL divergence of the same
//     distribution on grids of equal resolution; the thresholds may differ only by
//     histogram resolution (ORT's bins span [−max|x|, max|x|], monoquant's a power of two) and
//     the flatness of the KL minimum, so they must agree within 10 % (measured: 9.81 vs 9.27
//     on 200,000 Laplace values), and both must clip (below 0.85·max|x|, max|x| = 12.3 here;
//     else the check would compare max with max);
//   - ORT's defaults (128 bins, 128 quantized bins): its search has a single candidate and
//     returns the data's [min, max] — the finding the observer's documentation relies on.
// Skipped with a message without a python whose onnxruntime.quantization imports
// ($MQ_ORT_PYTHON, else <build>/compare-venv made by scripts/compare.sh, else the interop venv).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "engine/observers/histogram.h"
#include "serialization/interop_util.h"

using namespace mq;

namespace {

std::string ort_python() {
  if (const char* p = std::getenv("MQ_ORT_PYTHON"); p && *p) return p;
  const std::string compare = std::string(MQ_BINARY_DIR) + "/compare-venv/bin/python";
  if (std::filesystem::exists(compare)) return compare;
  return test::interop_python();
}

/// Laplace-distributed values (long tails: the KL threshold falls well inside max|x|).
Tensor laplace(int64_t n, double scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::exponential_distribution<double> e(1.0 / scale);
  std::bernoulli_distribution sign(0.5);
  Tensor t(DType::f32, {n});
  for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = float(sign(rng) ? e(rng) : -e(rng));
  return t;
}

void write_case(const test::TempDir& dir, const std::string& name, const Tensor& x, int bins, int qbins) {
  serialization::save_npy(dir / ("case_" + name + ".npy"), x);
  std::ofstream(dir / ("case_" + name + ".txt")) << bins << " " << qbins << "\n";
}

}  // namespace

TEST_CASE("entropy observer agrees with ONNX Runtime's entropy calibrator where the methods coincide") {
  const std::string python = ort_python();
  if (python.empty()) {
    MESSAGE("skipped: no python with onnxruntime (run scripts/compare.sh or set MQ_ORT_PYTHON)");
    return;
  }
  test::TempDir dir;
  const Tensor sym = laplace(200000, 1.0, 11);
  write_case(dir, "symmetric", sym, 2048, 256);
  write_case(dir, "defaults", sym, 128, 128);
  std::string out;
  const int rc = test::run_interop(python, "check_ort_entropy.py", dir.path.string(), out);
  INFO("check_ort_entropy.py output:\n", out);
  if (rc == 77) {
    MESSAGE("skipped: ", out);
    return;
  }
  REQUIRE(rc == 0);
  const Tensor ort_sym = serialization::load_npy(dir / "ort_symmetric.npy");
  const Tensor ort_def = serialization::load_npy(dir / "ort_defaults.npy");

  ObserverOptions o;
  o.kind = ObserverKind::entropy;
  o.bins = 2048;
  o.quantized_bins = 128;
  HistogramObserver mq_obs(o);
  mq_obs.observe(sym);
  const ObservedRange r = mq_obs.range();
  const auto [mn, mx] = mq_obs.min_max();
  const double max_abs = std::max(-double(mn), double(mx));
  const double t_mq = std::max(-double(r.min[0]), double(r.max[0]));
  const double t_ort = std::max(-ort_sym.data<double>()[0], ort_sym.data<double>()[1]);
  CAPTURE(t_mq);
  CAPTURE(t_ort);
  CAPTURE(max_abs);
  CHECK(t_ort < 0.85 * max_abs);
  CHECK(t_mq < 0.85 * max_abs);
  CHECK(std::fabs(t_mq - t_ort) <= 0.10 * t_ort);

  // ORT's defaults: one candidate, the data's own range
  CHECK(ort_def.data<double>()[0] == doctest::Approx(mn).epsilon(1e-6));
  CHECK(ort_def.data<double>()[1] == doctest::Approx(mx).epsilon(1e-6));
}
