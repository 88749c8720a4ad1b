#pragma once
/// ONNX → monoquant IR. The only public header of the importer; protobuf stays inside.
#include <string>

#include "ir/graph.h"

namespace mq::onnx {

/// Reads an ONNX model file into a Graph. Errors (FormatError for a malformed file,
/// UnsupportedError listing every unsupported op and its nodes) start with the file name.
Graph import_model(const std::string& path);
/// Same, from the serialized bytes; `name` is used in errors, `base_dir` for external data.
Graph import_model_bytes(const std::string& bytes, const std::string& name, const std::string& base_dir);
/// Reads one serialized ONNX TensorProto file (as in the ONNX test data sets).
Tensor read_tensor_file(const std::string& path);
/// The ONNX op types the importer can build (for tools and conformance manifests).
std::vector<std::string> supported_ops();

}  // namespace mq::onnx
