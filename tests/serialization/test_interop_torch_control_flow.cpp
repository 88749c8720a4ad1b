// A torch.jit.script model with a data-dependent branch (tests/interop/make_torch_if.py,
// exported by torch.onnx.export at opset 13 as an If whose branches read the model's weights
// from the main graph) imports, runs both branches as torch does, calibrates and quantizes
// with the Linear layers inside the branches in int8, saves and loads as .mqm, and exports
// as QDQ ONNX that onnx's checker accepts.
#include <cmath>

#include "engine/api.h"
#include "engine/quantize.h"
#include "engine/session.h"
#include "interop_util.h"
#include "serialization/serialization.h"
#include "ir/control_flow.h"

using namespace mq;

namespace {
int count_ops(const Graph& g, OpKind op) {
  int n = 0;
  for (Node* node : g.nodes()) {
    n += node->op() == op;
    for (auto& [attr, sub] : subgraphs(*node)) n += count_ops(*sub, op);
  }
  return n;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.dims() == b.dims());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, double(std::fabs(a.data<float>()[i] - b.data<float>()[i])));
  return m;
}
}  // namespace

TEST_CASE("interop: a torch.jit.script model with a data-dependent If runs and quantizes") {
  MQ_REQUIRE_INTEROP_PYTHON(python);
  test::TempDir dir;
  MQ_RUN_INTEROP(python, "make_torch_if.py", dir);
  auto npy = [&](const std::string& name) { return serialization::load_npy(dir / ("data/" + name + ".npy")); };

  Graph g = load_model(dir / "model.onnx");
  REQUIRE(count_ops(g, OpKind::If) == 1);
  // the branch layers read the weights torch kept in the main graph: constants of the branches now
  CHECK(count_ops(g, OpKind::Linear) == 3);
  Session s(g);
  for (const char* b : {"pos", "neg"}) {
    CAPTURE(b);
    Tensor y = s.run({{"x", npy(std::string("x_") + b)}}).at("y");
    CHECK(max_abs_diff(y, npy(std::string("y_") + b)) < 1e-5);
  }

  std::vector<TensorMap> calib;
  for (int i = 0; i < 8; ++i) calib.push_back({{"x", npy("calib_" + std::to_string(i))}});
  TensorListSource src(calib);
  Calibration cal = calibrate(g, src);
  src.rewind();
  QuantizeResult q = static_quantize(g, cal, {}, &src);
  // every Linear, the two inside the branches included, is int8 (those no quantized layer
  // reads in the dynamic form)
  CHECK(count_ops(q.graph, OpKind::QLinear) + count_ops(q.graph, OpKind::DynamicQLinear) == 3);
  CHECK(count_ops(q.graph, OpKind::Linear) == 0);
  int quantized = 0;
  for (auto& l : q.info.layers) quantized += l.quantized && l.pattern == "linear";
  CHECK(quantized == 3);
  CHECK(q.info.passed());
  save_model(q.graph, dir / "model.int8.mqm");
  Session qs(load_model(dir / "model.int8.mqm"));
  for (const char* b : {"pos", "neg"}) {
    CAPTURE(b);
    Tensor want = npy(std::string("y_") + b);
    Tensor y = qs.run({{"x", npy(std::string("x_") + b)}}).at("y");
    double scale = 0;
    for (int64_t i = 0; i < want.numel(); ++i) scale = std::max(scale, double(std::fabs(want.data<float>()[i])));
    CHECK(max_abs_diff(y, want) < 0.05 * scale + 1e-3);
    test::expect_npy(dir, std::string("y_int8_") + b, y);
  }
  // the QDQ export: onnx's checker (and onnxruntime, when installed) read the If and its branches
  serialization::export_onnx(q.graph, dir / "model.int8.qdq.onnx");
  MQ_RUN_INTEROP(python, "check_onnx_control_flow.py", dir);
}
