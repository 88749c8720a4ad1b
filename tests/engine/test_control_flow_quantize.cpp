// Layers inside If branches are calibrated (values tapped inside the branch that runs) and
// quantized like any other; the quantized model keeps its subgraphs and runs.
#include <doctest/doctest.h>

#include <random>

#include "../control_flow_graphs.h"
#include "engine/api.h"
#include "engine/quantize.h"
#include "engine/session.h"
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

std::vector<TensorMap> if_batches(int n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-2.f, 2.f);
  std::vector<TensorMap> r;
  for (int i = 0; i < n; ++i) {
    std::vector<float> x(8);
    for (auto& v : x) v = d(rng);
    r.push_back({{"x", Tensor::from_vector<float>({2, 4}, x)}, {"c", Tensor::scalar<bool>(i % 2 == 0)}});
  }
  return r;
}
}  // namespace

TEST_CASE("static quantization reaches the Linear layers inside both If branches") {
  std::mt19937 rng(7);
  Graph g = test::make_if_graph();
  optimize_graph(g);  // as load_model does: the bias b becomes a constant of each branch
  CHECK(g.find_node("if")->attrs().get_int("outer_inputs") == 2);
  TensorListSource src(if_batches(16, rng));
  Calibration cal = calibrate(g, src);
  // observed inside the branches: each branch's layer input (the outer x) and output
  CHECK(cal.has("x"));
  CHECK(cal.has("then_fc_out"));
  CHECK(cal.has("then_out"));
  CHECK(cal.has("else_fc_out"));
  src.rewind();
  QuantizeOptions o;
  o.static_float_outputs = true;  // the branches' layers are the model's last
  QuantizeResult q = static_quantize(g, cal, o, &src);
  CHECK(count_ops(q.graph, OpKind::QLinear) == 2);
  CHECK(count_ops(q.graph, OpKind::Linear) == 0);
  const Graph& then_q = q.graph.find_node("if")->attrs().get_graph("then_branch");
  REQUIRE(then_q.find_node("then_fc") != nullptr);
  CHECK(then_q.find_node("then_fc")->op() == OpKind::QLinear);
  CHECK(then_q.find_node("then_fc")->input(1)->dtype() == DType::i8);
  int quantized = 0;
  for (auto& l : q.info.layers) quantized += l.quantized;
  CHECK(quantized == 2);
  CHECK(q.info.size_after < q.info.size_before);
  CHECK(q.info.model_sqnr_db > 25);
  // the quantized model runs both branches close to the float one
  Session fs(g, {.threads = 1}), qs(q.graph, {.threads = 1});
  for (auto& b : if_batches(4, rng)) {
    Tensor f = fs.run(b).at("y"), r = qs.run(b).at("y");
    for (int64_t i = 0; i < f.numel(); ++i)
      CHECK(r.data<float>()[i] == doctest::Approx(f.data<float>()[i]).epsilon(0.05).scale(1));
  }
  // and back to float
  CHECK(count_ops(dequantize_model(q.graph), OpKind::QLinear) == 0);
}
