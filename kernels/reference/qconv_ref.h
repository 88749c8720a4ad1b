// Scalar reference of qconv (direct convolution, the test oracle).
#pragma once

#include "kernels/qconv.h"

namespace mq::kernels::reference {

/// Direct NHWC convolution with unpacked weights [Cout][kh][kw][Cin/groups]; same epilogue
/// contract as mq::kernels::qconv.
void qconv(const QConvShape& s, const QGemmParams& epi, const std::uint8_t* x, const std::int8_t* w, void* y);

}  // namespace mq::kernels::reference
