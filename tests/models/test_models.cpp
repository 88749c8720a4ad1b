// Real models from ../shared/models against their published reference outputs, and mnist8's
// top-1 accuracy on the 10,000 MNIST test images.
//
// Tolerances (|got - want| <= atol + rtol·|want|):
//   mnist8 logits, super_resolution pixels: atol 1e-3, rtol 1e-3
//   bidi_lstm outputs, gtzan_mlp softmax:   atol 1e-4, rtol 1e-3
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/api.h"
#include "engine/session.h"
#include "engine/sqnr.h"
#include "importers/onnx/import.h"
#include "serialization/npy.h"
#include "mnist.h"

using namespace mq;
namespace fs = std::filesystem;

namespace {
const std::string kModels = std::string(MQ_SHARED_DIR) + "/models";
const std::string kData = std::string(MQ_SHARED_DIR) + "/data";

void check_close(const Tensor& got, const Tensor& want, float atol, float rtol) {
  REQUIRE(got.dims() == want.dims());
  const float* g = got.data<float>();
  const float* w = want.data<float>();
  float worst = 0;
  int64_t bad = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const float err = std::fabs(g[i] - w[i]);
    worst = std::max(worst, err);
    if (!(err <= atol + rtol * std::fabs(w[i]))) ++bad;
  }
  MESSAGE("max abs error " << worst << " over " << want.numel() << " values");
  CHECK(bad == 0);
}

// Runs test_data_set_*/input_0.pb through the model and compares with output_0.pb.
void check_data_sets(const std::string& model, float atol, float rtol) {
  Graph g = onnx::import_model(kModels + "/" + model + "/model.onnx");
  Session s(g);
  int sets = 0;
  for (int k = 0;; ++k) {
    const std::string dir = kModels + "/" + model + "/test_data_set_" + std::to_string(k);
    if (!fs::exists(dir)) break;
    CAPTURE(dir);
    Tensor in = onnx::read_tensor_file(dir + "/input_0.pb");
    Tensor want = onnx::read_tensor_file(dir + "/output_0.pb");
    TensorMap out = s.run({{s.input_names().at(0), in}});
    check_close(out.at(s.output_names().at(0)), want, atol, rtol);
    ++sets;
  }
  CHECK(sets > 0);
}

}  // namespace

TEST_CASE("mnist8 matches its reference logits") { check_data_sets("mnist8", 1e-3f, 1e-3f); }

TEST_CASE("super_resolution matches its reference output") { check_data_sets("super_resolution", 1e-3f, 1e-3f); }

TEST_CASE("mnist8 top-1 accuracy on the 10,000 MNIST test images is at least 98 %") {
  test_data::Mnist m = test_data::load_mnist(kData + "/mnist");
  Graph g = onnx::import_model(kModels + "/mnist8/model.onnx");
  Session s(g);
  const double acc = test_data::mnist8_top1(s, m);
  MESSAGE("mnist8 top-1 on " << m.images.dim(0) << " MNIST test images: " << 100.0 * acc << " %");
  CHECK(acc >= 0.98);
}

TEST_CASE("bidi_lstm matches ONNX Runtime's output") {
  auto io = serialization::load_npz(kModels + "/bidi_lstm/io.npz");
  Graph g = onnx::import_model(kModels + "/bidi_lstm/model.onnx");
  Session s(g);
  TensorMap out = s.run({{s.input_names().at(0), io.at("input")}});
  check_close(out.at(s.output_names().at(0)), io.at("Add_26"), 1e-4f, 1e-3f);
}

TEST_CASE("gtzan_mlp matches its expected softmax") {
  auto io = serialization::load_npz(kModels + "/gtzan_mlp/io.npz");
  Graph g = onnx::import_model(kModels + "/gtzan_mlp/model.onnx");
  Session s(g);
  TensorMap out = s.run({{s.input_names().at(0), io.at("input")}});
  check_close(out.at(s.output_names().at(0)), io.at("expected"), 1e-4f, 1e-3f);
}

namespace {
/// Rows [from, from + n) of t's first dim.
Tensor rows(const Tensor& t, int64_t from, int64_t n) {
  std::vector<int64_t> d = t.dims();
  const int64_t row = t.numel() / d[0];
  d[0] = n;
  Tensor r(t.dtype(), d);
  std::memcpy(r.raw(), static_cast<const std::byte*>(t.raw()) + size_t(from * row) * dtype_size(t.dtype()),
              size_t(n * row) * dtype_size(t.dtype()));
  return r;
}

/// The model of `name` on `count` rows of io.npz's `input`, `batch` rows per run, against
/// `expected` (ONNX Runtime's output, one image at a time), with the compiled plan (NHWC,
/// fused epilogues) and without it.
void check_io(const std::string& name, const std::string& input, const std::string& expected, int64_t count,
              int64_t batch, bool expected_per_row_dim) {
  auto io = serialization::load_npz(kModels + "/" + name + "/io.npz");
  Graph g = load_model(kModels + "/" + name + "/model.onnx");
  for (bool optimize : {true, false}) {
    CAPTURE(optimize);
    Session s(g, {.threads = 2, .optimize = optimize});
    for (int64_t i = 0; i < count; i += batch) {
      TensorMap out = s.run({{input, rows(io.at(input), i, batch)}});
      Tensor want = rows(io.at(expected), i, batch);
      Tensor got = out.at(s.output_names().at(0));
      if (expected_per_row_dim) {  // the reference stacks each run's output on a new first dim
        std::vector<int64_t> d = want.dims();
        d.erase(d.begin());
        want = want.reshaped(d);
      }
      check_close(got, want, 1e-3f, 1e-3f);
    }
  }
}
}  // namespace

TEST_CASE("captcha_det (83 Conv, SiLU, Concat, Resize, MaxPool) matches ONNX Runtime's boxes") {
  check_io("captcha_det", "images", "expected_output", 3, 1, false);
}

TEST_CASE("captcha_ocr (Conv with SiLU and residual Adds, LSTM) matches ONNX Runtime's scores") {
  check_io("captcha_ocr", "input1", "expected_387", 3, 1, true);
}

TEST_CASE("magika matches ONNX Runtime's probabilities") {
  check_io("magika", "bytes", "expected_target_label", 16, 8, false);
}

TEST_CASE(
    "captcha_ocr_ort_int8 (ONNX Runtime's dynamic int8: ConvInteger, MatMulInteger, com.microsoft "
    "DynamicQuantizeLSTM) matches ONNX Runtime") {
  auto io = serialization::load_npz(kModels + "/captcha_ocr_ort_int8/io.npz");
  Graph g = load_model(kModels + "/captcha_ocr_ort_int8/model.onnx");
  // its s8 symmetric DynamicQuantizeLSTM runs on the int8 LSTM, not on dequantized weights
  int int8_lstms = 0, float_lstms = 0;
  for (const Node* n : g.nodes()) {
    int8_lstms += n->op() == OpKind::DynamicQLSTM;
    float_lstms += n->op() == OpKind::LSTM;
  }
  CHECK(int8_lstms == 1);
  CHECK(float_lstms == 0);
  Session s(g, {.threads = 2});
  for (int64_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    Tensor got = s.run({{"input1", rows(io.at("input1"), i, 1)}}).at(s.output_names().at(0));
    Tensor want = rows(io.at("expected_387"), i, 1);
    want = want.reshaped(got.dims());
    // the same int8 arithmetic; float rounding around it differs from ONNX Runtime's
    CHECK(sqnr_db(want, got) >= 40.0);
  }
}
