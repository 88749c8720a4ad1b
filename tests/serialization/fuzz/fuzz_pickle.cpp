#include "fuzz_common.h"
#include "serialization/pickle.h"
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) {
  static const std::set<std::string> allowed{"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                             "torch.FloatStorage"};
  return mq::fuzz::run([&] { mq::serialization::read_pickle(mq::fuzz::bytes(d, n), "fuzz.pkl", allowed); });
}
