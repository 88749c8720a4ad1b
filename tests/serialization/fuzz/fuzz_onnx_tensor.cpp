#include "fuzz_common.h"
#include "serialization/onnx_tensor.h"
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) {
  return mq::fuzz::run([&] { mq::serialization::read_onnx_tensor(mq::fuzz::bytes(d, n), "fuzz.pb"); });
}
