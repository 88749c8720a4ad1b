#pragma once
/// ONNX TensorProto ↔ Tensor, including external data kept beside the model.
#include <onnx/onnx_pb.h>

#include <string>

#include "ir/tensor.h"

namespace mq::onnx {

/// Converts a TensorProto; external data paths are resolved inside `base_dir` and may not
/// escape it. Errors name the tensor and the field.
Tensor tensor_from_proto(const ::onnx::TensorProto& t, const std::string& base_dir);
/// Maps an ONNX TensorProto data type to a DType (undefined when unsupported).
DType dtype_from_onnx(int32_t onnx_type);
/// Maps a DType to the ONNX data type enum.
int32_t dtype_to_onnx(DType t);

}  // namespace mq::onnx
