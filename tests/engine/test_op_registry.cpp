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
  const std::set<std::string> own = {"Linear", "Conv2d",         "QLinear",      "QConv2d",
                                     "QLSTM",  "DynamicQLinear", "DynamicQLSTM", "FusedElementwise"};
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

TEST_CASE("run_node runs one node on its own (constant folding's way), within size limits") {
  Graph g;
  Value* a = g.add_constant("a", Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4}));
  Value* b = g.add_constant("b", Tensor::from_vector<float>({2}, {10, 20}));
  Node* add = g.add_node(OpKind::Add, {.name = "add", .inputs = {a, b}});
  const std::vector<Tensor> out = run_node(*add, {&*a->constant(), &*b->constant()});
  REQUIRE(out.size() == 1);
  CHECK(out[0].dims() == std::vector<int64_t>{2, 2});
  CHECK(std::vector<float>(out[0].data<float>(), out[0].data<float>() + 4) == std::vector<float>{11, 22, 13, 24});
  CHECK(run_node(*add, {&*a->constant(), &*b->constant()}, 3).empty());      // 4 elements > 3
  CHECK(run_node(*add, {&*a->constant(), &*b->constant()}, 0, 15).empty());  // 16 bytes > 15
}
