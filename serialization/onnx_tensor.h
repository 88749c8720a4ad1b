#pragma once
/// ONNX TensorProto files (.pb, as in the ONNX test data sets and calibration folders) →
/// mq::Tensor. Raw and typed data fields are supported, and external data whose location
/// stays inside the .pb file's folder.
#include <span>
#include <string>

#include "ir/tensor.h"

namespace mq::serialization {

/// Reads a serialized onnx.TensorProto file.
Tensor load_onnx_tensor(const std::string& path);
/// Parses TensorProto bytes; `file` names the source, `base_dir` resolves external data
/// (empty: external data is rejected).
Tensor read_onnx_tensor(std::span<const std::byte> bytes, const std::string& file,
                        const std::string& base_dir = "");

/// The ONNX TensorProto data type code of a dtype (1 = FLOAT, ...); UnsupportedError if none.
int onnx_dtype_code(DType t);
/// The dtype of an ONNX data type code; UnsupportedError naming it if monoquant has none.
DType dtype_from_onnx_code(int code);

}  // namespace mq::serialization
