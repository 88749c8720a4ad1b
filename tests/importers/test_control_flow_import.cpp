// ONNX If / Loop subgraphs: names read from enclosing graphs (two levels up included),
// initializers of subgraphs, the main graph's initializers read from a branch (constants of
// the branch), unsupported ops inside subgraphs reported with the others, undefined names.
#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>

#include "../error_text.h"
#include "engine/session.h"
#include "importers/onnx/import.h"
#include "ir/control_flow.h"

using namespace mq;
using namespace mq::test;

namespace {
void tensor_type(::onnx::ValueInfoProto* vi, const std::string& name, int elem, const std::vector<int64_t>& dims) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem);
  for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
}

::onnx::NodeProto* node(::onnx::GraphProto* g, const std::string& op, const std::vector<std::string>& ins,
                        const std::vector<std::string>& outs, const std::string& name = "") {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (auto& i : ins) n->add_input(i);
  for (auto& o : outs) n->add_output(o);
  return n;
}

::onnx::GraphProto* graph_attr(::onnx::NodeProto* n, const std::string& name) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::GRAPH);
  return a->mutable_g();
}

void floats(::onnx::GraphProto* g, const std::string& name, const std::vector<float>& v) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(::onnx::TensorProto::FLOAT);
  t->add_dims(int64_t(v.size()));
  for (float f : v) t->add_float_data(f);
}

// x f32[3], c bool[]: y = If(c) then (x + k_then, k_then an initializer of the branch, added
// by a nested If that reads x from two levels up) else (x · w, w an initializer of the main graph)
::onnx::ModelProto if_model() {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(16);
  auto* g = m.mutable_graph();
  g->set_name("main");
  tensor_type(g->add_input(), "x", ::onnx::TensorProto::FLOAT, {3});
  tensor_type(g->add_input(), "c", ::onnx::TensorProto::BOOL, {});
  floats(g, "w", {2, 3, 4});
  node(g, "Relu", {"x"}, {"xr"}, "relu");
  auto* n = node(g, "If", {"c"}, {"y"}, "branch");
  tensor_type(g->add_output(), "y", ::onnx::TensorProto::FLOAT, {3});

  auto* t = graph_attr(n, "then_branch");
  t->set_name("then");
  floats(t, "k_then", {10, 20, 30});
  auto* inner = node(t, "If", {"c"}, {"t_out"}, "inner");
  tensor_type(t->add_output(), "t_out", ::onnx::TensorProto::FLOAT, {3});
  auto* it = graph_attr(inner, "then_branch");
  node(it, "Add", {"xr", "k_then"}, {"it_out"});
  tensor_type(it->add_output(), "it_out", ::onnx::TensorProto::FLOAT, {3});
  auto* ie = graph_attr(inner, "else_branch");
  node(ie, "Neg", {"xr"}, {"ie_out"});
  tensor_type(ie->add_output(), "ie_out", ::onnx::TensorProto::FLOAT, {3});

  auto* e = graph_attr(n, "else_branch");
  e->set_name("else");
  node(e, "Mul", {"xr", "w"}, {"e_out"});
  tensor_type(e->add_output(), "e_out", ::onnx::TensorProto::FLOAT, {3});
  return m;
}

Graph import(const ::onnx::ModelProto& m) {
  return mq::onnx::import_model_bytes(m.SerializeAsString(), "if.onnx", ".");
}
}  // namespace

TEST_CASE("ONNX If: outer names from one and two levels up, subgraph and main-graph initializers") {
  Graph g = import(if_model());
  Node* n = g.find_node("branch");
  REQUIRE(n);
  REQUIRE(n->op() == OpKind::If);
  // in first-read order: c (the nested If's cond), xr (read two levels down, and by else)
  REQUIRE(outer_operand_count(*n) == 2);
  CHECK(n->input(1)->name() == "c");
  CHECK(n->input(2)->name() == "xr");
  const Graph& e = n->attrs().get_graph("else_branch");
  REQUIRE(e.find_value("w"));
  CHECK(e.find_value("w")->is_constant());  // the main graph's initializer, a constant of the branch
  CHECK(n->output(0)->type().str() == "f32[3]");
  Session s(g, {.threads = 1});
  auto run = [&](bool c) {
    return s.run({{"x", Tensor::from_vector<float>({3}, {1, -2, 3})}, {"c", Tensor::scalar<bool>(c)}})
        .at("y")
        .to_float();
  };
  CHECK(run(true) == std::vector<float>{11, 20, 33});
  CHECK(run(false) == std::vector<float>{2, 0, 12});
}

TEST_CASE(
    "ONNX If: unsupported ops inside subgraphs are reported with the others; undefined names are "
    "errors") {
  ::onnx::ModelProto m = if_model();
  auto* e = m.mutable_graph()->mutable_node(1)->mutable_attribute(1)->mutable_g();
  e->mutable_node(0)->set_op_type("NoSuchOp");
  e->mutable_node(0)->set_name("odd");
  std::string msg = message_of([&] { import(m); });
  CHECK(contains(msg, "if.onnx: 1 unsupported op: NoSuchOp (node 'odd')"));

  ::onnx::ModelProto u = if_model();
  u.mutable_graph()->mutable_node(1)->mutable_attribute(1)->mutable_g()->mutable_node(0)->set_input(0, "nowhere");
  msg = message_of([&] { import(u); });
  CHECK(contains(msg, "node 'branch' (If)"));
  CHECK(contains(msg, "reads 'nowhere', which is not defined before the node"));
}
