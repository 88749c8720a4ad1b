// The auto observer: per value, the candidate range that gives the least error in the
// layers reading the value (engine/calibration/auto_range.h).
#include <doctest/doctest.h>

#include <filesystem>
#include <random>

#include "engine/calibration/auto_range.h"
#include "engine/quantize.h"
#include "random_tensor.h"

using namespace mq;

namespace {

/// x[N,8] → fc (8→4) → y, with fc's weight column 7 set to `w7`.
Graph one_linear(float w7) {
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(8)}), {}});
  std::vector<float> w(4 * 8);
  for (int o = 0; o < 4; ++o)
    for (int i = 0; i < 8; ++i) w[size_t(o * 8 + i)] = i == 7 ? w7 : 0.25f * float((o + i) % 3 + 1);
  Value* wv = g.add_constant("w", Tensor::from_vector<float>({4, 8}, w));
  Node* fc = g.add_node(OpKind::Linear, {.name = "fc", .inputs = {x, wv}, .output_names = {"y"}});
  g.add_output(fc->output(0));
  return g;
}

/// Four batches of 1000 rows: channels 0..6 uniform in [−1, 1], channel 7 mostly in [−1, 1]
/// but 50 in one row of each batch (an outlier of 1 value in 8000).
std::vector<TensorMap> outlier_batches() {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<TensorMap> out;
  for (int b = 0; b < 4; ++b) {
    std::vector<float> x(1000 * 8);
    for (float& v : x) v = u(rng);
    x[size_t((100 + 200 * b) * 8 + 7)] = 50.f;
    out.push_back({{"x", Tensor::from_vector<float>({1000, 8}, x)}});
  }
  return out;
}

Calibration calibrate_with(const Graph& g, ObserverKind kind) {
  TensorListSource src(outlier_batches());
  CalibrationOptions o;
  o.observer.kind = kind;
  o.threads = 1;
  return calibrate(g, src, o);
}

}  // namespace

TEST_CASE("auto observer: the range is chosen by the error of the layer that reads the value") {
  // The same input data in both models, so an observer that looks only at the values (minmax,
  // percentile, mse, entropy) gives both the same range; auto must not.
  const QuantScheme s = QuantScheme::activation();
  SUBCASE("the layer ignores the outlier's channel: clipping it costs nothing, so auto clips") {
    Graph g = one_linear(0.0f);
    Calibration minmax = calibrate_with(g, ObserverKind::minmax);
    Calibration automatic = calibrate_with(g, ObserverKind::auto_select);
    CHECK(automatic.observer_of("x") != "minmax");
    CHECK(automatic.params("x", s).scales[0] < 0.25f * minmax.params("x", s).scales[0]);
  }
  SUBCASE("the layer reads mostly the outlier's channel: clipping it ruins the output, so auto keeps it") {
    Graph g = one_linear(4.0f);
    Calibration minmax = calibrate_with(g, ObserverKind::minmax);
    Calibration automatic = calibrate_with(g, ObserverKind::auto_select);
    CHECK(automatic.params("x", s).scales[0] >= 0.9f * minmax.params("x", s).scales[0]);
  }
  SUBCASE("a value no layer reads (the output y) keeps MinMax") {
    Graph g = one_linear(0.0f);
    Calibration automatic = calibrate_with(g, ObserverKind::auto_select);
    CHECK(automatic.observer_of("y") == "minmax");
  }
}

TEST_CASE("auto observer: the choice survives a calibration table round trip") {
  Graph g = one_linear(0.0f);
  Calibration automatic = calibrate_with(g, ObserverKind::auto_select);
  const auto path = std::filesystem::temp_directory_path() / "mq_auto_observer_table.json";
  automatic.save(path.string());
  Calibration back = Calibration::load(path.string());
  std::filesystem::remove(path);
  const QuantScheme s = QuantScheme::activation();
  for (const std::string& v : automatic.values()) {
    CAPTURE(v);
    CHECK(back.observer_of(v) == automatic.observer_of(v));
    CHECK(back.params(v, s).scales == automatic.params(v, s).scales);
  }
}

TEST_CASE("auto observer: the kept subsample is bounded whatever the number of batches") {
  // a conv reads x: windows are kept, 200 batches of a large tensor stay within the budget;
  // no layer reads y: nothing is kept
  std::mt19937 rng(3);
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("N"), Dim(16), Dim(64), Dim(64)}), {}});
  Node* c = g.add_node(OpKind::Conv2d,
                       {.name = "conv",
                        .inputs = {x, g.add_constant("cw", test::random_tensor({8, 16, 3, 3}, rng, 0.3f))},
                        .output_names = {"y"}});
  g.add_output(c->output(0));
  const int64_t budget = 4096;
  AutoRangeSelector sel(g, {"x", "y"}, LayerSelection{}, budget);
  Tensor t = test::random_tensor({2, 16, 64, 64}, rng, 1.0f);
  for (int i = 0; i < 200; ++i) {
    sel.record("x", t);
    sel.record("y", t);
  }
  CHECK(sel.kept() > 0);
  CHECK(sel.kept() <= budget);
}

TEST_CASE("auto observer: parsed from its name; the candidates are minmax first, then the histogram ranges") {
  CHECK(parse_observer_kind("auto") == ObserverKind::auto_select);
  auto obs = make_observer("auto");
  CHECK(obs->kind() == ObserverKind::auto_select);
  std::vector<float> v{-1.f, 0.5f, 3.f};
  obs->observe(v.data(), std::vector<int64_t>{3});
  // on its own (before calibrate() chooses) its range is MinMax's
  CHECK(obs->range().min[0] == -1.f);
  CHECK(obs->range().max[0] == 3.f);
  auto cands = auto_candidates(obs->stats());
  REQUIRE(cands.size() == 6);
  CHECK(cands[0]->kind() == ObserverKind::minmax);
  for (size_t i = 1; i < cands.size(); ++i) CHECK(cands[i]->kind() != ObserverKind::auto_select);
}
