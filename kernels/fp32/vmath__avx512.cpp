// The vectorized float functions for avx512bw (kernels/fp32/vmath_impl.h).
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

const VMathKernels& vmath_kernels_avx512() { return vmath_kernels_for<xsimd::avx512bw>(); }

}  // namespace mq::kernels
