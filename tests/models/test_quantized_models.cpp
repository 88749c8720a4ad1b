// int8 vs fp32 on real models: the bundled Fashion-MNIST examples (full 10,000-image test
// set) and ../shared/models. Thresholds (measured on this machine, then set with margin):
//   examples cnn / mlp / lstm static: top-1 within 1 point of fp32, output SQNR ≥ 30 dB
//   mnist8 static: top-1 within 1 point of fp32 on the 10,000 MNIST test images
//   gtzan_mlp static and dynamic: softmax SQNR ≥ 25 dB (measured 36.9 / 45.0 dB)
//   bidi_lstm static and dynamic: output SQNR ≥ 25 dB (measured 50.3 / 53.9 dB)
//   super_resolution static: output SQNR ≥ 22 dB (measured 25.4 dB)
#include <doctest/doctest.h>

#include <cmath>

#include "engine/api.h"
#include "engine/observers/qparams.h"
#include "engine/quantize.h"
#include "importers/onnx/import.h"
#include "mnist.h"
#include "serialization/npy.h"

using namespace mq;

namespace {
const std::string kExamples = std::string(MQ_SOURCE_DIR) + "/examples";
const std::string kModels = std::string(MQ_SHARED_DIR) + "/models";

Tensor fashion_batch(const Tensor& images, int64_t start, int64_t count, bool sequence) {
  Tensor t(DType::f32, sequence ? std::vector<int64_t>{count, 28, 28} : std::vector<int64_t>{count, 1, 28, 28});
  const uint8_t* src = images.data<uint8_t>() + start * 784;
  for (int64_t i = 0; i < count * 784; ++i) t.data<float>()[i] = float(src[i]) / 255.f;
  return t;
}

double fashion_top1(Session& s, const Tensor& images, const Tensor& labels, bool sequence) {
  int64_t n = images.dim(0), correct = 0;
  for (int64_t i = 0; i < n; i += 500) {
    int64_t c = std::min<int64_t>(500, n - i);
    Tensor y = s.run({{"input", fashion_batch(images, i, c, sequence)}}).at("logits");
    for (int64_t r = 0; r < c; ++r) {
      const float* l = y.data<float>() + r * 10;
      correct += int64_t(std::max_element(l, l + 10) - l) == int64_t(labels.data<uint8_t>()[i + r]);
    }
  }
  return 100.0 * double(correct) / double(n);
}

double output_sqnr(Session& a, Session& b, const TensorMap& in) {
  Tensor x = a.run(in).begin()->second, y = b.run(in).begin()->second;
  return sqnr_db(x, y);
}
}  // namespace

TEST_CASE("examples: static int8 top-1 within 1 point of fp32 on the full test set") {
  Tensor images = serialization::load_npy(kExamples + "/data/test_images_u8.npy");
  Tensor labels = serialization::load_npy(kExamples + "/data/test_labels.npy");
  for (std::string name : {"cnn", "mlp", "lstm"}) {
    CAPTURE(name);
    bool seq = name == "lstm";
    Graph g = load_model(kExamples + "/models/" + name + ".onnx");
    FileSource calib(g, {kExamples + (seq ? "/data/calib_sequences.npy" : "/data/calib_images.npy")});
    Calibration cal = calibrate(g, calib, {.max_samples = 448});
    calib.rewind();
    QuantizeResult q = static_quantize(g, cal, {}, &calib);
    // every layer of these models is quantized
    for (auto& l : q.info.layers) CHECK_MESSAGE(l.quantized, l.name, ": ", l.scheme);
    CHECK(q.info.compression() > 3.5);
    CHECK(q.info.model_sqnr_db >= 30.0);
    CHECK(q.info.round_trip_ok);
    Session f(g), i8(q.graph);
    double a32 = fashion_top1(f, images, labels, seq), a8 = fashion_top1(i8, images, labels, seq);
    MESSAGE(name, ": fp32 top-1 ", a32, " %, int8 top-1 ", a8, " %, output SQNR ", q.info.model_sqnr_db, " dB");
    CHECK(std::fabs(a32 - a8) <= 1.0);
  }
}

TEST_CASE("mnist8: static int8 top-1 within 1 point of fp32 on the 10,000 MNIST test images") {
  test_data::Mnist m = test_data::load_mnist(std::string(MQ_SHARED_DIR) + "/data/mnist");
  Graph g = load_model(kModels + "/mnist8/model.onnx");
  // calibrate on the first 200 test images, one per batch (the model's batch dim is 1)
  std::vector<TensorMap> calib;
  for (int64_t i = 0; i < 200; ++i) calib.push_back({{"Input3", test_data::mnist8_input(m, i)}});
  TensorListSource src(calib);
  Calibration cal = calibrate(g, src);
  QuantizeResult q = static_quantize(g, cal, {}, &src);
  CHECK(q.info.layers.size() >= 3);  // two Conv2d and the final MatMul as Linear
  for (auto& l : q.info.layers) CHECK_MESSAGE(l.quantized, l.name, ": ", l.scheme);
  Session f(g), i8(q.graph);
  double a32 = test_data::mnist8_top1(f, m), a8 = test_data::mnist8_top1(i8, m);
  MESSAGE("mnist8: fp32 top-1 ", 100 * a32, " %, int8 top-1 ", 100 * a8, " %, output SQNR ", q.info.model_sqnr_db,
          " dB");
  CHECK(std::fabs(a32 - a8) <= 0.01);
}

TEST_CASE("gtzan_mlp and bidi_lstm: static and dynamic int8 SQNR") {
  for (std::string name : {"gtzan_mlp", "bidi_lstm"}) {
    CAPTURE(name);
    auto io = serialization::load_npz(kModels + "/" + name + "/io.npz");
    Graph g = load_model(kModels + "/" + name + "/model.onnx");
    std::string in = g.inputs().at(0)->name();
    TensorMap sample{{in, io.at("input")}};
    TensorListSource src({sample});
    Calibration cal = calibrate(g, src);
    QuantizeOptions o;
    o.fail_below_sqnr_db = 0;
    QuantizeResult st = static_quantize(g, cal, o, &src);
    QuantizeResult dy = dynamic_quantize(g, o, &src);
    int quantized = 0;
    for (auto& l : st.info.layers) quantized += l.quantized;
    CHECK(quantized >= 2);
    Session f(g), s8(st.graph), d8(dy.graph);
    double s_db = output_sqnr(f, s8, sample), d_db = output_sqnr(f, d8, sample);
    MESSAGE(name, ": static SQNR ", s_db, " dB, dynamic SQNR ", d_db, " dB, ", st.info.size_before, " -> ",
            st.info.size_after, " bytes");
    CHECK(s_db >= 25.0);
    CHECK(d_db >= 25.0);
  }
}

TEST_CASE("super_resolution: static int8 SQNR") {
  Graph g = load_model(kModels + "/super_resolution/model.onnx");
  TensorMap sample{{g.inputs().at(0)->name(),
                    onnx::read_tensor_file(kModels + "/super_resolution/test_data_set_0/input_0.pb")}};
  TensorListSource src({sample});
  Calibration cal = calibrate(g, src);
  QuantizeResult q = static_quantize(g, cal, {}, &src);
  Session f(g), i8(q.graph);
  double db = output_sqnr(f, i8, sample);
  MESSAGE("super_resolution: static SQNR ", db, " dB");
  CHECK(db >= 22.0);
}
