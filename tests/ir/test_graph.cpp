#include <doctest/doctest.h>

#include "ir/graph.h"
#include "ir/infer.h"
#include "ir/verifier.h"

using namespace mq;

namespace {
ValueType f32(std::vector<Dim> dims) { return {DType::f32, Shape(std::move(dims)), {}}; }
}  // namespace

TEST_CASE("tensor storage is 64-byte aligned, shared by copies, deep-copied by clone") {
  Tensor t(DType::f32, {3, 5});
  CHECK(reinterpret_cast<uintptr_t>(t.raw()) % kTensorAlignment == 0);
  Tensor u = t;
  u.data<float>()[0] = 2.f;
  CHECK(t.data<float>()[0] == 2.f);
  Tensor c = t.clone();
  c.data<float>()[0] = 3.f;
  CHECK(t.data<float>()[0] == 2.f);
  CHECK_THROWS_WITH_AS(t.data<int8_t>(), "tensor of dtype f32 accessed as i8", Error);
  CHECK_THROWS_AS(t.reshaped({4, 4}), ShapeError);
}

TEST_CASE("broadcasting with symbolic dims") {
  Shape a({Dim::sym("batch"), Dim(1), Dim(4)});
  Shape b({Dim(3), Dim(4)});
  CHECK(broadcast_shapes(a, b).str() == "[batch,3,4]");
  CHECK_THROWS_WITH_AS(broadcast_shapes(Shape{2, 3}, Shape{4}), "shapes [2,3] and [4] do not broadcast",
                       ShapeError);
}

TEST_CASE("types are inferred when a node is added; errors name the node and op") {
  Graph g;
  Value* x = g.add_input("x", f32({Dim::sym("n"), Dim(8)}));
  Value* w = g.add_constant("w", Tensor(DType::f32, {4, 8}));
  Node* lin = g.add_node(OpKind::Linear, {.name = "fc", .inputs = {x, w}});
  CHECK(lin->output(0)->shape().str() == "[n,4]");
  Node* relu = g.add_node(OpKind::Relu, {.name = "act", .inputs = {lin->output(0)}});
  g.add_output(relu->output(0));
  CHECK_NOTHROW(verify(g));

  Value* bad = g.add_constant("w_bad", Tensor(DType::f32, {4, 7}));
  CHECK_THROWS_WITH_AS(g.add_node(OpKind::Linear, {.name = "fc2", .inputs = {x, bad}}),
                       "node 'fc2' (Linear): input features 8 do not match weight [4,7]", ShapeError);
}

TEST_CASE("mutation API: replace uses, remove nodes, clone, remove_unused") {
  Graph g;
  Value* x = g.add_input("x", f32({Dim(2), Dim(3)}));
  Node* a = g.add_node(OpKind::Relu, {.name = "a", .inputs = {x}});
  Node* b = g.add_node(OpKind::Identity, {.name = "b", .inputs = {a->output(0)}});
  Node* c = g.add_node(OpKind::Add, {.name = "c", .inputs = {b->output(0), b->output(0)}});
  g.add_output(c->output(0));
  g.replace_all_uses(b->output(0), a->output(0));
  CHECK(c->input(0) == a->output(0));
  CHECK(c->input(1) == a->output(0));
  CHECK(a->output(0)->users().size() == 3);  // b still reads it, c twice
  g.remove_node(b);
  CHECK(a->output(0)->users().size() == 2);
  CHECK(g.node_count() == 2);
  CHECK_THROWS_AS(g.remove_node(a), Error);
  Graph h = g.clone();
  CHECK(h.node_count() == 2);
  CHECK(h.find_node("c")->input(0) == h.find_node("a")->output(0));
  CHECK_NOTHROW(verify(h));
  g.add_constant("unused", Tensor(DType::f32, {1}));
  g.remove_unused();
  CHECK(g.find_value("unused") == nullptr);
}

TEST_CASE("op list: names round-trip") {
  for (size_t i = 0; i < kOpCount; ++i) {
    auto op = OpKind(i);
    CHECK(op_from_name(op_name(op)) == op);
  }
  CHECK_FALSE(op_from_name("NoSuchOp").has_value());
}

TEST_CASE("verify refuses an output type its node's inference does not give (a stored type that lies)") {
  Graph g;
  Value* x = g.add_input("x", f32({Dim(1), Dim(3), Dim(8), Dim(8)}));
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{2, 2});
  Node* p = g.add_node(OpKind::MaxPool, {.name = "pool", .inputs = {x}, .attrs = a});
  g.add_output(p->output(0));
  CHECK_NOTHROW(verify(g));
  p->output(0)->set_type(f32({Dim(1), Dim(3), Dim(4), Dim(4)}));  // inference gives 7×7
  CHECK_THROWS_AS(verify(g), ShapeError);
  p->output(0)->set_type(f32({Dim(1), Dim(3), Dim(7), Dim(7)}));
  p->attrs().set("pads", std::vector<int64_t>{4096, 4096, 4096, 4096});  // edited after the node was built
  try {
    verify(g);
    FAIL("verify accepted pads 4096");
  } catch (const ShapeError& e) {
    CHECK(std::string(e.what()).find("'pool'") != std::string::npos);
    CHECK(std::string(e.what()).find("pads") != std::string::npos);
  }
}

TEST_CASE("mutation API: erase_operand shifts the later operands; remove_input refuses a read input") {
  Graph g;
  Value* a = g.add_input("a", f32({2}));
  Value* b = g.add_input("b", f32({2}));
  Value* c = g.add_input("c", f32({2}));
  Node* n = g.add_node(OpKind::Sum, {.name = "sum", .inputs = {a, b, c}});
  g.add_output(n->output(0));
  g.erase_operand(n, 1);
  REQUIRE(n->inputs().size() == 2);
  CHECK(n->input(1) == c);
  CHECK(b->users().empty());
  CHECK(c->users().size() == 1);
  CHECK_THROWS_AS(g.remove_input(a), Error);  // still read by 'sum'
  g.remove_input(b);
  CHECK(g.inputs().size() == 2);
  CHECK(g.find_value("b") == nullptr);
  verify(g);
}
