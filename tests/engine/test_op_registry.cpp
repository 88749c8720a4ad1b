// Every op of ir/op_list.h is whole: type inference, an executor (or it is on the explicit
// import-only list below) and an ONNX importer builder (or it is one of monoquant's own ops,
// which only its own formats carry, or a compiled plan's fused step). Adding an op without one of them fails here.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "engine/executor.h"
#include "importers/onnx/import.h"
#include "ir/infer.h"
#include "ir/ops.h"

using namespace mq;

TEST_CASE("every IR op has type inference, an executor and an ONNX importer builder") {
  std::set<std::string> onnx_ops;
  for (const auto& s : onnx::supported_ops()) onnx_ops.insert(s);
  // monoquant's own ops: built by importers under other ONNX names (Gemm / MatMul → Linear,
  // Conv → Conv2d) or written by the quantizer and read back from .mqm / safetensors / torch
  const std::set<std::string> own = {"Linear", "Conv2d", "QLinear", "QConv2d", "QLSTM", "DynamicQLinear", "DynamicQLSTM",
                                  "FusedElementwise"};
  // ops the ONNX importer rewrites into others, so that no graph reaching the engine has them
  const std::set<std::string> import_only = {};
  for (size_t i = 0; i < kOpCount; ++i) {
    const OpKind op = OpKind(i);
    const std::string name(op_name(op));
    CAPTURE(name);
    CHECK(bool(infer_fn(op)));
    if (!import_only.count(name)) CHECK(bool(executor(op).run));
    if (!own.count(name)) CHECK(onnx_ops.count(name) == 1);
  }
  for (const auto& name : import_only) CHECK(onnx_ops.count(name) == 1);
  for (const auto& name : own) CHECK(onnx_ops.count(name) == 0);
}
