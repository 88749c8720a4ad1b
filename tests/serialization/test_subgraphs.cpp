// Subgraphs (If / Loop / Scan bodies) in every saved format: .mqm, safetensors and the torch
// zip store them and load them back; too deep nesting is refused.
#include <set>

#include "../control_flow_graphs.h"
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
      Tensor y =
          s.run({{"x", Tensor::from_vector<float>({2, 4}, x)}, {"c", Tensor::scalar<bool>(c)}})
              .at("y");
      auto want = test::if_graph_reference(x, c);
      for (size_t i = 0; i < want.size(); ++i)
        CHECK(y.data<float>()[i] == doctest::Approx(want[i]).epsilon(1e-6));
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
      g->add_output(
          g->add_node(OpKind::If, {.name = "if", .inputs = {c, c}, .attrs = a})->output(0));
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
