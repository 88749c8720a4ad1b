// A torch.nn.TransformerEncoderLayer exported by torch.onnx.export (tests/interop/
// make_torch_attention.py) imports and runs as torch does; quantized statically, its two
// MatMuls between activations (Q·Kᵀ, attention·V) are the matmul pattern's int8 products next
// to the Linear layers, and dynamically they quantize their operands per call.
#include <algorithm>
#include <cmath>

#include "engine/api.h"
#include "engine/quantize.h"
#include "engine/session.h"
#include "interop_util.h"
#include "serialization/serialization.h"

using namespace mq;

namespace {
int count_ops(const Graph& g, OpKind op) {
  int n = 0;
  for (Node* node : g.nodes()) n += node->op() == op;
  return n;
}
}  // namespace

TEST_CASE("interop: a torch TransformerEncoderLayer's attention products are quantized") {
  MQ_REQUIRE_INTEROP_PYTHON(python);
  test::TempDir dir;
  MQ_RUN_INTEROP(python, "make_torch_attention.py", dir);
  auto npy = [&](const std::string& name) { return serialization::load_npy(dir / ("data/" + name + ".npy")); };

  Graph g = load_model(dir / "model.onnx");
  REQUIRE(count_ops(g, OpKind::MatMul) == 2);  // the projections are Linear layers
  CHECK(count_ops(g, OpKind::Linear) >= 4);
  const Tensor y = Session(g).run({{"x", npy("x")}}).at("y");
  CHECK(sqnr_db(npy("y"), y) > 100);

  std::vector<TensorMap> calib;
  for (int i = 0; i < 16; ++i) calib.push_back({{"x", npy("calib_" + std::to_string(i))}});
  TensorListSource src(calib);
  QuantizeOptions o;  // the output projection static too, reading attention·V as int8
  o.static_float_outputs = true;
  QuantizeResult q = static_quantize(g, calibrate(g, src), o, &src);
  CHECK(count_ops(q.graph, OpKind::MatMul) == 0);
  CHECK(count_ops(q.graph, OpKind::QLinearMatMul) == 1);  // attention·V, read by the output projection
  CHECK(count_ops(q.graph, OpKind::MatMulInteger) == 1);  // Q·Kᵀ, read by the Softmax
  int products = 0;
  for (const LayerReport& l : q.info.layers) {
    if (l.pattern != "matmul") continue;
    ++products;
    CAPTURE(l.name);
    CHECK(l.quantized);
    CHECK(l.output_sqnr_db > 25);
  }
  CHECK(products == 2);
  CHECK(q.info.model_sqnr_db > 30);
  CHECK(q.info.round_trip_ok);
  CHECK(sqnr_db(npy("y"), Session(q.graph).run({{"x", npy("x")}}).at("y")) > 25);

  QuantizeResult d = dynamic_quantize(g, {}, &src);
  CHECK(count_ops(d.graph, OpKind::MatMulInteger) == 2);
  CHECK(count_ops(d.graph, OpKind::MatMul) == 0);
  CHECK(d.info.model_sqnr_db > 30);
}
