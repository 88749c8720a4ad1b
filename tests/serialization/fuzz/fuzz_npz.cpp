#include "fuzz_common.h"
#include "serialization/npy.h"
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) {
  return mq::fuzz::run([&] { mq::serialization::read_npz(mq::fuzz::bytes(d, n), "fuzz.npz"); });
}
