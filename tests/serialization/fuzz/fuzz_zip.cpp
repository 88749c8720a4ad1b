#include "fuzz_common.h"
#include "serialization/zip.h"
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) {
  return mq::fuzz::run([&] {
    mq::serialization::ZipReader z(mq::fuzz::bytes(d, n), "fuzz.zip");
    for (auto& e : z.entries()) z.extract(e);
  });
}
