// Calibration data files: the first input byte chooses the kind (calibration_model.h:
// .npy, .npz, single .pb, .safetensors, or a sample folder holding input_0.pb) and the
// observer; the rest is the file. FileSource reads it for a small fixed model, the batches
// are collected, then calibrate() runs the model over them.
#include <filesystem>
#include <fstream>

#include "calibration_model.h"
#include "engine/quantize.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) {
  if (n < 1) return 0;
  static const mq::Graph model = mq::fuzz::calibration_model();
  const unsigned kind = d[0] % std::size(mq::fuzz::kCalibrationKinds);
  const auto observer = mq::ObserverKind((d[0] / std::size(mq::fuzz::kCalibrationKinds)) % 4);
  const std::string dir = "/tmp/mq_fuzz_cal_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::string path = dir + "/sample" + mq::fuzz::kCalibrationKinds[kind];
  std::string arg = path;
  if (kind == 4) {
    std::filesystem::create_directories(dir + "/sample");
    arg = dir + "/sample";
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(d + 1), std::streamsize(n - 1));
  return mq::fuzz::run([&] {
    mq::FileSource source(model, {arg}, {.batch_size = 4});
    mq::collect_batches(model, source, 64);
    source.rewind();
    mq::CalibrationOptions options;
    options.observer.kind = observer;
    options.max_samples = 64;
    options.threads = 1;
    mq::calibrate(model, source, options);
  });
}
