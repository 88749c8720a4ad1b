// If, Loop and Scan: type inference, the verifier, deep copies, execution through a Session
// per subgraph (outer values, nested subgraphs, taps inside branches), and If with a
// constant cond inlined at load.
#include <doctest/doctest.h>

#include <set>

#include "../control_flow_graphs.h"
#include "../error_text.h"
#include "engine/api.h"
#include "engine/session.h"
#include "ir/control_flow.h"
#include "ir/passes/passes.h"
#include "ir/verifier.h"

using namespace mq;
using namespace mq::test;

namespace {
const std::vector<float> kX = {1, -2, 3, 0.5f, -1, 4, 2, -3};

TensorMap if_inputs(bool c) {
  return {{"x", Tensor::from_vector<float>({2, 4}, kX)}, {"c", Tensor::scalar<bool>(c)}};
}

void check_close(const Tensor& t, const std::vector<float>& want) {
  REQUIRE(size_t(t.numel()) == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(t.data<float>()[i] == doctest::Approx(want[i]).epsilon(1e-5));
}
}  // namespace

TEST_CASE("If: types from the branches, verified with its subgraphs, deep-copied by clone") {
  Graph g = make_if_graph();
  verify(g);
  Node* n = g.find_node("if");
  CHECK(n->output(0)->type() == f32_type({2, 3}));
  CHECK(outer_operand_count(*n) == 3);
  CHECK(formal_operand_count(*n) == 1);
  Graph copy = g.clone();
  CHECK(same_structure(g, copy));
  // the copy's subgraphs are its own
  Graph& then_copy = copy.find_node("if")->attrs().get_graph("then_branch");
  then_copy.rename_node(then_copy.find_node("then_relu"), "renamed");
  CHECK(g.find_node("if")->attrs().get_graph("then_branch").find_node("then_relu") != nullptr);
  CHECK_FALSE(same_structure(g, copy));
}

TEST_CASE(
    "If: branches of different shapes give unknown dims; a bad subgraph signature is an error "
    "naming the node") {
  Graph g;
  Value* c = g.add_input("c", {DType::boolean, Shape(std::vector<int64_t>{}), {}});
  auto branch = [](std::vector<int64_t> dims) {
    auto s = std::make_shared<Graph>();
    s->add_output(s->add_constant("k", Tensor(DType::f32, dims)));
    return s;
  };
  Attributes a;
  a.set("then_branch", branch({2, 3}));
  a.set("else_branch", branch({2, 5}));
  Node* n = g.add_node(OpKind::If, {.name = "branchy", .inputs = {c}, .attrs = a});
  REQUIRE(n->output(0)->shape().rank() == 2);
  CHECK(n->output(0)->shape()[0].value == 2);
  CHECK_FALSE(n->output(0)->shape()[1].is_static());

  Attributes bad = a;
  bad.set("outer_inputs", int64_t(1));  // the branches take no input for it
  std::string msg = message_of([&] { g.add_node(OpKind::If, {.name = "wrong", .inputs = {c, c}, .attrs = bad}); });
  CHECK(contains(msg, "node 'wrong' (If)"));
  CHECK(contains(msg, "subgraph 'then_branch' has 0 inputs; it must have 1"));
}

TEST_CASE("If runs the branch its cond selects, with outer values and a nested If") {
  Graph g = make_if_graph();
  for (bool optimize : {true, false}) {
    Session s(g, {.threads = 2, .optimize = optimize});
    check_close(s.run(if_inputs(true)).at("y"), if_graph_reference(kX, true));
    check_close(s.run(if_inputs(false)).at("y"), if_graph_reference(kX, false));
  }
}

TEST_CASE("A run taps values inside the branch that runs, nested ones included") {
  Graph g = make_if_graph();
  Session s(g, {.threads = 1, .optimize = false});
  std::multiset<std::string> seen;
  auto tap = [&](const Value& v, const Tensor&) { seen.insert(v.name()); };
  s.run(if_inputs(false), {"x", "else_fc_out", "then_fc_out", "inner_neg:out"}, tap);
  CHECK(seen.count("x") == 1);              // tapped where it is an input, not again in the branch
  CHECK(seen.count("else_fc_out") == 1);    // inside the else branch
  CHECK(seen.count("inner_neg:out") == 1);  // inside the If nested in it
  CHECK(seen.count("then_fc_out") == 0);    // the then branch did not run
  CHECK(contains(message_of([&] { s.run(if_inputs(true), {"nowhere"}, tap); }), "no value named 'nowhere'"));
}

TEST_CASE("Loop carries values, reads outer ones and stacks its scan outputs") {
  Graph g = make_loop_graph();
  Session s(g, {.threads = 1});
  TensorMap out = s.run({{"x", Tensor::from_vector<float>({3}, {1, 1, 1})}, {"m", Tensor::scalar<int64_t>(3)}});
  check_close(out.at("v_final"), {4, 7, 10});
  CHECK(out.at("v_scan").dims() == std::vector<int64_t>{3, 3});
  check_close(out.at("v_scan"), {2, 2, 2, 4, 6, 8, 6, 10, 14});
  TensorMap none = s.run({{"x", Tensor::from_vector<float>({3}, {1, 1, 1})}, {"m", Tensor::scalar<int64_t>(0)}});
  check_close(none.at("v_final"), {1, 1, 1});
  CHECK(none.at("v_scan").dims() == std::vector<int64_t>{0, 3});
}

TEST_CASE("Scan slices its inputs along the axis, forward and reversed") {
  Tensor x = Tensor::from_vector<float>({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor s0 = Tensor::from_vector<float>({2}, {10, 20});
  Graph fwd = make_scan_graph(false);
  CHECK(fwd.find_value("running")->shape().str() == Shape(std::vector<Dim>{Dim::sym("T"), Dim(2)}).str());
  TensorMap a = Session(fwd, {.threads = 1}).run({{"s", s0}, {"x", x}});
  check_close(a.at("sum"), {19, 32});
  check_close(a.at("running"), {11, 22, 14, 26, 19, 32});
  TensorMap b = Session(make_scan_graph(true), {.threads = 1}).run({{"s", s0}, {"x", x}});
  check_close(b.at("sum"), {19, 32});
  check_close(b.at("running"), {15, 26, 18, 30, 19, 32});
}

TEST_CASE(
    "An If whose cond is a constant is replaced by the branch it selects, outputs keep their "
    "names") {
  for (bool c : {true, false}) {
    Graph g = make_if_graph();
    Value* k = g.add_constant("c_const", Tensor::scalar<bool>(c));
    g.set_input(g.find_node("if"), 0, k);
    g.set_input(g.find_node("if"), 3, k);
    CHECK(passes::inline_constant_if(g));
    for (Node* n : g.nodes()) CHECK(n->op() != OpKind::If);  // the nested If folds too
    verify(g);
    REQUIRE(g.outputs().size() == 1);
    CHECK(g.outputs()[0]->name() == "y");
    TensorMap in = if_inputs(c);
    in.erase("c");
    g.remove_unused();
    Session s(g, {.threads = 1});
    TensorMap feed{{"x", in.at("x")}};
    if (g.find_value("c") &&
        std::find(g.inputs().begin(), g.inputs().end(), g.find_value("c")) != g.inputs().end())
      feed["c"] = Tensor::scalar<bool>(c);
    check_close(s.run(feed).at("y"), if_graph_reference(kX, c));
  }
}

TEST_CASE(
    "optimize_graph lowers layers inside subgraphs and inlines an If whose cond folds to a "
    "constant") {
  Graph g = make_if_graph();
  Graph h = g.clone();
  optimize_graph(h);
  CHECK(h.find_node("if") != nullptr);  // data-dependent cond: kept
  Graph k;
  {
    // cond computed from constants only: Not(false) folds to true, then the If is inlined
    Graph src = make_if_graph();
    Value* f = src.add_constant("f", Tensor::scalar<bool>(false));
    Node* nt = src.add_node(OpKind::Not, {.name = "not", .inputs = {f}});
    src.set_input(src.find_node("if"), 0, nt->output(0));
    src.topo_sort();
    optimize_graph(src);
    CHECK(src.find_node("if") == nullptr);
    Session s(src, {.threads = 1});
    check_close(s.run({{"x", Tensor::from_vector<float>({2, 4}, kX)}, {"c", Tensor::scalar<bool>(false)}}).at("y"),
                if_graph_reference(kX, true));
  }
}
