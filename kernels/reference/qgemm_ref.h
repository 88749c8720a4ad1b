// Scalar reference of qgemm: the test oracle, computed from unpacked weights.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/qgemm.h"

namespace mq::kernels::reference {

/// Same contract as qgemm (p.packed_b is ignored) with row-major weights w[N×K] (stride
/// ldw); computes rows [m0, m1) × columns [n0, n1).
void qgemm(const QGemmParams& p, const std::int8_t* w, std::size_t ldw, std::size_t m0, std::size_t m1,
           std::size_t n0, std::size_t n1);

}  // namespace mq::kernels::reference
