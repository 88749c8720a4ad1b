#pragma once
/// ONNX Slice's index rule, shared by shape inference (ir/ops/shape_ops.cpp) and the Slice
/// executor (engine/ops/shape.cpp).
#include <cstdint>
#include <utility>

namespace mq {

/// Start and length of a slice [start, end) with `step` (≠ 0) over a dim of size `dim`,
/// negative indices counted from the end and clamped as ONNX says.
std::pair<int64_t, int64_t> slice_range(int64_t start, int64_t end, int64_t step, int64_t dim);

}  // namespace mq
