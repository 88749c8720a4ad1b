#include "fuzz_common.h"
#include "serialization/serialization.h"
#include "serialization/torch_zip.h"
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) {
  mq::fuzz::run([&] { mq::serialization::read_torch_state_dict(mq::fuzz::bytes(d, n), "fuzz.pt"); });
  return mq::fuzz::run([&] { mq::serialization::load_torch_model(mq::fuzz::to_file(d, n, ".pt")); });
}
