// Elementwise, activation and reduction executors run through a Session on small graphs.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/session.h"
#include "kernels/fp32/broadcast.h"

using namespace mq;

namespace {

ValueType type_of(const Tensor& t) { return {t.dtype(), t.shape(), {}}; }

/// Runs one node of `op` on the given inputs (graph inputs; nullptr-free) and optional
/// constant operands; returns output 0.
Tensor run_op(OpKind op, const std::vector<Tensor>& inputs, Attributes attrs = {},
              const std::vector<std::optional<Tensor>>& constants = {}) {
  Graph g;
  std::vector<Value*> ins;
  TensorMap feed;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string name = "x" + std::to_string(i);
    ins.push_back(g.add_input(name, type_of(inputs[i])));
    feed[name] = inputs[i];
  }
  for (size_t i = 0; i < constants.size(); ++i)
    ins.push_back(constants[i] ? g.add_constant("c" + std::to_string(i), *constants[i]) : nullptr);
  Node* n = g.add_node(op, {.name = "n", .inputs = ins, .attrs = std::move(attrs)});
  g.add_output(n->output(0));
  Session s(g, SessionOptions{.threads = 1});
  return s.run(feed).at(n->output(0)->name());
}

template <class T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

Tensor f32(std::vector<int64_t> dims, std::vector<float> v) {
  return Tensor::from_vector<float>(std::move(dims), v);
}

}  // namespace

TEST_CASE("broadcast plans collapse dims and mark broadcast operands") {
  int64_t out[] = {2, 3, 4};
  int64_t a[] = {2, 3, 4}, b[] = {4}, c[] = {2, 1, 4};
  const int64_t* dims[] = {a, b, c};
  size_t ranks[] = {3, 1, 3};
  kernels::BroadcastPlan p;
  REQUIRE(kernels::make_broadcast_plan(out, 3, dims, ranks, 3, p));
  CHECK(p.numel == 24);
  CHECK(p.inner_stride(0) == 1);
  CHECK(p.inner_stride(1) == 1);
  CHECK(p.is_scalar(1) == false);
  int64_t bad[] = {3};
  const int64_t* dims2[] = {a, bad};
  size_t ranks2[] = {3, 1};
  CHECK_FALSE(kernels::make_broadcast_plan(out, 3, dims2, ranks2, 2, p));
  // same shapes collapse to one dim
  const int64_t* dims3[] = {a, a};
  size_t ranks3[] = {3, 3};
  REQUIRE(kernels::make_broadcast_plan(out, 3, dims3, ranks3, 2, p));
  CHECK(p.rank == 1);
}

TEST_CASE("Add, Sub, Mul, Div broadcast like numpy") {
  Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor row = f32({3}, {10, 20, 30});
  Tensor col = f32({2, 1}, {100, 200});
  CHECK(values<float>(run_op(OpKind::Add, {a, row})) == std::vector<float>{11, 22, 33, 14, 25, 36});
  CHECK(values<float>(run_op(OpKind::Sub, {a, col})) == std::vector<float>{-99, -98, -97, -196, -195, -194});
  CHECK(values<float>(run_op(OpKind::Mul, {row, col})) == std::vector<float>{1000, 2000, 3000, 2000, 4000, 6000});
  Tensor d = run_op(OpKind::Div, {a, Tensor::scalar<float>(2.f)});
  CHECK(d.dims() == std::vector<int64_t>{2, 3});
  CHECK(values<float>(d) == std::vector<float>{0.5f, 1, 1.5f, 2, 2.5f, 3});
}

TEST_CASE("integer arithmetic: division by zero gives 0 instead of trapping") {
  Tensor a = Tensor::from_vector<int32_t>({3}, {7, -7, 5});
  Tensor b = Tensor::from_vector<int32_t>({3}, {2, 2, 0});
  CHECK(values<int32_t>(run_op(OpKind::Div, {a, b})) == std::vector<int32_t>{3, -3, 0});
  Tensor u = Tensor::from_vector<uint8_t>({2}, {250, 3});
  CHECK(values<uint8_t>(run_op(OpKind::Add, {u, Tensor::from_vector<uint8_t>({1}, {10})})) ==
        std::vector<uint8_t>{4, 13});
}

TEST_CASE("variadic Sum, Mean, Max, Min fold every operand with broadcasting") {
  Tensor a = f32({3}, {1, 5, 3});
  Tensor b = f32({1}, {2});
  Tensor c = f32({2, 1}, {0, 10});
  CHECK(values<float>(run_op(OpKind::Sum, {a, b, c})) == std::vector<float>{3, 7, 5, 13, 17, 15});
  CHECK(values<float>(run_op(OpKind::Max, {a, b})) == std::vector<float>{2, 5, 3});
  CHECK(values<float>(run_op(OpKind::Min, {a})) == std::vector<float>{1, 5, 3});
  CHECK(values<float>(run_op(OpKind::Mean, {a, b})) == std::vector<float>{1.5f, 3.5f, 2.5f});
}

TEST_CASE("Pow with mixed operand types computes in the base's type") {
  Tensor x = Tensor::from_vector<int32_t>({3}, {1, 2, 3});
  Tensor y = f32({3}, {4, 5, 0.5f});
  CHECK(values<int32_t>(run_op(OpKind::Pow, {x, y})) == std::vector<int32_t>{1, 32, 1});
  Tensor f = run_op(OpKind::Pow, {f32({2}, {2, 9}), Tensor::from_vector<int64_t>({1}, {2})});
  CHECK(values<float>(f) == std::vector<float>{4, 81});
}

TEST_CASE("comparisons and logic produce bool; Where selects with broadcasting") {
  Tensor a = f32({3}, {1, 2, 3});
  Tensor b = f32({3}, {2, 2, 2});
  CHECK(values<bool>(run_op(OpKind::Less, {a, b})) == std::vector<bool>{true, false, false});
  CHECK(values<bool>(run_op(OpKind::GreaterOrEqual, {a, b})) == std::vector<bool>{false, true, true});
  CHECK(values<bool>(run_op(OpKind::Equal, {a, b})) == std::vector<bool>{false, true, false});
  Tensor p = Tensor::from_vector<bool>({2}, {true, false});
  Tensor q = Tensor::from_vector<bool>({2, 1}, {true, false});
  CHECK(values<bool>(run_op(OpKind::Xor, {p, q})) == std::vector<bool>{false, true, true, false});
  CHECK(values<bool>(run_op(OpKind::Not, {p})) == std::vector<bool>{false, true});
  Tensor w = run_op(OpKind::Where, {p, f32({2, 2}, {1, 2, 3, 4}), Tensor::scalar<float>(-1.f)});
  CHECK(values<float>(w) == std::vector<float>{1, -1, 3, -1});
  Graph g;
  Value* x = g.add_input("x", type_of(a));
  Value* i = g.add_input("i", type_of(Tensor::from_vector<int32_t>({3}, {1, 2, 3})));
  CHECK_THROWS_AS(g.add_node(OpKind::Add, {.name = "mixed", .inputs = {x, i}}), ShapeError);
  CHECK_THROWS_AS(g.add_node(OpKind::And, {.name = "notbool", .inputs = {x, x}}), ShapeError);
}

TEST_CASE("unary math, Cast and Identity") {
  Tensor x = f32({4}, {-1.5f, 0.5f, 2.5f, 4});
  CHECK(values<float>(run_op(OpKind::Round, {x})) == std::vector<float>{-2, 0, 2, 4});
  CHECK(values<float>(run_op(OpKind::Abs, {x})) == std::vector<float>{1.5f, 0.5f, 2.5f, 4});
  CHECK(values<float>(run_op(OpKind::Sign, {x})) == std::vector<float>{-1, 1, 1, 1});
  CHECK(values<float>(run_op(OpKind::Floor, {x})) == std::vector<float>{-2, 0, 2, 4});
  CHECK(run_op(OpKind::Sqrt, {x}).data<float>()[3] == 2.f);
  Attributes to;
  to.set("to", int64_t(DType::i32));
  CHECK(values<int32_t>(run_op(OpKind::Cast, {x}, to)) == std::vector<int32_t>{-1, 0, 2, 4});
  to.set("to", int64_t(DType::boolean));
  CHECK(values<bool>(run_op(OpKind::Cast, {x}, to)) == std::vector<bool>{true, true, true, true});
  CHECK(values<float>(run_op(OpKind::Identity, {x})) == values<float>(x));
  Graph g;
  Value* i = g.add_input("i", type_of(Tensor::from_vector<int32_t>({1}, {1})));
  CHECK_THROWS_AS(g.add_node(OpKind::Exp, {.name = "e", .inputs = {i}}), UnsupportedError);
}

TEST_CASE("activations") {
  Tensor x = f32({4}, {-2, -0.5f, 0, 3});
  CHECK(values<float>(run_op(OpKind::Relu, {x})) == std::vector<float>{0, 0, 0, 3});
  Attributes a;
  a.set("alpha", 0.1f);
  auto lr = values<float>(run_op(OpKind::LeakyRelu, {x}, a));
  CHECK(lr[0] == doctest::Approx(-0.2f));
  CHECK(lr[3] == 3.f);
  auto sg = values<float>(run_op(OpKind::Sigmoid, {x}));
  CHECK(sg[2] == 0.5f);
  CHECK(sg[0] == doctest::Approx(1.f / (1.f + std::exp(2.f))));
  auto hs = values<float>(run_op(OpKind::HardSwish, {x}));
  CHECK(hs[3] == 3.f);
  CHECK(hs[1] == doctest::Approx(-0.5f * (-0.5f / 6 + 0.5f)));
  Tensor c = run_op(OpKind::Clip, {x}, {}, {Tensor::scalar<float>(-1.f), Tensor::scalar<float>(1.f)});
  CHECK(values<float>(c) == std::vector<float>{-1, -0.5f, 0, 1});
  Tensor c2 = run_op(OpKind::Clip, {x}, {}, {std::nullopt, Tensor::scalar<float>(0.f)});
  CHECK(values<float>(c2) == std::vector<float>{-2, -0.5f, 0, 0});
  Tensor i8 = Tensor::from_vector<int8_t>({3}, {-100, 5, 100});
  CHECK(
      values<int8_t>(run_op(OpKind::Clip, {i8}, {}, {Tensor::scalar<int8_t>(-10), Tensor::scalar<int8_t>(10)})) ==
      std::vector<int8_t>{-10, 5, 10});
  Tensor pr = run_op(OpKind::PRelu, {f32({2, 2}, {-1, 1, -1, 1}), f32({2, 1}, {0.5f, 0.25f})});
  CHECK(values<float>(pr) == std::vector<float>{-0.5f, 1, -0.25f, 1});
}

TEST_CASE("Softmax and LogSoftmax normalize over one axis") {
  Tensor x = f32({2, 2}, {0, 0, 1, 3});
  auto s = values<float>(run_op(OpKind::Softmax, {x}));  // default axis -1
  CHECK(s[0] == doctest::Approx(0.5f));
  CHECK(s[2] + s[3] == doctest::Approx(1.f));
  CHECK(s[3] == doctest::Approx(std::exp(3.f) / (std::exp(1.f) + std::exp(3.f))));
  Attributes a0;
  a0.set("axis", int64_t(0));
  auto s0 = values<float>(run_op(OpKind::Softmax, {x}, a0));
  CHECK(s0[0] + s0[2] == doctest::Approx(1.f));
  CHECK(s0[1] == doctest::Approx(1.f / (1.f + std::exp(3.f))));
  auto ls = values<float>(run_op(OpKind::LogSoftmax, {x}));
  CHECK(ls[0] == doctest::Approx(std::log(0.5f)));
  Tensor big = f32({2}, {1000, 1000});
  CHECK(values<float>(run_op(OpKind::Softmax, {big}))[0] == doctest::Approx(0.5f));
}

TEST_CASE("reductions over axes, keepdims and empty axes") {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Attributes keep0;
  keep0.set("keepdims", int64_t(0));
  Tensor s = run_op(OpKind::ReduceSum, {x}, keep0, {Tensor::from_vector<int64_t>({1}, {1})});
  CHECK(s.dims() == std::vector<int64_t>{2});
  CHECK(values<float>(s) == std::vector<float>{6, 15});
  Tensor m = run_op(OpKind::ReduceMean, {x}, {}, {Tensor::from_vector<int64_t>({1}, {0})});
  CHECK(m.dims() == std::vector<int64_t>{1, 3});
  CHECK(values<float>(m) == std::vector<float>{2.5f, 3.5f, 4.5f});
  Tensor all = run_op(OpKind::ReduceMax, {x});
  CHECK(all.dims() == std::vector<int64_t>{1, 1});
  CHECK(values<float>(all) == std::vector<float>{6});
  CHECK(values<float>(run_op(OpKind::ReduceProd, {x}, keep0, {Tensor::from_vector<int64_t>({1}, {-1})})) ==
        std::vector<float>{6, 120});
  auto l2 = values<float>(run_op(OpKind::ReduceL2, {x}, keep0, {Tensor::from_vector<int64_t>({1}, {1})}));
  CHECK(l2[0] == doctest::Approx(std::sqrt(14.f)));
  CHECK(values<float>(run_op(OpKind::ReduceMin, {x}, keep0, {Tensor::from_vector<int64_t>({2}, {0, 1})})) ==
        std::vector<float>{1});
  Attributes noop;
  noop.set("noop_with_empty_axes", int64_t(1));
  CHECK(values<float>(run_op(OpKind::ReduceSum, {x}, noop, {Tensor(DType::i64, {0})})) == values<float>(x));
  // a middle axis of a 3-D tensor
  Tensor y = f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(values<float>(run_op(OpKind::ReduceSum, {y}, keep0, {Tensor::from_vector<int64_t>({1}, {1})})) ==
        std::vector<float>{4, 6, 12, 14});
  Graph g;
  Value* v = g.add_input("x", type_of(x));
  Value* ax = g.add_constant("ax", Tensor::from_vector<int64_t>({1}, {2}));
  CHECK_THROWS_AS(g.add_node(OpKind::ReduceSum, {.name = "r", .inputs = {v, ax}}), ShapeError);
}

TEST_CASE("ArgMax / ArgMin with keepdims and select_last_index") {
  Tensor x = f32({2, 3}, {1, 3, 3, 2, 0, 2});
  Attributes a;
  a.set("axis", int64_t(1));
  a.set("keepdims", int64_t(0));
  Tensor am = run_op(OpKind::ArgMax, {x}, a);
  CHECK(am.dtype() == DType::i64);
  CHECK(values<int64_t>(am) == std::vector<int64_t>{1, 0});
  a.set("select_last_index", int64_t(1));
  CHECK(values<int64_t>(run_op(OpKind::ArgMax, {x}, a)) == std::vector<int64_t>{2, 2});
  Tensor mn = run_op(OpKind::ArgMin, {x});  // axis 0, keepdims
  CHECK(mn.dims() == std::vector<int64_t>{1, 3});
  CHECK(values<int64_t>(mn) == std::vector<int64_t>{0, 1, 1});
}

TEST_CASE("Cast reads f16 and bf16 but does not produce them") {
  Tensor h(DType::f16, {3});
  auto* hb = static_cast<uint16_t*>(h.raw());
  hb[0] = 0x3C00;  // 1.0
  hb[1] = 0xC000;  // -2.0
  hb[2] = 0x0001;  // smallest subnormal, 2^-24
  Attributes to;
  to.set("to", int64_t(DType::f32));
  auto f = values<float>(run_op(OpKind::Cast, {h}, to));
  CHECK(f[0] == 1.f);
  CHECK(f[1] == -2.f);
  CHECK(f[2] == std::ldexp(1.f, -24));
  Tensor b(DType::bf16, {1});
  static_cast<uint16_t*>(b.raw())[0] = 0x3F80;  // 1.0
  CHECK(values<float>(run_op(OpKind::Cast, {b}, to))[0] == 1.f);
  to.set("to", int64_t(DType::f16));
  CHECK_THROWS_AS(run_op(OpKind::Cast, {Tensor::scalar<float>(1.f)}, to), UnsupportedError);
}
