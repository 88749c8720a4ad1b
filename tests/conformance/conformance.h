#pragma once
// Runs one ONNX backend test case (model.onnx + test_data_set_*/input_*.pb, output_*.pb)
// through monoquant's importer and fp32 engine and compares the outputs.
#include <string>

namespace mq::conformance {

/// Root of Debian's libonnx-testdata (data/node, data/pytorch-converted, ...).
inline const char* kDataRoot = "/usr/share/libonnx-testdata/data";

enum class Status { pass, unsupported, fail };

struct CaseResult {
  Status status = Status::fail;
  std::string detail;  ///< why it is unsupported or failed
};

/// Tolerance: |got - want| <= atol + rtol * |want| (rtol 1e-3, atol 1e-5); ints, bools exact.
CaseResult run_case(const std::string& dir);

}  // namespace mq::conformance
