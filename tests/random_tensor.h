#pragma once
// Test data for the engine suites: a float tensor of normal(0, scale) values.
#include <random>
#include <vector>

#include "ir/tensor.h"

namespace mq::test {

inline Tensor random_tensor(std::vector<int64_t> dims, std::mt19937& rng, float scale = 1.f) {
  Tensor t(DType::f32, dims);
  std::normal_distribution<float> d(0.f, scale);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

}  // namespace mq::test
