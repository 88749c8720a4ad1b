#include "fuzz_common.h"
#include "serialization/serialization.h"
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) {
  return mq::fuzz::run([&] { mq::serialization::load_mqm(mq::fuzz::to_file(d, n, ".mqm")); });
}
