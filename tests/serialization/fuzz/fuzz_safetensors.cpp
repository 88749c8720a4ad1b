#include "fuzz_common.h"
#include "serialization/safetensors.h"
#include "serialization/serialization.h"
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) {
  mq::fuzz::run([&] { mq::serialization::read_safetensors(mq::fuzz::bytes(d, n), "fuzz.safetensors"); });
  return mq::fuzz::run(
      [&] { mq::serialization::load_safetensors_model(mq::fuzz::to_file(d, n, ".safetensors")); });
}
