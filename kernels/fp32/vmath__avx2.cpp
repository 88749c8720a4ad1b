// The vectorized float functions for avx2 (kernels/fp32/vmath_impl.h).
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "kernels/fp32/vmath_kernels.h"

namespace mq::kernels {
namespace {
#include "kernels/fp32/vmath_impl.h"
}  // namespace

const VMathKernels& vmath_kernels_avx2() { return vmath_kernels_for<xsimd::avx2>(); }

}  // namespace mq::kernels
