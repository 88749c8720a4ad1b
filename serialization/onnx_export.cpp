// QDQ ONNX export: placeholder.
#include "serialization/serialization.h"

namespace mq::serialization {
void export_onnx(const Graph&, const std::string& path, const OnnxExportOptions&) {
  fail<UnsupportedError>(path, ": ONNX export not implemented yet");
}
}  // namespace mq::serialization
