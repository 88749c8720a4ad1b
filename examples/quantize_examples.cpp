// The quick start's main job: quantizes the bundled Fashion-MNIST models (and, when present,
// the shared real models) end to end with monoquant's C++ API, prints each QuantizationInfo
// and the fp32 vs int8 top-1 on the 10,000 test images, and saves every format.
//
//   build/examples/quantize_examples [examples-dir] [output-dir]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "engine/api.h"
#include "engine/quantize.h"
#include "serialization/npy.h"

namespace fs = std::filesystem;

namespace {

/// Test images u8 [N,28,28] → f32 batches shaped like the model input, divided by 255.
mq::Tensor batch_of(const mq::Tensor& images, int64_t start, int64_t count, bool sequence) {
  std::vector<int64_t> dims =
      sequence ? std::vector<int64_t>{count, 28, 28} : std::vector<int64_t>{count, 1, 28, 28};
  mq::Tensor t(mq::DType::f32, dims);
  const uint8_t* src = images.data<uint8_t>() + start * 784;
  float* dst = t.data<float>();
  for (int64_t i = 0; i < count * 784; ++i) dst[i] = float(src[i]) / 255.f;
  return t;
}

double top1(mq::Session& s, const mq::Tensor& images, const mq::Tensor& labels, bool sequence) {
  int64_t n = images.dim(0), correct = 0;
  const uint8_t* lab = labels.data<uint8_t>();
  const int64_t bs = 250;
  for (int64_t i = 0; i < n; i += bs) {
    int64_t c = std::min(bs, n - i);
    auto out = s.run({{"input", batch_of(images, i, c, sequence)}});
    const float* logits = out.begin()->second.data<float>();
    for (int64_t r = 0; r < c; ++r) {
      int64_t best = 0;
      for (int64_t k = 1; k < 10; ++k)
        if (logits[r * 10 + k] > logits[r * 10 + best]) best = k;
      correct += best == lab[i + r];
    }
  }
  return 100.0 * double(correct) / double(n);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    fs::path ex = argc > 1 ? fs::path(argv[1]) : fs::path("examples");
    fs::path out = argc > 2 ? fs::path(argv[2]) : fs::path("build/quantized");
    fs::create_directories(out);
    mq::Tensor images = mq::serialization::load_npy((ex / "data/test_images_u8.npy").string());
    mq::Tensor labels = mq::serialization::load_npy((ex / "data/test_labels.npy").string());
    std::printf("%-6s %-8s %9s %9s %8s %10s %10s %8s\n", "model", "mode", "fp32 top1", "int8 top1", "SQNR dB",
                "fp32 size", "int8 size", "time s");
    std::vector<std::string> summary;
    for (std::string name : {"cnn", "mlp", "lstm"}) {
      bool seq = name == "lstm";
      auto t0 = std::chrono::steady_clock::now();
      mq::Graph g = mq::load_model((ex / "models" / (name + ".onnx")).string());
      mq::FileSource calib(g, {(ex / (seq ? "data/calib_sequences.npy" : "data/calib_images.npy")).string()});
      // calibrate on the first 448 samples, validate on the 64 held back
      mq::Calibration cal = mq::calibrate(g, calib, {.max_samples = 448});
      std::vector<mq::TensorMap> held;
      {
        calib.rewind();
        auto all = mq::collect_batches(g, calib);
        int64_t seen = 0;
        for (auto& b : all) {
          if (seen >= 448) held.push_back(b);
          seen += mq::batch_rows(g, b);
        }
      }
      mq::TensorListSource validation(held);
      mq::QuantizeResult q = mq::static_quantize(g, cal, {}, &validation);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::cout << "\n== " << name << " (static int8) ==\n" << q.info.table();
      mq::Session fs32(g), s8(q.graph);
      double a32 = top1(fs32, images, labels, seq), a8 = top1(s8, images, labels, seq);
      char line[256];
      std::snprintf(line, sizeof line, "%-6s %-8s %8.2f%% %8.2f%% %8.1f %10lld %10lld %8.1f", name.c_str(),
                    "static", a32, a8, q.info.model_sqnr_db, (long long)q.info.size_before,
                    (long long)q.info.size_after, secs);
      summary.push_back(line);
      for (const char* ext : {".mqm", ".safetensors", ".pt", ".onnx"}) {
        fs::path file = out / (name + ".int8" + ext);
        try {
          mq::save_model(q.graph, file.string());
          std::cout << "saved " << file.string() << " (" << fs::file_size(file) << " bytes)\n";
        } catch (const mq::Error& e) {
          std::cout << "not saved as " << ext << ": " << e.what() << "\n";
        }
      }
      if (seq || name == "mlp") {
        mq::QuantizeResult d = mq::dynamic_quantize(g, {}, &validation);
        mq::Session sd(d.graph);
        double ad = top1(sd, images, labels, seq);
        std::snprintf(line, sizeof line, "%-6s %-8s %8.2f%% %8.2f%% %8.1f %10lld %10lld %8s", name.c_str(),
                      "dynamic", a32, ad, d.info.model_sqnr_db, (long long)d.info.size_before,
                      (long long)d.info.size_after, "");
        summary.push_back(line);
      }
    }
    std::cout << "\n== fp32 vs int8 on the 10,000 Fashion-MNIST test images ==\n";
    std::printf("%-6s %-8s %9s %9s %8s %10s %10s %8s\n", "model", "mode", "fp32 top1", "int8 top1", "SQNR dB",
                "fp32 bytes", "int8 bytes", "time s");
    for (auto& s : summary) std::cout << s << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "quantize_examples: error: " << e.what() << "\n";
    return 3;
  }
}
