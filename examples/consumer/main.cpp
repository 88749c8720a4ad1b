// Uses monoquant as an installed library (C++17, one header): loads the bundled CNN,
// calibrates and quantizes it on the bundled Fashion-MNIST images, runs the float and the
// int8 model on a batch held in this program's own memory and checks they agree.
//
//   consumer <examples-dir> [output-dir]
#include <monoquant/monoquant.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

/// Index of the largest of each row of 10 logits.
std::vector<int> top1(const mq::Tensor& logits) {
  std::vector<int> best;
  const float* p = logits.data<float>();
  for (int64_t r = 0; r < logits.dims()[0]; ++r) {
    int b = 0;
    for (int k = 1; k < 10; ++k)
      if (p[r * 10 + k] > p[r * 10 + b]) b = k;
    best.push_back(b);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: consumer <examples-dir> [output-dir]\n");
    return 2;
  }
  const std::string ex = argv[1];
  const std::string out_dir = argc > 2 ? argv[2] : ".";
  try {
    std::printf("monoquant %s (headers %s)\n", mq::version(), MONOQUANT_VERSION_STRING);
    if (std::strcmp(mq::version(), MONOQUANT_VERSION_STRING) != 0) return 1;

    mq::Model model = mq::Model::load(ex + "/models/cnn.onnx");
    const mq::TensorInfo in = model.inputs().at(0);
    std::printf("input %s, %zu dims; %lld nodes\n", in.name.c_str(), in.dims.size(),
                (long long)model.node_count());

    // 64 samples to calibrate, 32 others to validate on
    mq::DataSource data = mq::DataSource::files(model, {ex + "/data/calib_images.npy"}, 32);
    mq::CalibrationOptions copt;
    copt.max_samples = 64;
    mq::Calibration cal = mq::calibrate(model, data, copt);
    std::vector<mq::TensorMap> held;
    data.rewind();
    for (int i = 0; i < 3; ++i) held.push_back(*data.next());
    mq::DataSource validation = mq::DataSource::tensors({held[2]});

    mq::QuantizeOptions qopt;
    qopt.validation_samples = 32;
    mq::QuantizeResult q = mq::static_quantize(model, cal, qopt, &validation);
    std::printf("%s", q.report.table().c_str());
    int quantized = 0;
    for (const mq::LayerReport& l : q.report.layers) quantized += l.quantized;
    if (quantized == 0 || !q.report.passed()) {
      std::fprintf(stderr, "consumer: nothing quantized or validation failed\n");
      return 1;
    }
    q.model.save(out_dir + "/cnn.int8.mqm");
    mq::Model reloaded = mq::Model::load(out_dir + "/cnn.int8.mqm");

    // the held-back batch copied into this program's memory, run in place (no copy in)
    const mq::Tensor& batch = held[2].at(in.name);
    std::vector<float> images(batch.data<float>(), batch.data<float>() + batch.numel());
    mq::TensorMap inputs{{in.name, mq::Tensor::view<float>(batch.dims(), images.data())}};
    mq::Session fp32(model, {1});
    mq::Session int8(reloaded, {1});
    std::vector<int> a = top1(fp32.run(inputs).begin()->second);
    std::vector<int> b = top1(int8.run(inputs).begin()->second);
    size_t agree = 0;
    for (size_t i = 0; i < a.size(); ++i) agree += a[i] == b[i];
    std::printf("int8 and fp32 agree on %zu of %zu images; output SQNR %.1f dB\n", agree, a.size(),
                q.report.model_sqnr_db);
    return agree * 10 >= a.size() * 9 ? 0 : 1;
  } catch (const mq::Error& e) {
    std::fprintf(stderr, "consumer: %s error: %s\n", mq::error_kind_name(e.kind()), e.what());
    return 1;
  }
}
