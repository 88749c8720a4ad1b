#pragma once
/// The per-ISA function table behind kernels/fp32/vmath.h (internal).
#include <cstdint>

namespace mq::kernels {

struct VMathKernels {
  void (*exp)(const float*, float*, std::int64_t);
  void (*sigmoid)(const float*, float*, std::int64_t);
  void (*tanh)(const float*, float*, std::int64_t);
  void (*erf)(const float*, float*, std::int64_t);
  void (*gelu)(const float*, float*, std::int64_t);
  void (*arith)(int, const float*, std::int64_t, const float*, std::int64_t, float*, std::int64_t);
};

const VMathKernels& vmath_kernels_sse2();
const VMathKernels& vmath_kernels_avx2();
const VMathKernels& vmath_kernels_avx512();

}  // namespace mq::kernels
