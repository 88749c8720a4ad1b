#pragma once
/// Internal: Tensor → onnx.TensorProto (used by the ONNX exporter). Not public API.
#include <string>

#include "ir/tensor.h"

namespace onnx {
class TensorProto;
}

namespace mq::serialization::detail {
/// Fills `p` with `t`'s dtype, dims and raw little-endian bytes.
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p);
}  // namespace mq::serialization::detail
