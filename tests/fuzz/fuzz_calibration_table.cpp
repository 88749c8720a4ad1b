// Calibration tables (serialization/calibration_table.h): the JSON is parsed, then loaded as
// an mq::Calibration whose QuantParams are computed for every value under the activation
// and weight schemes (histograms, percentiles and entropy run on the file's counts).
#include "engine/quantize.h"
#include "fuzz_common.h"
#include "serialization/calibration_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) {
  mq::fuzz::run(
      [&] { mq::calibration_table_from_json(std::string(reinterpret_cast<const char*>(d), n), "fuzz.json"); });
  return mq::fuzz::run([&] {
    mq::Calibration cal = mq::Calibration::load(mq::fuzz::to_file(d, n, ".json"));
    for (const std::string& v : cal.values()) {
      mq::fuzz::run([&] { cal.params(v, mq::QuantScheme::activation()); });
      mq::fuzz::run([&] { cal.params(v, mq::QuantScheme::weight()); });
    }
  });
}
