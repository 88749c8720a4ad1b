// Calibration data for any model: each input read along its own batch axis, every mismatch
// an error naming the file and array, per-input folders, and recurrent states fed back from
// run to run (StateFeed) in calibration and validation.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>
#include <unistd.h>

#include "engine/api.h"
#include "engine/observers/qparams.h"
#include "engine/quantize.h"
#include "error_text.h"
#include "random_tensor.h"
#include "serialization/npy.h"

using namespace mq;
namespace fs = std::filesystem;

using test::contains;
using test::message_of;

namespace {

using test::random_tensor;

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("mq_calib_data_" + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() { fs::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

/// A streaming cell: x[batch,4] and a state h[1,3] (no batch axis) →
///   y = fc(x) + fc_h(h)   (h broadcast over the batch),   h_next = h + 1.
Graph streaming(std::mt19937& rng) {
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim::sym("batch"), Dim(4)}), {}});
  Value* h = g.add_input("h", {DType::f32, Shape({Dim(1), Dim(3)}), {}});
  Node* fx = g.add_node(OpKind::Linear,
                        {.name = "fc", .inputs = {x, g.add_constant("w", random_tensor({3, 4}, rng, 0.5f))}});
  Node* fh = g.add_node(OpKind::Linear,
                        {.name = "fc_h", .inputs = {h, g.add_constant("wh", random_tensor({3, 3}, rng, 0.5f))}});
  Node* y =
      g.add_node(OpKind::Add, {.name = "sum", .inputs = {fx->output(0), fh->output(0)}, .output_names = {"y"}});
  Tensor one(DType::f32, {1});
  one.data<float>()[0] = 1.f;
  Node* hn = g.add_node(OpKind::Add,
                        {.name = "step", .inputs = {h, g.add_constant("one", one)}, .output_names = {"h_next"}});
  g.add_output(y->output(0));
  g.add_output(hn->output(0));
  return g;
}

/// A sequence model whose batch axis is 1: x[5, batch, 2] → y = x·w.
Graph seq_major(std::mt19937& rng) {
  Graph g;
  Value* x = g.add_input("x", {DType::f32, Shape({Dim(5), Dim::sym("batch_size"), Dim(2)}), {}});
  Node* fc = g.add_node(
      OpKind::Linear,
      {.name = "fc", .inputs = {x, g.add_constant("w", random_tensor({3, 2}, rng, 0.5f))}, .output_names = {"y"}});
  g.add_output(fc->output(0));
  return g;
}

Tensor iota(std::vector<int64_t> dims, float start = 0.f) {
  Tensor t(DType::f32, std::move(dims));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + float(i);
  return t;
}

}  // namespace

TEST_CASE("batch_axis: the symbolic dim named batch, else a symbolic dim 0, else none") {
  std::mt19937 rng(1);
  Graph s = streaming(rng), q = seq_major(rng);
  CHECK(batch_axis(*s.inputs()[0]) == 0u);
  CHECK_FALSE(batch_axis(*s.inputs()[1]).has_value());
  CHECK(batch_axis(*q.inputs()[0]) == 1u);
  TensorMap b{{"x", Tensor(DType::f32, {5, 7, 2})}};
  CHECK(batch_rows(q, b) == 7);
  TensorMap cut = slice_batch(q, b, 2, 5);
  CHECK(cut.at("x").dims() == std::vector<int64_t>{5, 3, 2});
}

TEST_CASE("FileSource batches samples along each input's own batch axis") {
  std::mt19937 rng(2);
  Graph g = seq_major(rng);
  Scratch tmp;
  // x[t, b, f] = 100 b + 10 t + f: 6 samples along axis 1
  Tensor x(DType::f32, {5, 6, 2});
  for (int t = 0; t < 5; ++t)
    for (int b = 0; b < 6; ++b)
      for (int f = 0; f < 2; ++f) x.data<float>()[(t * 6 + b) * 2 + f] = float(100 * b + 10 * t + f);
  serialization::save_npy(tmp / "x.npy", x);
  FileSource src(g, {tmp / "x.npy"}, {.batch_size = 4});
  CHECK(src.sample_count() == 6);
  auto b1 = src.next(), b2 = src.next();
  REQUIRE(b1);
  REQUIRE(b2);
  CHECK_FALSE(src.next());
  REQUIRE(b1->at("x").dims() == std::vector<int64_t>{5, 4, 2});
  REQUIRE(b2->at("x").dims() == std::vector<int64_t>{5, 2, 2});
  for (int t = 0; t < 5; ++t)
    for (int b = 0; b < 2; ++b)
      for (int f = 0; f < 2; ++f)
        CHECK(b2->at("x").data<float>()[(t * 2 + b) * 2 + f] == float(100 * (b + 4) + 10 * t + f));
  // calibration and a RangeSource count samples along that axis too
  src.rewind();
  RangeSource tail(g, src, 3, 6);
  int64_t rows = 0;
  while (auto b = tail.next()) rows += batch_rows(g, *b);
  CHECK(rows == 3);
  src.rewind();
  CHECK(calibrate(g, src).samples() == 6);
}

TEST_CASE("FileSource reads a state input whole per sample and refuses mismatched sample counts") {
  std::mt19937 rng(3);
  Graph g = streaming(rng);
  Scratch tmp;
  // 6 chunks and one state: the state is used for every sample
  serialization::save_npz(tmp / "seq.npz", {{"x", iota({6, 4})}, {"h", iota({1, 3})}});
  FileSource src(g, {tmp / "seq.npz"}, {.batch_size = 4});
  CHECK(src.sample_count() == 6);
  int64_t batches = 0;
  while (auto b = src.next()) {
    ++batches;
    CHECK(b->at("x").dims() == std::vector<int64_t>{1, 4});  // an input without a batch axis: one sample per run
    CHECK(b->at("h").dims() == std::vector<int64_t>{1, 3});
  }
  CHECK(batches == 6);

  // a stack of 3 states for 6 chunks: an error naming the file, the array and both counts
  serialization::save_npz(tmp / "bad.npz", {{"x", iota({6, 4})}, {"h", iota({3, 1, 3})}});
  const std::string e = message_of([&] { FileSource(g, {tmp / "bad.npz"}); });
  CHECK(contains(e, "bad.npz"));
  CHECK(contains(e, "'h'"));
  CHECK(contains(e, "[3,1,3]"));
  CHECK(contains(e, "3 samples"));
  CHECK(contains(e, "has 6"));

  // a state of the wrong shape
  serialization::save_npz(tmp / "shape.npz", {{"x", iota({6, 4})}, {"h", iota({1, 2})}});
  const std::string s = message_of([&] { FileSource(g, {tmp / "shape.npz"}); });
  CHECK(contains(s, "shape.npz"));
  CHECK(contains(s, "array 'h' for input 'h' has shape [1,2], the model expects [1,3]"));

  // an input missing from the file: an error, unless it is a state input filled by a StateFeed
  serialization::save_npz(tmp / "x_only.npz", {{"x", iota({2, 4})}});
  CHECK(contains(message_of([&] { FileSource(g, {tmp / "x_only.npz"}); }), "no array for model input 'h'"));
  FileSource opt(g, {tmp / "x_only.npz"}, {.optional_inputs = {"h"}});
  auto b = opt.next();
  REQUIRE(b);
  CHECK_FALSE(b->count("h"));
}

TEST_CASE("FileSource pairs one folder per input, file by file") {
  std::mt19937 rng(4);
  Graph g = streaming(rng);
  Scratch tmp;
  fs::create_directories(tmp.dir / "data" / "x");
  fs::create_directories(tmp.dir / "data" / "h");
  for (int i = 0; i < 3; ++i) {
    serialization::save_npy(tmp / ("data/x/" + std::to_string(i) + ".npy"), iota({1, 4}, float(10 * i)));
    serialization::save_npy(tmp / ("data/h/" + std::to_string(i) + ".npy"), iota({1, 3}, float(-i)));
  }
  FileSource src(g, {tmp / "data"});
  CHECK(src.sample_count() == 3);
  for (int i = 0; i < 3; ++i) {
    auto b = src.next();
    REQUIRE(b);
    CHECK(b->at("x").data<float>()[0] == float(10 * i));
    CHECK(b->at("h").data<float>()[0] == float(-i));
  }
  fs::remove(tmp.dir / "data" / "h" / "2.npy");
  const std::string e = message_of([&] { FileSource(g, {tmp / "data"}); });
  CHECK(contains(e, "folder 'h' holds 2 files but folder 'x' holds 3"));
}

TEST_CASE("calibration and validation feed a state output back as the next sample's state input") {
  std::mt19937 rng(5);
  Graph g = streaming(rng);
  std::vector<TensorMap> batches;
  for (int i = 0; i < 5; ++i) batches.push_back({{"x", random_tensor({1, 4}, rng)}});
  CalibrationOptions c;
  c.threads = 1;
  c.state = {{"h_next", "h"}};
  TensorListSource src(batches);
  Calibration cal = calibrate(g, src, c);
  // h starts at zeros and steps by 1 per sample: the observed range of h is [0, 4]
  QuantScheme scheme;
  QuantParams p = cal.params("h", scheme);
  CHECK(p.scales[0] == doctest::Approx(4.0 / 255).epsilon(1e-6));

  // without the link the state input is missing: a clear error
  src.rewind();
  CHECK(contains(message_of([&] { calibrate(g, src); }), "'h'"));

  // validation feeds each model its own states; the quantized model keeps a good SQNR
  QuantizeOptions q;
  q.threads = 1;
  q.state = c.state;
  src.rewind();
  QuantizeResult r = static_quantize(g, cal, q, &src);
  CHECK(r.info.validation_samples == 5);
  CHECK(r.info.passed());
  CHECK(r.info.model_sqnr_db > 25);

  // bad links
  CHECK(contains(message_of([&] { StateFeed(g, {{"nope", "h"}}); }), "the model has no output 'nope'"));
  CHECK(contains(message_of([&] { StateFeed(g, {{"h_next", "nope"}}); }), "the model has no input 'nope'"));
  CHECK(contains(message_of([&] { parse_state_link("h_next"); }), "expected OUTPUT=INPUT"));
  CHECK(parse_state_link("h_next=h").input == "h");
}
