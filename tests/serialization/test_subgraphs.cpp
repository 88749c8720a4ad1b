// Subgraphs (If / Loop / Scan bodies) in every saved format: .mqm, safetensors and the torch
// zip store them and load them back; too deep nesting is refused.
#include <cmath>
#include <set>

#include "../control_flow_graphs.h"
#include "engine/api.h"
#include "engine/quantize.h"
#include "engine/session.h"
#include "serialization/graph_json.h"
#include "serialization/serialization.h"
#include "test_helpers.h"

using namespace mq;
using namespace mq::serialization;

TEST_CASE("subgraphs survive .mqm, .safetensors and .pt round trips, and the loaded models run") {
  test::TempDir dir;
  const std::vector<float> x = {1, -2, 3, 0.5f, -1, 4, 2, -3};
  for (const char* ext : {".mqm", ".safetensors", ".pt"}) {
    CAPTURE(ext);
    Graph g = test::make_if_graph();
    save_graph(g, dir / (std::string("if") + ext));
    Graph h = load_graph(dir / (std::string("if") + ext));
    CHECK(same_structure(g, h));
    const Graph& nested = h.find_node("if")
                              ->attrs()
                              .get_graph("else_branch")
                              .find_node("inner_if")
                              ->attrs()
                              .get_graph("else_branch");
    CHECK(nested.find_node("inner_neg") != nullptr);
    Session s(h, {.threads = 1});
    for (bool c : {true, false}) {
      Tensor y = s.run({{"x", Tensor::from_vector<float>({2, 4}, x)}, {"c", Tensor::scalar<bool>(c)}}).at("y");
      auto want = test::if_graph_reference(x, c);
      for (size_t i = 0; i < want.size(); ++i) CHECK(y.data<float>()[i] == doctest::Approx(want[i]).epsilon(1e-6));
    }
    for (Graph (*make)() :
         {+[] { return test::make_loop_graph(); }, +[] { return test::make_scan_graph(true); }}) {
      Graph l = make();
      save_graph(l, dir / (std::string("l") + ext));
      CHECK(same_structure(l, load_graph(dir / (std::string("l") + ext))));
    }
  }
}

TEST_CASE(
    "a subgraph's constants are stored under keys of their own, even when named like the main "
    "graph's") {
  Graph g = test::make_if_graph();
  // a main-graph constant named like the then branch's constant
  g.add_constant("W1", Tensor::from_vector<float>({1}, {7}));
  auto keys = stored_constants(g);
  std::set<std::string> names;
  for (auto& [k, v] : keys) CHECK(names.insert(k).second);
  CHECK(names.count("W1") == 1);
  CHECK(names.count("if/then_branch/W1") == 1);
  CHECK(names.count("if/else_branch/W2") == 1);
  test::TempDir dir;
  save_graph(g, dir / "k.safetensors");
  CHECK(same_structure(g, load_graph(dir / "k.safetensors")));
}

TEST_CASE("graph descriptions nested deeper than the limit are refused with the file's name") {
  // an If in an If in an If ... 20 deep (then: the next level; else: pass the input through)
  std::shared_ptr<Graph> inner, leaf;
  for (int depth = 0; depth < 20; ++depth) {
    auto g = std::make_shared<Graph>();
    Value* c = g->add_input("c", {DType::boolean, Shape(std::vector<int64_t>{}), {}});
    if (!inner) {
      g->add_output(g->add_node(OpKind::Identity, {.name = "id", .inputs = {c}})->output(0));
      leaf = g;
    } else {
      Attributes a;
      a.set("then_branch", inner);
      a.set("else_branch", leaf);
      a.set("outer_inputs", int64_t(1));
      g->add_output(g->add_node(OpKind::If, {.name = "if", .inputs = {c, c}, .attrs = a})->output(0));
    }
    inner = g;
  }
  test::TempDir dir;
  for (const char* ext : {".mqm", ".safetensors", ".pt"}) {
    save_graph(*inner, dir / (std::string("deep") + ext));
    test::expect_error<FormatError>([&] { load_graph(dir / (std::string("deep") + ext)); },
                                    {std::string("deep") + ext, "nested more than 16 deep"});
  }
}

TEST_CASE("QDQ ONNX export writes subgraphs that read outer values by name; the file imports and runs") {
  test::TempDir dir;
  const std::vector<float> x = {1, -2, 1.5f, 0.5f, -1, 2, 1, -1.5f};  // inside the calibrated range
  Graph g = test::make_if_graph();
  optimize_graph(g);
  std::vector<TensorMap> data;
  for (int i = 0; i < 8; ++i) {
    std::vector<float> v(8);
    for (size_t k = 0; k < v.size(); ++k) v[k] = float((i * 7 + int(k) * 3) % 11) * 0.4f - 2.f;
    data.push_back({{"x", Tensor::from_vector<float>({2, 4}, v)}, {"c", Tensor::scalar<bool>(i % 2 == 0)}});
  }
  TensorListSource src(data);
  Calibration cal = calibrate(g, src);
  QuantizeResult q = static_quantize(g, cal, {.validate = false});
  for (const Graph* model : {&g, &q.graph}) {
    export_onnx(*model, dir / "if.onnx");
    Graph back = load_model(dir / "if.onnx");
    Node* n = back.find_node("if");
    REQUIRE(n);
    REQUIRE(n->op() == OpKind::If);
    CHECK(back.find_node("if")->attrs().get_graph("else_branch").find_node("inner_if") != nullptr);
    Session s(back, {.threads = 1}), direct(*model, {.threads = 1});
    for (bool c : {true, false}) {
      TensorMap in{{"x", Tensor::from_vector<float>({2, 4}, x)}, {"c", Tensor::scalar<bool>(c)}};
      Tensor y = s.run(in).at("y"), want = direct.run(in).at("y");
      // the QDQ form computes in float between quantize / dequantize pairs: within a step
      for (int64_t i = 0; i < want.numel(); ++i)
        CHECK(std::fabs(y.data<float>()[i] - want.data<float>()[i]) < (model == &g ? 1e-5 : 0.05));
    }
  }
}
